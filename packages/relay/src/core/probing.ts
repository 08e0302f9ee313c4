/**
 * Probing: the probes of every subscriber's downlink (congestion/probe-controller.ts decides when and
 * judges them) and the packets that make them.
 *
 * A probe's padding is made of the subscriber's own recent video packets, sent again as `probe`
 * outputs: the shell sends each as an RTX packet (RFC 4588) on that m-line's RTX SSRC, numbered for
 * transport-cc like any other, so the feedback reports it; the receiver drops it as a duplicate (or
 * recovers a packet it had lost). A subscriber whose answer declined RTX gets no probe packets (a
 * duplicate on the media SSRC would be an SRTP replay): its probes measure only the media and fail, and
 * back off. Padding leaves in steps of TICK_MS, as much as the probe's padding rate allows by then.
 *
 * A probe starts only when the subscriber's pacer holds nothing (a queue means the link is busy) and
 * one of its videos is forwarding (there are packets to send again).
 */
import type { CapacityCaps } from "./congestion/capacity-caps.ts";
import { type Probe, ProbeController, type ProbeResult } from "./congestion/probe-controller.ts";
import type { FeedbackPacket } from "./congestion/send-side-estimator.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { Pacing } from "./pacer.ts";
import { sendAgain } from "./retransmission-history.ts";
import type { Subscription } from "./subscription.ts";
import type { SubscriptionTable } from "./subscription-table.ts";
import type { Millis, ParticipantId } from "./types.ts";

/** How often a probe's padding is topped up (ms). */
const TICK_MS = 5;
/** RTP, SRTP and RTX bytes around a probe packet's payload, for the padding's budget. */
const PACKET_OVERHEAD = 50;
/** Probe packets go back over at most this many of the latest packets sent. */
const SPAN = 32;

interface Sending {
  controller: ProbeController;
  /** Padding bytes sent in the current probe. */
  padded: number;
  /** Packets sent in the current probe (picks which recent packet goes next). */
  packets: number;
  /** The next padding step while a probe is on (Infinity: its window is over). */
  nextTick: Millis;
}

export interface ProbeCounts {
  /** Probes started toward subscribers, since the core started. */
  probes: number;
  /** Probes whose feedback raised the subscriber's estimate. */
  probesSucceeded: number;
  /** Packets sent as probe padding. */
  probePackets: number;
}

export class Probing {
  private readonly subscribers = new Map<ParticipantId, Sending>();
  private readonly table: SubscriptionTable;
  private readonly capacity: CapacityCaps;
  private readonly pacing: Pacing;
  private readonly out: OutputQueue;
  readonly counts: ProbeCounts = { probes: 0, probesSucceeded: 0, probePackets: 0 };

  constructor(table: SubscriptionTable, capacity: CapacityCaps, pacing: Pacing, out: OutputQueue) {
    this.table = table;
    this.capacity = capacity;
    this.pacing = pacing;
    this.out = out;
  }

  /** When padding is due or a probe's result times out (Infinity: neither). */
  get deadline(): Millis {
    let at = Infinity;
    for (const s of this.subscribers.values()) if (s.controller.current !== undefined) at = Math.min(at, s.nextTick, s.controller.deadline);
    return at;
  }

  /**
   * A subscriber's transport-cc feedback, before CapacityCaps takes it: a probe it completes is judged
   * first, so the estimate it measured is what the same feedback's delay and loss are weighed against
   * (the probe's own queue must not lower the caps before its result raises them again).
   */
  beforeFeedback(subscriberId: ParticipantId, packets: readonly FeedbackPacket[], now: Millis): void {
    const result = this.subscribers.get(subscriberId)?.controller.onFeedback(packets, now);
    if (result !== undefined) this.judged(subscriberId, result);
  }

  /** The same feedback, after CapacityCaps took it: the next probe if one is due. */
  afterFeedback(subscriberId: ParticipantId, now: Millis): void {
    const estimate = this.capacity.estimate(subscriberId);
    if (estimate === undefined) return;
    let s = this.subscribers.get(subscriberId);
    if (s === undefined) this.subscribers.set(subscriberId, (s = { controller: new ProbeController(), padded: 0, packets: 0, nextTick: Infinity }));
    s.controller.onEstimate(estimate, now);
    this.maybeStart(subscriberId, s, now);
  }

  /** Time passed: padding that is due leaves; probes without feedback fail. */
  onTimeout(now: Millis): void {
    for (const [subscriberId, s] of this.subscribers) {
      const probe = s.controller.current;
      if (probe === undefined) continue;
      if (now >= s.nextTick) this.pad(subscriberId, s, probe, now);
      const result = s.controller.onTimeout(now);
      if (result !== undefined) this.judged(subscriberId, result);
    }
  }

  /** The subscriber left. */
  forget(subscriberId: ParticipantId): void {
    this.subscribers.delete(subscriberId);
  }

  private maybeStart(subscriberId: ParticipantId, s: Sending, now: Millis): void {
    if (s.controller.current !== undefined || this.pacing.isHolding(subscriberId)) return;
    const received = this.table.ofSubscriber(subscriberId);
    if (repeatable(received) === undefined) return;
    const probe = s.controller.start(now, this.capacity.estimate(subscriberId)!, this.capacity.limitedWish(subscriberId, received), this.capacity.receivedBitrate(subscriberId) ?? 0);
    if (probe === undefined) return;
    this.counts.probes++;
    this.capacity.setProbing(subscriberId, probe);
    s.padded = 0;
    s.packets = 0;
    this.pad(subscriberId, s, probe, now);
  }

  /** Sends the padding due by `now`, and says when the next is. */
  private pad(subscriberId: ParticipantId, s: Sending, probe: Probe, now: Millis): void {
    const due = (probe.paddingBps / 8000) * (Math.min(now, probe.end) - probe.start) - s.padded;
    const sub = repeatable(this.table.ofSubscriber(subscriberId));
    for (let left = due; left > 0 && sub !== undefined; ) {
      const sent = sub.history!.find((sub.rewriter.seq - (s.packets % SPAN)) & 0xffff);
      s.packets++;
      if (sent === undefined) break; // fewer packets sent yet than the span: the next tick goes on
      this.out.push(sendAgain("probe", sub, sent));
      this.counts.probePackets++;
      s.padded += sent.size + PACKET_OVERHEAD;
      left -= sent.size + PACKET_OVERHEAD;
    }
    s.nextTick = now < probe.end ? Math.min(probe.end, now + TICK_MS) : Infinity;
  }

  private judged(subscriberId: ParticipantId, result: ProbeResult): void {
    this.capacity.setProbing(subscriberId, undefined);
    if (result.succeeded) {
      this.counts.probesSucceeded++;
      this.capacity.probed(subscriberId, result.measuredBps, this.table.ofSubscriber(subscriberId));
    } else if (result.floorBps > 0) {
      this.capacity.raiseTo(subscriberId, result.floorBps);
    }
  }
}

/** A video of the subscriber's that is forwarding, whose recent packets a probe can send again. */
function repeatable(received: readonly Subscription[]): Subscription | undefined {
  return received.find((s) => s.history !== undefined && s.state === "forwarding" && s.currentLayer >= 0);
}
