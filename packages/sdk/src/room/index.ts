export { Room, type ConnectOptions, type ConnectionState, type DisconnectReason, type RoomEvents, type ParticipantEvent, type TrackEvent } from "./room.ts";
export { RemoteParticipant, RemoteTrack, type InboundStats } from "./remote.ts";
export { LocalParticipant, LocalTrack, type LocalSource } from "./local-participant.ts";
export { RoomError, type RoomErrorCode } from "./errors.ts";
export { listDevices, screenShareSupported, type CaptureConstraints } from "./local-media.ts";
export { SignalClient, RelayRequestError } from "./signal-client.ts";
export { Emitter, type Listener } from "./emitter.ts";
