/**
 * AimdRateControl (GCC, draft-ietf-rmcat-gcc-02 section 5.5, as libwebrtc's AimdRateControl): turns
 * the overuse detector's signal into the delay-based rate. Overuse: decrease to BETA times what the
 * receiver actually got (but at most by half per decrease, at most one decrease per 200 ms). Underuse: hold (a queue is draining). Normal: increase, multiplicatively (8% a
 * second) while far from the link capacity seen at the last decreases, additively (about a packet per
 * response time) near it, so the rate creeps past a known limit instead of jumping over it.
 *
 * As in libwebrtc, an increase goes at most to 1.5 times what the receiver got (plus 10 kbit/s), never
 * lowering the rate: an estimate far above what was ever sent is a guess the link was never asked to
 * confirm. Above that, the relay learns only by probing (probe-controller.ts), whose measure raises the
 * rate directly (`probed`).
 */
import type { Millis } from "../types.ts";
import type { BandwidthUsage } from "./overuse-detector.ts";

const BETA = 0.85;
/** Multiplicative increase per second. */
const INCREASE_PER_SECOND = 1.08;
/** Additive increase near capacity: one 1200-byte packet per response time (RTT + 100 ms). */
const PACKET_BITS = 1200 * 8;
const RESPONSE_TIME_MS = 200;
/** Never wait longer than this between two decreases (ms): one per round trip at most. */
const DECREASE_INTERVAL_MS = 200;

export const MIN_BITRATE = 50_000;
export const MAX_BITRATE = 30_000_000;

export class AimdRateControl {
  private rate: number;
  private state: "hold" | "increase" = "increase";
  private lastUpdate: Millis | undefined;
  private lastDecrease = -Infinity;
  /** EWMA of the received rate at decreases: where the link's capacity seems to be; undefined if unknown. */
  private linkCapacity: number | undefined;
  private readonly maxOverReceived: number;

  /**
   * `maxOverReceived`: an increase reaches at most this times the received rate, plus 10 kbit/s
   * (libwebrtc's rule; Infinity: no such bound). See `EstimatorOptions` for who sets it and why.
   */
  constructor(startBitrate: number, maxOverReceived = Infinity) {
    this.rate = startBitrate;
    this.maxOverReceived = maxOverReceived;
  }

  get bitrate(): number {
    return this.rate;
  }

  /** Start again from at least `bitsPerSecond` (a paused video resumes: its cost is the probe). */
  raiseTo(bitsPerSecond: number): void {
    this.rate = Math.max(this.rate, Math.min(MAX_BITRATE, bitsPerSecond));
  }

  /**
   * A probe measured the link carrying `bitsPerSecond` (probe-controller.ts): the rate becomes at least
   * that, and the capacity remembered from earlier decreases is forgotten (the path carries more now),
   * so the increase is multiplicative again.
   */
  probed(bitsPerSecond: number): void {
    if (bitsPerSecond <= this.rate) return;
    this.rate = Math.min(MAX_BITRATE, bitsPerSecond);
    this.linkCapacity = undefined;
  }

  /** The detector's signal at `now`, with the rate the receiver got recently (undefined: not known yet). */
  update(usage: BandwidthUsage, receivedBitrate: number | undefined, now: Millis): number {
    const dt = Math.min(now - (this.lastUpdate ?? now), 1000);
    this.lastUpdate = now;
    if (usage === "overusing") {
      if (receivedBitrate !== undefined && now - this.lastDecrease >= DECREASE_INTERVAL_MS) {
        // At most halved per decrease: a spike of delay while little was flowing (a keyframe burst
        // at the start, a stall on the path) must not drop the estimate to what a low layer needs.
        const decreased = Math.max(BETA * receivedBitrate, this.rate / 2);
        if (decreased < this.rate) this.rate = decreased;
        this.linkCapacity = this.linkCapacity === undefined ? receivedBitrate : 0.95 * this.linkCapacity + 0.05 * receivedBitrate;
        this.lastDecrease = now;
      }
      this.state = "hold";
    } else if (usage === "underusing") {
      this.state = "hold";
    } else {
      // Normal after hold: increase from here on.
      if (this.state === "increase") this.increase(dt, receivedBitrate);
      this.state = "increase";
    }
    this.rate = Math.max(MIN_BITRATE, Math.min(MAX_BITRATE, this.rate));
    return this.rate;
  }

  private increase(dt: Millis, receivedBitrate: number | undefined): void {
    // Far above the old capacity the path changed: forget it.
    if (this.linkCapacity !== undefined && receivedBitrate !== undefined && receivedBitrate > 1.5 * this.linkCapacity) this.linkCapacity = undefined;
    const nearCapacity = this.linkCapacity !== undefined && this.rate < 1.25 * this.linkCapacity;
    const before = this.rate;
    if (nearCapacity) this.rate += Math.max(1000, (PACKET_BITS * 1000) / RESPONSE_TIME_MS) * (dt / 1000);
    else this.rate *= INCREASE_PER_SECOND ** (dt / 1000);
    if (receivedBitrate !== undefined) this.rate = Math.min(this.rate, Math.max(before, this.maxOverReceived * receivedBitrate + 10_000));
  }
}
