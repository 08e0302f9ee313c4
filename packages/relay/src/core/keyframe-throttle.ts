/**
 * Throttling of keyframe requests for one (publisher track, layer).
 *
 * Asking a publisher for a keyframe costs it a large frame, so many subscribers (or one impatient decoder)
 * asking at once must turn into few requests. The rule: at most one request per `intervalMs`. The first
 * request goes out at once; requests that arrive inside the interval are coalesced into one, which goes
 * out when the interval since the last request sent has passed.
 *
 * Pure bookkeeping: the caller asks `request(now)` and sends when told to, reads `deadline` to schedule
 * its wake-up, and calls `fire(now)` when woken.
 */
import type { Millis, ParticipantId, TrackId } from "./types.ts";

export class KeyframeThrottle {
  /** When the last request was sent (-Infinity: never). */
  private lastSentAt: Millis = -Infinity;
  /** A request is waiting for the interval to pass. */
  private waiting = false;

  readonly intervalMs: Millis;
  /** Who is asked: labels for the request the caller emits. */
  readonly publisherId: ParticipantId;
  readonly trackId: TrackId;
  readonly layer: number;

  constructor(intervalMs: Millis, publisherId: ParticipantId, trackId: TrackId, layer: number) {
    this.intervalMs = intervalMs;
    this.publisherId = publisherId;
    this.trackId = trackId;
    this.layer = layer;
  }

  /**
   * Someone wants a keyframe. Returns true when the request must be sent now; false when it is coalesced
   * into one sent at `deadline` (the caller must then make sure it wakes up by then).
   */
  request(now: Millis): boolean {
    if (now - this.lastSentAt >= this.intervalMs) {
      this.lastSentAt = now;
      this.waiting = false;
      return true;
    }
    this.waiting = true;
    return false;
  }

  /** A coalesced request is waiting. */
  get pending(): boolean {
    return this.waiting;
  }

  /** When the waiting request may be sent; Infinity when none waits. */
  get deadline(): Millis {
    return this.waiting ? this.lastSentAt + this.intervalMs : Infinity;
  }

  /** Time has passed: returns true (and clears the wait) when the waiting request must be sent now. */
  fire(now: Millis): boolean {
    if (!this.waiting || now < this.lastSentAt + this.intervalMs) return false;
    this.lastSentAt = now;
    this.waiting = false;
    return true;
  }

  /** Forget the waiting request (the track is gone). */
  cancel(): void {
    this.waiting = false;
  }
}
