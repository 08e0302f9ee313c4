/** What a Room tells its listeners (`room.on(type, listener)`). */
import type { RoomError } from "./errors.ts";
import type { LocalTrack } from "./local-track.ts";
import type { RemoteParticipant, RemoteTrack } from "./remote.ts";
import type { DataEvent } from "./room-data.ts";

export type ConnectionState = "disconnected" | "connecting" | "connected" | "interrupted";

/** "client": disconnect() was called; the others come with the `error` that ended the session. */
export type DisconnectReason = "client" | "connection-lost" | "kicked";

export interface ParticipantEvent {
  participant: RemoteParticipant;
}
export interface TrackEvent {
  participant: RemoteParticipant;
  track: RemoteTrack;
}

export interface RoomEvents {
  "connection-state": { state: ConnectionState };
  "participant-joined": ParticipantEvent;
  "participant-left": ParticipantEvent;
  "track-published": TrackEvent;
  "track-unpublished": TrackEvent;
  /** Media of a remote track arrived: `track.mediaStreamTrack` is set. */
  "track-subscribed": TrackEvent;
  "track-unsubscribed": TrackEvent;
  "track-muted": TrackEvent;
  "track-unmuted": TrackEvent;
  "local-track-published": { track: LocalTrack };
  "local-track-unpublished": { track: LocalTrack };
  "local-track-updated": { track: LocalTrack };
  /** A data message from another participant (see send()). */
  data: DataEvent;
  /** Something went wrong; the room may still be connected (e.g. camera denied). */
  error: RoomError;
  disconnected: { reason: DisconnectReason; error?: RoomError };
}
