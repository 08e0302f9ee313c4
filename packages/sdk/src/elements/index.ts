import "./define.ts";
export { SfuRoomElement } from "./sfu-room.ts";
export type { SfuRoomStatus } from "./join-controller.ts";
export { SfuChatElement, type ChatMessage } from "./sfu-chat.ts";
export type { ChatTarget } from "./chat-source.ts";
export type { SfuRoomEventMap, JoinedDetail, LeftDetail, LeftReason, ParticipantDetail, ParticipantSummary, ErrorDetail, ConnectionStateDetail, ReconnectingDetail, RejoinedDetail, ActiveSpeakersDetail, ConnectionQualityDetail } from "./events.ts";
export { gridLayout, presenterLayout, type GridLayout, type PresenterLayout } from "./layout.ts";
