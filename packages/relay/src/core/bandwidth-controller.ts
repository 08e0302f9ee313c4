/**
 * BandwidthController: the bandwidth cap (`maxLayer`) of each simulcast subscription, from its
 * subscriber's downlink estimate (REMB). The congestion rule:
 *
 * - Browsers' REMB rarely exceeds ~1.5x what they receive now, so it is read as a congestion signal,
 *   not as room to grow. Congestion = the estimate FELL (by more than ESTIMATE_DROP) below what the
 *   subscriber is being sent (its layers' measured bitrates, against HEADROOM of the estimate). A low
 *   but steady or rising estimate only lags behind an upgrade (REMB climbs a few % per second) and is no
 *   reason to take the upgrade back.
 * - On congestion, allocateLayers shares the budget among the subscriber's simulcast subscriptions and
 *   caps drop at once.
 * - Otherwise a capped subscription is raised one layer at a time, each bandwidthUpgradeHoldMs after it
 *   was last lowered: down fast, up carefully.
 */
import { allocateLayers } from "./bandwidth-allocator.ts";
import type { Subscription } from "./subscription.ts";
import type { Millis, ParticipantId } from "./types.ts";

/** An estimate below this share of the previous one is a fall (the browser saw overuse). */
const ESTIMATE_DROP = 0.9;
/** Share of a downlink estimate given to video layers (the rest: audio, RTCP, estimate error). */
export const HEADROOM = 0.85;

/** The subscriptions a bandwidth cap applies to: simulcast video (one layer is all there is otherwise). */
export function simulcastOf(received: readonly Subscription[]): Subscription[] {
  return received.filter((s) => s.publication.keyframeGated && s.publication.layerCount > 1);
}

/** A new cap for a subscription. */
export interface CapChange {
  sub: Subscription;
  maxLayer: number;
}

export class BandwidthController {
  /** The last estimate of each subscriber, bits/s. */
  private readonly estimates = new Map<ParticipantId, number>();
  /** When each subscription's cap was last lowered. */
  private readonly loweredAt = new WeakMap<Subscription, Millis>();
  private readonly upgradeHoldMs: Millis;

  constructor(upgradeHoldMs: Millis) {
    this.upgradeHoldMs = upgradeHoldMs;
  }

  /** A subscriber's new estimate, with everything it receives: the caps that change. */
  onEstimate(subscriberId: ParticipantId, bitsPerSecond: number, received: readonly Subscription[], now: Millis): CapChange[] {
    const previous = this.estimates.get(subscriberId);
    this.estimates.set(subscriberId, bitsPerSecond);
    const subs = simulcastOf(received);
    const budget = bitsPerSecond * HEADROOM;
    let sending = 0;
    for (const s of subs) if (s.currentLayer >= 0) sending += s.publication.rate.bitrates[s.currentLayer] ?? 0;
    const congested = previous !== undefined && bitsPerSecond < previous * ESTIMATE_DROP && sending > budget;
    const caps = congested
      ? allocateLayers(budget, subs.map((s) => ({ wanted: s.wantedLayer, layerCosts: s.publication.rate.bitrates })))
      : undefined;
    const changes: CapChange[] = [];
    subs.forEach((sub, i) => {
      let next = sub.maxLayer;
      if (caps !== undefined) {
        const cap = caps[i]!;
        if (cap >= 0 && cap < sub.maxLayer) {
          next = cap;
          this.loweredAt.set(sub, now);
        }
      } else if (sub.maxLayer < sub.publication.highestLayer && now - (this.loweredAt.get(sub) ?? -Infinity) >= this.upgradeHoldMs) {
        next = sub.maxLayer + 1;
      }
      if (next !== sub.maxLayer) changes.push({ sub, maxLayer: next });
    });
    return changes;
  }

  /** The subscriber's last REMB (bits/s), if any. */
  estimate(subscriberId: ParticipantId): number | undefined {
    return this.estimates.get(subscriberId);
  }

  /** The subscriber left. */
  forget(subscriberId: ParticipantId): void {
    this.estimates.delete(subscriberId);
  }
}
