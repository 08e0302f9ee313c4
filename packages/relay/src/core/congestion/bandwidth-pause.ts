/**
 * BandwidthPause: when a subscriber's link cannot carry even the lowest layer of the videos it watches
 * (a simulcast video's lowest layer, or a video without simulcast above its share), video is paused
 * rather than sent as a frozen picture, audio kept (it is never paused), and the tile says so
 * (`bandwidth-limit` `paused`, LinkLimits). Only on the relay's own estimate from transport-cc
 * feedback: a REMB follows what the browser receives, so it would keep a paused video paused.
 *
 * - Pause: once the lowest layers of the watched videos have cost more than the budget (estimate x
 *   HEADROOM) for OVER_BUDGET_MS without a break, the dearest one (the latest subscribed among equals)
 *   is paused, and the next, until the rest fits. The wait is for the estimate's own dips: after a
 *   failed upgrade it undershoots (halved at most) and grows back within a second or so; a link that
 *   cannot carry the lowest layer stays below it.
 * - Resume: each HOLD_MS after its pause (doubling up to MAX_HOLD_MS when a resume is paused again
 *   within FAILED_RESUME_MS; back to HOLD_MS after a resume that held for STABLE_MS). Nothing measures
 *   the link while the video is paused (no video, no feedback), so the estimate then starts again from
 *   at least what the watched videos' lowest layers cost: the resumed video is the probe, and feedback
 *   on it decides whether it stays. The wake-up comes from `deadline`, not from feedback: with its only
 *   video paused, a subscriber sends none. (A subscription removed while paused leaves at its resume
 *   time; the caller skips it then.)
 */
import { HEADROOM } from "../bandwidth-controller.ts";
import type { Participant } from "../participant.ts";
import type { Subscription } from "../subscription.ts";
import type { Millis } from "../types.ts";

const OVER_BUDGET_MS = 2000;
const HOLD_MS = 5000;
const MAX_HOLD_MS = 40_000;
const FAILED_RESUME_MS = 5000;
const STABLE_MS = 30_000;

interface PauseHistory {
  holdMs: Millis;
  resumedAt: Millis;
}

/** The videos whose lowest layer the subscriber's link has to carry: watched, ready, not paused for bandwidth. */
function watched(received: readonly Subscription[]): Subscription[] {
  return received.filter((s) => s.publication.keyframeGated && s.ready && s.wantedLayer >= 0 && !s.bandwidthPaused);
}

const lowestCost = (sub: Subscription) => sub.publication.rate.costs[0] ?? 0;

export class BandwidthPause {
  private readonly history = new WeakMap<Subscription, PauseHistory>();
  /** Paused subscriptions and when each may resume. */
  private readonly paused = new Map<Subscription, Millis>();
  /** Since when each subscriber's lowest layers have not fitted its budget. */
  private readonly overBudgetSince = new WeakMap<Participant, Millis>();

  /** The earliest resume (Infinity: none). */
  get deadline(): Millis {
    let at = Infinity;
    for (const resumeAt of this.paused.values()) at = Math.min(at, resumeAt);
    return at;
  }

  /** The subscriber's estimate changed: the videos to pause now, in order. */
  onEstimate(received: readonly Subscription[], bitsPerSecond: number, now: Millis): Subscription[] {
    const budget = bitsPerSecond * HEADROOM;
    const candidates = watched(received);
    let cost = candidates.reduce((sum, s) => sum + lowestCost(s), 0);
    const toPause: Subscription[] = [];
    const subscriber = received[0]?.subscriber;
    if (subscriber === undefined) return toPause;
    if (cost <= budget) {
      this.overBudgetSince.delete(subscriber);
      return toPause;
    }
    const since = this.overBudgetSince.get(subscriber) ?? now;
    this.overBudgetSince.set(subscriber, since);
    if (now - since < OVER_BUDGET_MS) return toPause;
    while (cost > budget && candidates.length > 0) {
      // The dearest lowest layer; among equals the latest subscribed (the last in creation order).
      let dearest = candidates.length - 1;
      for (let i = candidates.length - 2; i >= 0; i--) if (lowestCost(candidates[i]!) > lowestCost(candidates[dearest]!)) dearest = i;
      const [sub] = candidates.splice(dearest, 1);
      cost -= lowestCost(sub!);
      toPause.push(sub!);
      this.pause(sub!, now);
    }
    this.overBudgetSince.delete(subscriber);
    return toPause;
  }

  /**
   * Time passed: the paused videos whose hold is over resume now. Returns them, with the rate the
   * subscriber's estimate must start again from (what its watched videos' lowest layers cost then).
   */
  onTimeout(now: Millis, receivedBy: (sub: Subscription) => readonly Subscription[]): Array<{ sub: Subscription; probeBps: number }> {
    const resumed: Array<{ sub: Subscription; probeBps: number }> = [];
    for (const [sub, resumeAt] of this.paused) {
      if (resumeAt > now) continue;
      this.paused.delete(sub);
      this.history.get(sub)!.resumedAt = now;
      const others = watched(receivedBy(sub)).reduce((sum, s) => sum + lowestCost(s), 0);
      resumed.push({ sub, probeBps: (others + lowestCost(sub)) / HEADROOM });
    }
    return resumed;
  }

  private pause(sub: Subscription, now: Millis): void {
    let h = this.history.get(sub);
    if (h === undefined) this.history.set(sub, (h = { holdMs: HOLD_MS, resumedAt: -Infinity }));
    else if (now - h.resumedAt < FAILED_RESUME_MS) h.holdMs = Math.min(2 * h.holdMs, MAX_HOLD_MS);
    else if (now - h.resumedAt >= STABLE_MS) h.holdMs = HOLD_MS;
    this.paused.set(sub, now + h.holdMs);
  }
}
