/**
 * A core room event as a webhook body: LiveKit's WebhookEvent JSON (event, id, createdAt, room,
 * participant, track, with LiveKit's field and enum names), so a receiver written for LiveKit (its
 * WebhookReceiver) parses ours. Only the fields this relay knows are filled.
 */
import type { TrackSource } from "@sfu-room/protocol";
import type { RoomEventOutput } from "../core/index.ts";

const SOURCES: Record<TrackSource, string> = {
  camera: "CAMERA", microphone: "MICROPHONE", screen: "SCREEN_SHARE", "screen-audio": "SCREEN_SHARE_AUDIO", unknown: "UNKNOWN",
};

export interface WebhookBody {
  event: RoomEventOutput["event"];
  /** Unique per event: a receiver that sees an id twice (a retry whose reply was lost) can drop it. */
  id: string;
  /** Unix seconds, when the relay decided the event. */
  createdAt: number;
  room: { name: string };
  participant?: { sid: string; identity: string; name: string; metadata?: string };
  /** No `layers`: LiveKit's are objects (quality and size), which a LiveKit receiver would refuse as rids. */
  track?: { sid: string; type: "AUDIO" | "VIDEO"; source: string; mimeType: string; muted: boolean; simulcast: boolean };
}

export function webhookBody(event: RoomEventOutput, id: string, createdAtMs: number): WebhookBody {
  const body: WebhookBody = { event: event.event, id, createdAt: Math.floor(createdAtMs / 1000), room: { name: event.room } };
  const { participant, track } = event;
  if (participant !== undefined) {
    body.participant = { sid: participant.id, identity: participant.identity, name: participant.name };
    if (participant.metadata !== undefined) body.participant.metadata = participant.metadata;
  }
  if (track !== undefined) {
    body.track = {
      sid: track.id, type: track.kind === "audio" ? "AUDIO" : "VIDEO", source: SOURCES[track.source], mimeType: track.codec,
      muted: track.muted, simulcast: track.layers.length > 1,
    };
  }
  return body;
}
