/**
 * LossRecovery: the relay's answer to packet loss on both legs.
 *
 * - Publisher leg: each forwarded video layer has its own NackGenerator (nack-generator.ts); packets
 *   missing past the reorder window are NACKed to the publisher (`send-nack`), retried once per round
 *   trip, and a loss not recovered in time becomes a keyframe request (throttled as every other). Layers
 *   nobody is forwarded are not NACKed: their packets help nobody.
 * - Subscriber leg: a subscriber's NACK is answered by the relay itself from what it sent that
 *   subscription (retransmission-history.ts) and the packets the shell keeps (`retransmit`), under
 *   three rules: a packet is resent to a subscriber at most once per their round trip (an earlier
 *   resend may still be on its way), and never more often than MIN_RESEND_INTERVAL_MS; only within
 *   the subscriber's retransmission budget, a share of their downlink estimate (resends must not swamp
 *   the link the loss came from); and only while the packet is still kept. A NACK for a packet the relay never got is not passed on: the relay's own
 *   generator for that layer already NACKs the publisher once for all subscribers, and the resend is
 *   forwarded to every one of them as it arrives.
 *
 * Round trips come from `round-trip-time` inputs (the participant's subscriber connection: the same
 * client and path as their publisher connection); DEFAULT_RTT_MS until one arrives.
 */
import type { KeyframeScheduler } from "./keyframe-scheduler.ts";
import type { NackGenerator } from "./nack-generator.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { Pacing } from "./pacer.ts";
import type { Publication } from "./publication.ts";
import { HISTORY_PER_LAYER, sendAgain } from "./retransmission-history.ts";
import type { SubscriptionTable } from "./subscription-table.ts";
import { TokenBucket } from "./token-bucket.ts";
import type { CoreStats, Millis, ParticipantId } from "./types.ts";

/** Round trip assumed before a participant's is measured. */
export const DEFAULT_RTT_MS = 100;
/** Share of a subscriber's downlink estimate that retransmissions may use. */
export const RETRANSMIT_SHARE = 0.2;
/** The budget's burst: this much time's worth of it may go at once. */
export const RETRANSMIT_BURST_MS = 500;
/** Downlink assumed before a subscriber's first estimate, bits/s. */
export const DEFAULT_ESTIMATE_BPS = 1_000_000;
/**
 * The subscriber reports both its estimate and (through its receiver reports) its round trip: a client
 * claiming a huge link and no delay must not turn its NACKs into a flood of resends. Beyond these the
 * claims are not believed.
 */
export const MAX_BUDGET_ESTIMATE_BPS = 20_000_000;
export const MIN_RESEND_INTERVAL_MS = 20;
/** Bytes of a resent packet besides its payload (RTP header, SRTP tag, UDP/IP), for the budget. */
const PACKET_OVERHEAD = 50;

/** Its counts in stats(). */
export type LossCounts = Pick<CoreStats, "retransmits" | "retransmitsWithheld" | "nackedToPublishers" | "lossesGivenUp">;

export class LossRecovery {
  readonly counts: LossCounts = { retransmits: 0, retransmitsWithheld: 0, nackedToPublishers: 0, lossesGivenUp: 0 };
  /** Generators with packets missing: what timeouts are for. */
  private readonly active = new Map<NackGenerator, { pub: Publication; layer: number }>();
  private readonly rtts = new Map<ParticipantId, Millis>();
  private readonly budgets = new Map<ParticipantId, TokenBucket>();
  /** Reused for collecting the seqs of one NACK. */
  private readonly due: number[] = [];
  private readonly table: SubscriptionTable;
  private readonly keyframes: KeyframeScheduler;
  private readonly out: OutputQueue;
  /** Resends leave through the subscriber's pacer (after what waits ahead of them, within its rate). */
  private readonly pacing: Pacing;

  constructor(table: SubscriptionTable, keyframes: KeyframeScheduler, out: OutputQueue, pacing: Pacing) {
    this.table = table;
    this.keyframes = keyframes;
    this.out = out;
    this.pacing = pacing;
  }

  /** The hot path: a packet of `layer` arrived; `forwarded`: some subscription took it (the layer is in use). */
  onPacket(pub: Publication, layer: number, seq: number, now: Millis, forwarded: boolean): void {
    const gen = pub.nacks[layer];
    if (gen === undefined) return;
    gen.receive(seq, now);
    if (!gen.busy) return;
    if (forwarded) {
      this.collect(gen, pub, layer, now);
    } else {
      gen.clear();
      this.active.delete(gen);
    }
  }

  /**
   * Time has passed: retries, and losses waiting for their reorder window, of layers still forwarded
   * (a layer switched away from may have stopped: its losses help nobody now).
   */
  onTimeout(now: Millis): void {
    for (const [gen, { pub, layer }] of this.active) {
      if (this.table.ofTrack(pub.id).some((sub) => sub.currentLayer === layer)) {
        this.collect(gen, pub, layer, now);
      } else {
        gen.clear();
        this.active.delete(gen);
      }
    }
  }

  /** The earliest time a NACK or a give-up is due (Infinity: nothing missing). */
  get deadline(): Millis {
    let at = Infinity;
    for (const [gen, { pub }] of this.active) at = Math.min(at, gen.deadline(this.rttOf(pub.publisher.id)));
    return at;
  }

  /** A subscriber NACKed these seqs (its own, rewritten ones) on a subscription: resend what the rules allow. */
  onNack(subscriptionId: number, seqs: readonly number[], now: Millis): void {
    const sub = this.table.get(subscriptionId);
    const history = sub?.history;
    if (sub === undefined || history === undefined) return;
    const subscriberId = sub.subscriber.id;
    const interval = Math.max(MIN_RESEND_INTERVAL_MS, this.rttOf(subscriberId));
    for (const seq of seqs) {
      const sent = history.find(seq & 0xffff);
      if (sent === undefined) continue; // never sent to them: the relay lacks it too, and NACKs it itself
      const gen = sub.publication.nacks[sent.layer];
      const kept = gen !== undefined && gen.newest - gen.extend(sent.sourceSeq) < HISTORY_PER_LAYER;
      if (!kept || now - sent.resentAt < interval || !this.budgetOf(subscriberId).take(now, sent.size + PACKET_OVERHEAD)) {
        this.counts.retransmitsWithheld++;
        continue;
      }
      history.resent(sent.seq, now);
      this.counts.retransmits++;
      this.pacing.retransmit(sendAgain("retransmit", sub, sent), sent.size, now);
    }
  }

  /** A subscriber's downlink estimate: their budget becomes RETRANSMIT_SHARE of it (up to MAX_BUDGET_ESTIMATE_BPS). */
  onEstimate(subscriberId: ParticipantId, bitsPerSecond: number, now: Millis): void {
    const perSecond = (Math.min(bitsPerSecond, MAX_BUDGET_ESTIMATE_BPS) * RETRANSMIT_SHARE) / 8;
    this.budgetOf(subscriberId).setRate(now, (perSecond * RETRANSMIT_BURST_MS) / 1000, perSecond);
  }

  onRoundTrip(participantId: ParticipantId, rttMs: Millis): void {
    if (Number.isFinite(rttMs) && rttMs >= 0) this.rtts.set(participantId, rttMs);
  }

  /** The track is gone: its generators wait for nothing any more. */
  forgetPublication(pub: Publication): void {
    for (const gen of pub.nacks) this.active.delete(gen);
  }

  forgetParticipant(id: ParticipantId): void {
    this.rtts.delete(id);
    this.budgets.delete(id);
  }

  private collect(gen: NackGenerator, pub: Publication, layer: number, now: Millis): void {
    const due = this.due;
    due.length = 0;
    const gaveUp = gen.collect(now, this.rttOf(pub.publisher.id), due);
    if (due.length > 0) {
      this.counts.nackedToPublishers += due.length;
      this.out.push({ type: "send-nack", publisherId: pub.publisher.id, trackId: pub.id, layer, seqs: due.slice() });
    }
    if (gaveUp) {
      this.counts.lossesGivenUp++;
      this.keyframes.request(pub, layer, now); // the decoders of this layer cannot go on without one
    }
    if (gen.missingCount === 0) this.active.delete(gen);
    else if (!this.active.has(gen)) this.active.set(gen, { pub, layer });
  }

  private rttOf(participantId: ParticipantId): Millis {
    return this.rtts.get(participantId) ?? DEFAULT_RTT_MS;
  }

  private budgetOf(subscriberId: ParticipantId): TokenBucket {
    let budget = this.budgets.get(subscriberId);
    if (budget === undefined) {
      const perSecond = (DEFAULT_ESTIMATE_BPS * RETRANSMIT_SHARE) / 8;
      budget = new TokenBucket((perSecond * RETRANSMIT_BURST_MS) / 1000, perSecond);
      this.budgets.set(subscriberId, budget);
    }
    return budget;
  }
}
