/**
 * Room events: what happened in a room, as the server's webhooks report it (docs/api.md). The core
 * decides them where the thing happens (a room made by its first join, a track negotiated, ...); the
 * shell translates each into a webhook POST, stamped with the wall-clock time the core does not have.
 */
import type { TrackInfo } from "@sfu-room/protocol";
import type { Participant } from "./participant.ts";
import type { Publication } from "./publication.ts";

export type RoomEventName = "room_started" | "room_finished" | "participant_joined" | "participant_left" | "track_published" | "track_unpublished";

/** A participant as a webhook names them: hidden ones too (the backend minted their token). */
export interface RoomEventParticipant {
  id: string;
  identity: string;
  name: string;
  metadata: string | undefined;
}

/** Report this event (in order: the outputs' order is the order things happened). */
export interface RoomEventOutput {
  type: "room-event";
  event: RoomEventName;
  room: string;
  /** The participant it is about (participant and track events). */
  participant?: RoomEventParticipant;
  /** The track it is about (track events). */
  track?: TrackInfo;
}

export function roomEvent(event: "room_started" | "room_finished", room: string): RoomEventOutput;
export function roomEvent(event: "participant_joined" | "participant_left", room: string, participant: Participant): RoomEventOutput;
export function roomEvent(event: "track_published" | "track_unpublished", room: string, participant: Participant, track: Publication): RoomEventOutput;
export function roomEvent(event: RoomEventName, room: string, participant?: Participant, track?: Publication): RoomEventOutput {
  const out: RoomEventOutput = { type: "room-event", event, room };
  if (participant !== undefined) out.participant = { id: participant.id, identity: participant.grants.identity, name: participant.name, metadata: participant.metadata };
  if (track !== undefined) out.track = track.info();
  return out;
}
