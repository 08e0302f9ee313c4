/**
 * LinkLimits: tells a subscriber when its link limits a video it receives (`bandwidth-limit`). A pinned
 * quality is a ceiling, not a promise (as in LiveKit): the bandwidth cap may send less than the wish,
 * and the user should see why the picture is soft rather than guess. The one owner of what each
 * subscriber was told; the caps themselves belong to BandwidthController and CapacityCaps.
 */
import type { BandwidthLimit } from "@sfu-room/protocol";
import type { OutputQueue } from "./output-queue.ts";
import type { Subscription } from "./subscription.ts";

/** What a subscription's state means to the user: less than the wish because of the cap, or not. */
export function limitOf(sub: Subscription): BandwidthLimit {
  if (sub.bandwidthPaused) return "paused";
  return sub.maxLayer < sub.wantedLayer ? "reduced" : "none";
}

export class LinkLimits {
  /** What each subscriber was last told; a subscription starts at "none" (nothing is sent for it). */
  private readonly told = new WeakMap<Subscription, BandwidthLimit>();
  private readonly out: OutputQueue;

  constructor(out: OutputQueue) {
    this.out = out;
  }

  /** A subscription's wish or cap changed: say so when that changes what the link limits. */
  update(sub: Subscription): void {
    if (!sub.publication.keyframeGated) return; // audio: one layer, never capped
    // Paused because nobody sees it: nothing is shown, so the last state stands (no churn on scrolling).
    if (sub.wantedLayer < 0) return;
    const limit = limitOf(sub);
    if (limit === (this.told.get(sub) ?? "none")) return;
    this.told.set(sub, limit);
    this.out.signal(sub.subscriber.id, { type: "bandwidth-limit", trackId: sub.publication.id, limit });
  }

  /** The subscriber's session was replaced (a resume) and may have missed a message: say again what is limited. */
  repeat(received: readonly Subscription[]): void {
    for (const sub of received) {
      const limit = this.told.get(sub);
      if (limit !== undefined && limit !== "none") this.out.signal(sub.subscriber.id, { type: "bandwidth-limit", trackId: sub.publication.id, limit });
    }
  }
}
