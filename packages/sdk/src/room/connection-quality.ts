/**
 * The relay's `connection-quality` ratings applied to the participants (`connectionQuality`, this client
 * included): the relay decides from its view of everyone's connections, the SDK only records it.
 */
import type { ConnectionQuality, ParticipantQuality } from "@sfu-room/protocol";
import type { LocalParticipant } from "./local-participant.ts";
import type { RemoteParticipant } from "./remote.ts";

export type RatedParticipant = RemoteParticipant | LocalParticipant;

/** One participant's new rating, with the relay's measurements. */
export interface QualityChange {
  participant: RatedParticipant;
  quality: ConnectionQuality;
  /** 0..1, the worse direction. */
  loss: number;
  rttMs?: number | undefined;
  jitterMs?: number | undefined;
}

/** Records `updates`; returns those that changed someone known. */
export function applyQualities(updates: readonly ParticipantQuality[], local: LocalParticipant, remotes: ReadonlyMap<string, RemoteParticipant>): QualityChange[] {
  const changes: QualityChange[] = [];
  for (const { participantId, quality, loss, rttMs, jitterMs } of updates) {
    const participant = participantId === local.id ? local : remotes.get(participantId);
    if (!participant || participant.connectionQuality === quality) continue;
    participant.connectionQuality = quality;
    changes.push({ participant, quality, loss, rttMs, jitterMs });
  }
  return changes;
}

/**
 * Back after a gap (resume, rejoin): ratings changed meanwhile were not sent; the relay follows its
 * reply with everyone not "good". Returns those reset.
 */
export function resetQualities(local: LocalParticipant, remotes: ReadonlyMap<string, RemoteParticipant>): QualityChange[] {
  const changes: QualityChange[] = [];
  for (const participant of [local, ...remotes.values()]) {
    if (participant.connectionQuality === "good") continue;
    participant.connectionQuality = "good";
    changes.push({ participant, quality: "good", loss: 0 });
  }
  return changes;
}
