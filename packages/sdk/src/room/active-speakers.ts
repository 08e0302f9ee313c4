/**
 * The relay's `active-speakers` decision applied to the participants: who speaks now (`isSpeaking`),
 * at which level, and the list in the relay's order (dominant first). The relay decides from the audio
 * levels of every publisher's packets (docs/protocol.md), so every client sees the same speakers.
 */
import type { Speaker } from "@sfu-room/protocol";
import type { LocalParticipant } from "./local-participant.ts";
import type { RemoteParticipant } from "./remote.ts";

export type SpeakingParticipant = RemoteParticipant | LocalParticipant;

export class ActiveSpeakers {
  /** Dominant first; empty while nobody speaks. */
  speakers: SpeakingParticipant[] = [];

  /**
   * Applies one message; returns whether the list changed. Ids not known here (someone whose join has
   * not arrived yet, a hidden participant) are left out.
   */
  apply(message: readonly Speaker[], local: LocalParticipant, remotes: ReadonlyMap<string, RemoteParticipant>): boolean {
    const next: SpeakingParticipant[] = [];
    const levels = new Map<SpeakingParticipant, number>();
    for (const { participantId, level } of message) {
      const participant = participantId === local.id ? local : remotes.get(participantId);
      if (participant === undefined) continue;
      next.push(participant);
      levels.set(participant, level);
    }
    for (const p of this.speakers) if (!levels.has(p)) setSpeaking(p, false, 0);
    for (const [p, level] of levels) setSpeaking(p, true, level);
    const changed = next.length !== this.speakers.length || next.some((p, i) => p !== this.speakers[i]);
    this.speakers = next;
    return changed;
  }

  /** They left: out of the list now, not at the relay's next decision. Returns whether the list changed. */
  forget(participant: SpeakingParticipant): boolean {
    if (!this.speakers.includes(participant)) return false;
    setSpeaking(participant, false, 0);
    this.speakers = this.speakers.filter((p) => p !== participant);
    return true;
  }

  /** Nobody speaks (the connection ended, or a resume: the relay then says who speaks now). */
  clear(): void {
    for (const p of this.speakers) setSpeaking(p, false, 0);
    this.speakers = [];
  }
}

function setSpeaking(p: SpeakingParticipant, speaking: boolean, level: number): void {
  p.isSpeaking = speaking;
  p.speakingLevel = level;
}
