/**
 * SendSideEstimator: one subscriber connection's bandwidth estimate from its transport-cc feedback, in
 * the manner of GCC (draft-ietf-rmcat-gcc-02): the delay-based rate (packet groups -> Trendline ->
 * OveruseDetector -> AimdRateControl) and the loss-based rate (LossBasedRate); the estimate is the
 * lower of the two. Pure: the shell gives, per packet, when it was sent (relay clock), its size, and
 * when it arrived (subscriber clock) or that it was lost.
 */
import type { Millis } from "../types.ts";
import { AimdRateControl } from "./aimd-rate-control.ts";
import { LossBasedRate } from "./loss-based.ts";
import { type BandwidthUsage, OveruseDetector } from "./overuse-detector.ts";
import { ReceivedRate } from "./received-rate.ts";
import { Trendline } from "./trendline.ts";

/** Packets sent within this span are one group (a frame's burst): delay is compared group to group. */
const BURST_MS = 5;
/** How long after a probe its queue may still be draining (ms): the most a probe queues (probe-controller.ts). */
const PROBE_DRAIN_MS = 100;

/** One packet a feedback covers, as the shell resolved it against its send history. */
export interface FeedbackPacket {
  /** When the relay sent it (ms, the relay's clock). */
  sentAt: Millis;
  /** Bytes on the wire (RTP). */
  size: number;
  /** When it arrived (ms, the subscriber's clock: only differences count); -1: reported lost. */
  arrivedAt: number;
}

/** How an estimator is set up. */
export interface EstimatorOptions {
  /**
   * The delay-based increase reaches at most this times what arrives (plus 10 kbit/s; default: no
   * bound). Toward subscribers 1.5, libwebrtc's rule: the relay sends what the layers cost, not what
   * the estimate allows, so an estimate free to grow would say nothing tested (a link restored at 500
   * kbit/s read as 3 Mbit/s); probes (probe-controller.ts) raise it past that. Not for a publisher's
   * uplink (publisher-remb.ts): its REMB is already bounded by what arrives, and a bounded estimate
   * under that bound kept Firefox from turning its top layer back on for 19 s.
   */
  maxOverReceived?: number;
}

interface Group {
  firstSent: Millis;
  lastSent: Millis;
  lastArrived: number;
}

export class SendSideEstimator {
  private readonly trendline = new Trendline();
  private readonly detector = new OveruseDetector();
  private readonly delayBased: AimdRateControl;
  private readonly lossBased: LossBasedRate;
  private readonly received = new ReceivedRate();
  private current: Group | undefined;
  private previous: Group | undefined;
  private usage: BandwidthUsage = "normal";
  /** Packets sent in this span (a probe and its queue's draining) say nothing of congestion: [start, end]. */
  private probeSpan: [Millis, Millis] = [Infinity, -Infinity];

  constructor(startBitrate: number, options: EstimatorOptions = {}) {
    this.delayBased = new AimdRateControl(startBitrate, options.maxOverReceived);
    this.lossBased = new LossBasedRate(startBitrate);
  }

  /** The estimate now (bits/s). */
  get bitrate(): number {
    return Math.min(this.delayBased.bitrate, this.lossBased.bitrate);
  }

  /** What arrived recently (bits/s), undefined before a window completed. */
  get receivedBitrate(): number | undefined {
    return this.received.bitrate;
  }

  /**
   * A video paused for bandwidth resumes: nothing measured the link while it was paused (no video, no
   * feedback), so the estimate starts again from at least what it costs, and the feedback on it decides.
   */
  raiseTo(bitsPerSecond: number): void {
    this.delayBased.raiseTo(bitsPerSecond);
    this.lossBased.raiseTo(bitsPerSecond);
  }

  /** A probe measured the link carrying `bitsPerSecond` (probe-controller.ts): both rates become at least that. */
  probed(bitsPerSecond: number): void {
    this.delayBased.probed(bitsPerSecond);
    this.lossBased.raiseTo(bitsPerSecond);
  }

  /**
   * A probe is sent from `start` to `end`: it fills the link on purpose, so the delay of what is sent
   * then and while its queue drains is not taken as overuse (the probe's result says what the link
   * carries). Loss still counts.
   */
  probing(start: Millis, end: Millis): void {
    this.probeSpan = [start, end + PROBE_DRAIN_MS];
  }

  /** One feedback's packets, in transport sequence (= send) order, at `now`. Returns the new estimate. */
  onFeedback(packets: readonly FeedbackPacket[], now: Millis): number {
    let lost = 0;
    for (const p of packets) {
      if (p.arrivedAt < 0) {
        lost++;
        continue;
      }
      this.received.add(p.size, p.arrivedAt);
      this.addToGroup(p);
    }
    this.delayBased.update(this.usage, this.received.bitrate, now);
    this.lossBased.update(packets.length - lost, lost, now);
    return this.bitrate;
  }

  private addToGroup(p: FeedbackPacket): void {
    if (p.sentAt >= this.probeSpan[0] && p.sentAt <= this.probeSpan[1]) {
      // Start again after the probe: no delay is compared across it.
      this.current = undefined;
      this.previous = undefined;
      return;
    }
    const group = this.current;
    if (group === undefined) {
      this.current = { firstSent: p.sentAt, lastSent: p.sentAt, lastArrived: p.arrivedAt };
      return;
    }
    if (p.sentAt - group.firstSent <= BURST_MS) {
      group.lastSent = Math.max(group.lastSent, p.sentAt);
      group.lastArrived = Math.max(group.lastArrived, p.arrivedAt);
      return;
    }
    const previous = this.previous;
    if (previous !== undefined) {
      const sendDelta = group.lastSent - previous.lastSent;
      const arrivalDelta = group.lastArrived - previous.lastArrived;
      const trend = this.trendline.update(arrivalDelta - sendDelta, group.lastArrived);
      this.usage = this.detector.detect(trend, sendDelta, group.lastArrived);
    }
    this.previous = group;
    this.current = { firstSent: p.sentAt, lastSent: p.sentAt, lastArrived: p.arrivedAt };
  }
}
