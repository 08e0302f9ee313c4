/** What a Room tells its listeners (`room.on(type, listener)`). */
import type { RoomError } from "./errors.ts";
import type { SpeakingParticipant } from "./active-speakers.ts";
import type { LocalTrack } from "./local-track.ts";
import type { LocalParticipant } from "./local-participant.ts";
import type { RemoteParticipant, RemoteTrack } from "./remote.ts";
import type { DataEvent } from "./room-data.ts";
import type { LossReason } from "./room-connection.ts";
import type { DecryptionState } from "./e2ee/frame-crypto-worker.ts";
import type { QualityChange } from "./connection-quality.ts";

/**
 * "interrupted": a peer connection lost its path for a moment (ICE disconnected), signaling is fine;
 * "reconnecting": the session was lost and the Room is getting back in (resume, else rejoin).
 */
export type ConnectionState = "disconnected" | "connecting" | "connected" | "interrupted" | "reconnecting";

/** "client": disconnect() was called; the others come with the `error` that ended the session. */
export type DisconnectReason = "client" | "connection-lost" | "kicked";

export interface ReconnectingEvent {
  /** 1 for the first attempt after the loss, then 2, 3, ... */
  attempt: number;
  /** What was lost: the signaling WebSocket, or the media path (a peer connection failed). */
  reason: LossReason;
}

export interface RejoinedEvent {
  /** Your new participant id (a rejoin is a new session; others saw you leave and join). */
  participantId: string;
}

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
  /** A participant's `name` or `metadata` changed (the server API's UpdateParticipant). */
  "participant-updated": ParticipantEvent;
  "track-published": TrackEvent;
  "track-unpublished": TrackEvent;
  /** Media of a remote track arrived: `track.mediaStreamTrack` is set. */
  "track-subscribed": TrackEvent;
  "track-unsubscribed": TrackEvent;
  "track-muted": TrackEvent;
  "track-unmuted": TrackEvent;
  /** The relay says your link limits (or pauses) a video you receive, or no longer does: `track.bandwidthLimit`. */
  "track-bandwidth-limit": TrackEvent;
  "local-track-published": { track: LocalTrack };
  "local-track-unpublished": { track: LocalTrack };
  /** Your own `name` or `metadata` changed (the server API's UpdateParticipant). */
  "local-participant-updated": { participant: LocalParticipant };
  "local-track-updated": { track: LocalTrack };
  /**
   * The relay changed who speaks: `speakers`, dominant first (this client too when it speaks); [] when
   * nobody does. Each has `isSpeaking` and `speakingLevel`.
   */
  "active-speakers-changed": { speakers: SpeakingParticipant[] };
  /**
   * End-to-end encryption (connect() with `e2ee`): a remote track's frames started opening ("ok"), or
   * stopped: "missing-key" (they name a key index not set here), "decrypt-failed" (another key, or not
   * encrypted). Frames that do not open are dropped, so the track shows nothing until they do.
   */
  "e2ee-state-changed": { participantId: string; trackId: string; state: DecryptionState };
  /**
   * The relay rated someone's connection differently (`participant.connectionQuality`, you included):
   * "good", "poor" (loss of 5 % or more, a round trip of 400 ms or more, or 30 ms of audio jitter) or
   * "lost" (their media stopped). With the relay's measurements.
   */
  "connection-quality-changed": QualityChange;
  /** A data message from another participant (see send()). */
  data: DataEvent;
  /** Something went wrong; the room may still be connected (e.g. camera denied). */
  error: RoomError;
  /** The session was lost; attempt `attempt` to get back in starts (once per attempt). */
  reconnecting: ReconnectingEvent;
  /** Back in the same session: same participant id, tracks and peer connections; missed changes were reconciled. */
  resumed: Record<string, never>;
  /** Back in the room in a new session: the same local tracks published again; everyone else reconciled. */
  rejoined: RejoinedEvent;
  /** Out of the room; after a loss that reconnecting could not repair, `error.code` is "reconnect-failed". */
  disconnected: { reason: DisconnectReason; error?: RoomError };
}
