/**
 * ResumeWindow: participants whose signaling session dropped without `leave` (away), until when they
 * are kept, and the rule of taking one back with `resume`. While away a participant's peer connections
 * are untouched (media and data flow on, the others see nothing change) and signals to them are dropped;
 * at the deadline they are removed as if they had left. One refusal message for every cause, so a
 * guesser learns nothing about which participants exist or which part was wrong.
 *
 * A participant the relay removed for good (the server API, a newer session of the same identity) may
 * be away when it happens, or not hear of it; its client would resume, be refused, and join again with
 * a token that is still valid, undoing the removal. So their grant is remembered for the window
 * (`bar`): a resume that proves it is told `removed`, with the reason, and the client ends instead.
 */
import type { ResumeInput } from "./inputs.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { Participant } from "./participant.ts";
import type { Millis, ParticipantId } from "./types.ts";

interface Removal {
  room: string;
  secret: string;
  reason: string;
  until: Millis;
}

const REFUSAL = "the relay no longer keeps this session (resume window passed, relay restarted, or the grant is not valid); join again";

export class ResumeWindow {
  /** Away participants and the time they are removed at. */
  private readonly away = new Map<ParticipantId, Millis>();
  /** Participants removed for good, whose clients are told so if they resume within the window. */
  private readonly removed = new Map<ParticipantId, Removal>();
  /** The earliest of `away`'s times, kept while it is unchanged: poll() asks after every packet. */
  private earliest: Millis | undefined = Infinity;
  private readonly windowMs: Millis;
  private readonly out: OutputQueue;
  /** Resumes accepted and refused since the start (counts for health and metrics). */
  accepted = 0;
  refused = 0;

  constructor(windowMs: Millis, out: OutputQueue) {
    this.windowMs = windowMs;
    this.out = out;
  }

  isAway(id: ParticipantId): boolean {
    return this.away.has(id);
  }

  /**
   * The participant's session closed: they are away until the window ends. False when the window is
   * 0 (the caller removes them now).
   */
  keep(participant: Participant, now: Millis): boolean {
    if (this.windowMs <= 0) return false;
    this.away.set(participant.id, now + this.windowMs);
    this.earliest = undefined;
    return true;
  }

  /**
   * Whether `target` (the participant `input.resumeOf` names, if any) may be taken back by the
   * requesting session; if not, the refusal is sent and nothing changed. A participant still attached
   * to a session may be taken back too: that socket may be half-open, and the secret proves the client.
   */
  admit(input: ResumeInput, target: Participant | undefined): target is Participant {
    const removal = target === undefined ? this.removed.get(input.resumeOf) : undefined;
    if (removal !== undefined && removal.room === input.room && sameSecret(removal.secret, input.secret)) {
      this.refused++;
      this.out.error(input.participantId, input.requestId, "removed", `you were removed from room "${input.room}": ${removal.reason}; do not join again`);
      return false;
    }
    if (!this.proves(target, input.room, input.secret)) {
      this.refused++;
      this.out.error(input.participantId, input.requestId, "resume-refused", REFUSAL);
      return false;
    }
    this.accepted++;
    if (this.away.delete(target.id)) this.earliest = undefined;
    return true;
  }

  /** Whether `secret` is the grant of `target` in `room` (and the relay keeps sessions at all). */
  proves(target: Participant | undefined, room: string, secret: string): target is Participant {
    return this.windowMs > 0 && target !== undefined && target.room.name === room && target.resumeSecret !== "" && sameSecret(target.resumeSecret, secret);
  }

  /** The participant is removed for good at `now`: a resume of theirs within the window is told why. */
  bar(participant: Participant, reason: string, now: Millis): void {
    if (this.windowMs <= 0 || participant.resumeSecret === "") return;
    this.removed.set(participant.id, { room: participant.room.name, secret: participant.resumeSecret, reason, until: now + this.windowMs });
  }

  /** The participant is gone (left, removed): nothing of theirs waits. */
  forget(id: ParticipantId): void {
    if (this.away.delete(id)) this.earliest = undefined;
  }

  /** The earliest removal of an away participant (Infinity: nobody is away). */
  get deadline(): Millis {
    if (this.earliest !== undefined) return this.earliest;
    let at = Infinity;
    for (const t of this.away.values()) if (t < at) at = t;
    this.earliest = at;
    return at;
  }

  /** Away participants whose window has ended by `now` (the caller removes them). */
  expired(now: Millis): ParticipantId[] {
    for (const [id, removal] of this.removed) if (removal.until <= now) this.removed.delete(id);
    const ids: ParticipantId[] = [];
    for (const [id, at] of this.away) if (at <= now) ids.push(id);
    return ids;
  }
}

/** Compares in time that depends only on the length, so the secret cannot be found out piece by piece. */
function sameSecret(expected: string, given: string): boolean {
  if (expected.length !== given.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0;
}
