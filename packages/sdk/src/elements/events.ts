/** The CustomEvents of <sfu-room> and their `detail` types. None bubble: listen on the element. */
import type { ConnectionQuality, ConnectionState, DataEvent, ReconnectingEvent, RejoinedEvent, RoomErrorCode, RoomEvents } from "../room/index.ts";

export interface ParticipantSummary {
  id: string;
  name: string;
}

export interface JoinedDetail {
  room: string;
  /** Your participant id. */
  participantId: string;
  /** Everyone already in the room (not you). */
  participants: ParticipantSummary[];
}

export type LeftReason = "user" | "connection-lost" | "kicked" | "rejoin" | "removed";

export interface LeftDetail {
  room: string;
  /** user: leave() or the Leave button; rejoin: server/room/name changed; removed: element left the page. */
  reason: LeftReason;
}

export interface ParticipantDetail {
  participant: ParticipantSummary;
}

export interface ErrorDetail {
  code: RoomErrorCode;
  /** Human-readable, also shown in the element. */
  message: string;
  /** True when the element is no longer in the room (relay unreachable, room full, connection lost...). */
  fatal: boolean;
}

export interface ConnectionStateDetail {
  state: ConnectionState;
}

/** `reconnecting`: the connection was lost; attempt `attempt` to get back in starts (the tiles stay). */
export type ReconnectingDetail = ReconnectingEvent;
/** `rejoined`: back in a new session, with a new participant id (after `resumed` the id is unchanged). */
export type RejoinedDetail = RejoinedEvent;

/** `active-speakers-changed`: who speaks now as the relay decided, dominant first; `self`: you. */
export interface ActiveSpeakersDetail {
  speakers: Array<ParticipantSummary & { level: number; self: boolean }>;
}

/** `connection-quality-changed`: the relay rated someone's connection differently; `self`: yours. */
export interface ConnectionQualityDetail {
  participant: ParticipantSummary;
  self: boolean;
  quality: ConnectionQuality;
  /** 0..1, the worse direction. */
  loss: number;
  rttMs?: number;
  jitterMs?: number;
}

export interface SfuRoomEventMap {
  joined: CustomEvent<JoinedDetail>;
  left: CustomEvent<LeftDetail>;
  "participant-joined": CustomEvent<ParticipantDetail>;
  "participant-left": CustomEvent<ParticipantDetail>;
  /** Someone's name changed (the server API); you included (your own id). */
  "participant-updated": CustomEvent<ParticipantDetail>;
  error: CustomEvent<ErrorDetail>;
  "connection-state": CustomEvent<ConnectionStateDetail>;
  reconnecting: CustomEvent<ReconnectingDetail>;
  /** Back in the same session (same id, tracks and connections). */
  resumed: CustomEvent<Record<string, never>>;
  rejoined: CustomEvent<RejoinedDetail>;
  /** A data message from another participant: the Room's `data` event, same detail. */
  data: CustomEvent<DataEvent>;
  "active-speakers-changed": CustomEvent<ActiveSpeakersDetail>;
  "connection-quality-changed": CustomEvent<ConnectionQualityDetail>;
  /** End-to-end encryption: a remote track's frames started or stopped opening (the Room's event, same detail). */
  "e2ee-state-changed": CustomEvent<RoomEvents["e2ee-state-changed"]>;
}

/** Dispatches one of the element's events (typed by SfuRoomEventMap). */
export function fire<K extends keyof SfuRoomEventMap>(target: EventTarget, type: K, detail: SfuRoomEventMap[K]["detail"]): void {
  target.dispatchEvent(new CustomEvent(type, { detail }));
}
