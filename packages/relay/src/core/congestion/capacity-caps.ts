/**
 * CapacityCaps: the bandwidth cap (`maxLayer`) of each simulcast subscription from its subscriber's
 * send-side estimate (one SendSideEstimator per subscriber, fed its transport-cc feedback; a subscriber
 * that sends such feedback has its REMB ignored: the estimate is better). Unlike REMB (BandwidthController), this estimate is the
 * relay's own reading of the link's capacity, so it is applied as a budget:
 *
 * - allocateLayers shares estimate x HEADROOM among the subscriber's simulcast subscriptions, at each
 *   layer's cost (LayerRate.costs: a layer dynacast switched off costs what it sent when it flowed, not
 *   nothing: upgrading to it would send that much again); a subscription whose wish does not fit is
 *   capped at once (down fast);
 * - a capped subscription the budget would allow more is raised one layer at a time, each hold after it
 *   was last lowered and RAISE_SETTLE_MS after the previous raise (up carefully). While a wish is capped
 *   the link is probed (probing.ts): a probe that measures more raises the estimate and ends the holds;
 * - an upgrade lowered again within FAILED_UPGRADE_MS did not fit: that subscription's hold doubles (up
 *   to MAX_HOLD_MS), so a link that carries one layer and not the next does not flip between them; a
 *   raise that holds for STABLE_MS resets the hold. MAX_HOLD_MS bounds how long a restored link waits
 *   for its upgrade when probes cannot run (no RTX).
 */
import { allocateLayers } from "../bandwidth-allocator.ts";
import { type CapChange, HEADROOM, simulcastOf } from "../bandwidth-controller.ts";
import type { Subscription } from "../subscription.ts";
import type { Millis, ParticipantId } from "../types.ts";
import { type FeedbackPacket, SendSideEstimator } from "./send-side-estimator.ts";

/** Where each estimate starts (bits/s): room for a 720p layer, as the publishers' start bitrate gives. */
const START_BITRATE = 2_500_000;
/** A subscriber's estimate grows at most to this times what it receives, and past it by probes (EstimatorOptions). */
const MAX_OVER_RECEIVED = 1.5;
const FAILED_UPGRADE_MS = 5000;
const MAX_HOLD_MS = 20_000;
const STABLE_MS = 30_000;
const RAISE_SETTLE_MS = 1000;

interface CapHistory {
  loweredAt: Millis;
  raisedAt: Millis;
  holdMs: Millis;
}

export class CapacityCaps {
  private readonly estimators = new Map<ParticipantId, SendSideEstimator>();
  private readonly history = new WeakMap<Subscription, CapHistory>();
  /** Subscribers with a probe in flight (probing.ts): their caps are not lowered until it is judged. */
  private readonly probing = new Set<ParticipantId>();
  private readonly baseHoldMs: Millis;

  constructor(baseHoldMs: Millis) {
    this.baseHoldMs = baseHoldMs;
  }

  /** Does this subscriber's feedback drive its caps? */
  has(subscriberId: ParticipantId): boolean {
    return this.estimators.has(subscriberId);
  }

  /** A subscriber's transport-cc feedback, with everything it receives: the caps that change. */
  onFeedback(subscriberId: ParticipantId, packets: readonly FeedbackPacket[], received: readonly Subscription[], now: Millis): CapChange[] {
    let estimator = this.estimators.get(subscriberId);
    if (estimator === undefined) this.estimators.set(subscriberId, (estimator = new SendSideEstimator(START_BITRATE, { maxOverReceived: MAX_OVER_RECEIVED })));
    const bitsPerSecond = estimator.onFeedback(packets, now);
    const subs = simulcastOf(received);
    const caps = allocateLayers(bitsPerSecond * HEADROOM, subs.map((s) => ({ wanted: s.bandwidthPaused ? -1 : s.wantedLayer, layerCosts: s.publication.rate.costs })));
    const changes: CapChange[] = [];
    subs.forEach((sub, i) => {
      const cap = caps[i]!;
      if (cap < 0) return; // paused: nothing to cap
      let h = this.history.get(sub);
      if (h === undefined) {
        h = { loweredAt: -Infinity, raisedAt: -Infinity, holdMs: this.baseHoldMs };
        this.history.set(sub, h);
      }
      if (now - h.raisedAt >= STABLE_MS && h.raisedAt > h.loweredAt) h.holdMs = this.baseHoldMs;
      if (cap < sub.wantedLayer && cap < sub.maxLayer) {
        // A probe fills the link on purpose: the delay it causes is not a reason to step down (its
        // result undoes the estimate's drop, see probe-controller.ts); real congestion waits a probe's length.
        if (this.probing.has(subscriberId)) return;
        // The first lowering after a recent raise: that raise failed (once: lowering it further is the same failure).
        if (now - h.raisedAt < FAILED_UPGRADE_MS && h.raisedAt > h.loweredAt) h.holdMs = Math.min(2 * h.holdMs, MAX_HOLD_MS);
        h.loweredAt = now;
        changes.push({ sub, maxLayer: cap });
      } else if (cap > sub.maxLayer && now - h.loweredAt >= h.holdMs && now - h.raisedAt >= RAISE_SETTLE_MS) {
        h.raisedAt = now;
        changes.push({ sub, maxLayer: sub.maxLayer + 1 });
      }
    });
    return changes;
  }

  /**
   * What the subscriber's simulcast wishes would cost as an estimate (bits/s: their layers' costs over
   * HEADROOM), when at least one of them is capped below its wish; undefined when none is (nothing to
   * probe for). Videos paused for bandwidth are BandwidthPause's to resume.
   */
  limitedWish(subscriberId: ParticipantId, received: readonly Subscription[]): number | undefined {
    if (!this.estimators.has(subscriberId)) return undefined;
    const subs = simulcastOf(received).filter((s) => !s.bandwidthPaused && s.wantedLayer >= 0);
    if (!subs.some((s) => s.maxLayer < s.wantedLayer)) return undefined;
    let wish = 0;
    for (const s of subs) wish += s.publication.rate.costs[s.wantedLayer] ?? 0;
    return wish / HEADROOM;
  }

  /**
   * A probe measured the subscriber's link carrying `bitsPerSecond`: the estimate rises to it, and the
   * holds of its capped subscriptions end (the link was measured, not guessed: the next feedback may
   * raise them, a layer per RAISE_SETTLE_MS).
   */
  probed(subscriberId: ParticipantId, bitsPerSecond: number, received: readonly Subscription[]): void {
    this.estimators.get(subscriberId)?.probed(bitsPerSecond);
    for (const sub of received) {
      const h = this.history.get(sub);
      if (h === undefined) continue;
      h.loweredAt = -Infinity;
      h.holdMs = this.baseHoldMs;
    }
  }

  /**
   * A probe of the subscriber's link is sent from `start` to `end` (its delay is not congestion, see
   * SendSideEstimator.probing), or (undefined) it was judged.
   */
  setProbing(subscriberId: ParticipantId, span: { start: Millis; end: Millis } | undefined): void {
    if (span === undefined) {
      this.probing.delete(subscriberId);
      return;
    }
    this.probing.add(subscriberId);
    this.estimators.get(subscriberId)?.probing(span.start, span.end);
  }

  /** What reached the subscriber recently (bits/s), once its feedback flows. */
  receivedBitrate(subscriberId: ParticipantId): number | undefined {
    return this.estimators.get(subscriberId)?.receivedBitrate;
  }

  /** A video paused for bandwidth resumes: the estimate starts again from at least `bitsPerSecond`. */
  raiseTo(subscriberId: ParticipantId, bitsPerSecond: number): void {
    this.estimators.get(subscriberId)?.raiseTo(bitsPerSecond);
  }

  /** The subscriber's current send-side estimate (bits/s), once its feedback flows. */
  estimate(subscriberId: ParticipantId): number | undefined {
    return this.estimators.get(subscriberId)?.bitrate;
  }

  /** The subscriber left. */
  forget(subscriberId: ParticipantId): void {
    this.estimators.delete(subscriberId);
    this.probing.delete(subscriberId);
  }
}
