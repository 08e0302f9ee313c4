/**
 * KeyframeScheduler: when keyframe requests go to publishers. Each (track, layer) has a KeyframeThrottle
 * (at most one request per interval, later ones coalesced); the scheduler holds the throttles with a
 * coalesced request waiting, sends them when their time comes, and says when the core must next be woken.
 */
import type { KeyframeThrottle } from "./keyframe-throttle.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { Publication } from "./publication.ts";
import type { Millis } from "./types.ts";

export class KeyframeScheduler {
  /** Throttles with a coalesced request waiting, in the order they started waiting. */
  private readonly waiting = new Set<KeyframeThrottle>();
  private readonly out: OutputQueue;

  constructor(out: OutputQueue) {
    this.out = out;
  }

  /** Requests waiting for their throttle interval. */
  get pending(): number {
    return this.waiting.size;
  }

  /** The earliest time a waiting request may go (Infinity: none waits). */
  get deadline(): Millis {
    let at = Infinity;
    for (const t of this.waiting) if (t.deadline < at) at = t.deadline;
    return at;
  }

  /** Someone needs a keyframe of this layer of `pub` (a layer that does not exist is ignored). */
  request(pub: Publication, layer: number, now: Millis): void {
    const throttle = pub.throttles[layer];
    if (throttle === undefined) return;
    if (throttle.request(now)) {
      this.waiting.delete(throttle);
      this.send(throttle);
    } else {
      this.waiting.add(throttle);
    }
  }

  /** Time has passed: send the coalesced requests whose interval is over. */
  onTimeout(now: Millis): void {
    for (const throttle of this.waiting) {
      if (throttle.fire(now)) {
        this.waiting.delete(throttle);
        this.send(throttle);
      }
    }
  }

  /** The track is gone: drop its waiting requests. */
  forget(pub: Publication): void {
    for (const throttle of pub.throttles) {
      throttle.cancel();
      this.waiting.delete(throttle);
    }
  }

  private send(throttle: KeyframeThrottle): void {
    this.out.push({ type: "request-keyframe", publisherId: throttle.publisherId, trackId: throttle.trackId, layer: throttle.layer });
  }
}
