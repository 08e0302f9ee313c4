/**
 * OveruseDetector (GCC, draft-ietf-rmcat-gcc-02 sections 5.4-5.5): compares the delay trend with an
 * adaptive threshold. Above it for long enough (and still rising): overuse, the path's queue is growing.
 * Below its negative: underuse, a queue is draining. The threshold follows the trend slowly upwards and
 * faster downwards, so a path with steady jitter does not look congested, and a competing TCP flow does
 * not starve this one.
 */
import type { Millis } from "../types.ts";

export type BandwidthUsage = "normal" | "overusing" | "underusing";

const INITIAL_THRESHOLD = 12.5;
const MIN_THRESHOLD = 6;
const MAX_THRESHOLD = 600;
/** Adaptation speed when the trend is above (up) and below (down) the threshold. */
const K_UP = 0.0087;
const K_DOWN = 0.039;
/** A trend this far above the threshold is a spike: it does not move the threshold. */
const MAX_ADAPT_OFFSET = 15;
/** Overuse must last this long (ms of send time) before it is signalled. */
const OVERUSE_TIME_MS = 10;
/** The longest time step the threshold adapts over at once. */
const MAX_TIME_DELTA_MS = 100;

export class OveruseDetector {
  private threshold = INITIAL_THRESHOLD;
  private lastUpdate: Millis | undefined;
  private timeOverusing = -1;
  private overuseCount = 0;
  private previousTrend = 0;
  private state: BandwidthUsage = "normal";

  /** The modified trend of one more group, sent `sendDeltaMs` after the one before, observed at `now`. */
  detect(trend: number, sendDeltaMs: number, now: Millis): BandwidthUsage {
    if (trend > this.threshold) {
      this.timeOverusing = this.timeOverusing < 0 ? sendDeltaMs / 2 : this.timeOverusing + sendDeltaMs;
      this.overuseCount++;
      if (this.timeOverusing > OVERUSE_TIME_MS && this.overuseCount > 1 && trend >= this.previousTrend) {
        this.timeOverusing = 0;
        this.overuseCount = 0;
        this.state = "overusing";
      }
    } else if (trend < -this.threshold) {
      this.timeOverusing = -1;
      this.overuseCount = 0;
      this.state = "underusing";
    } else {
      this.timeOverusing = -1;
      this.overuseCount = 0;
      this.state = "normal";
    }
    this.previousTrend = trend;
    this.adapt(trend, now);
    return this.state;
  }

  private adapt(trend: number, now: Millis): void {
    const last = this.lastUpdate ?? now;
    this.lastUpdate = now;
    const magnitude = Math.abs(trend);
    if (magnitude > this.threshold + MAX_ADAPT_OFFSET) return;
    const k = magnitude < this.threshold ? K_DOWN : K_UP;
    const dt = Math.min(now - last, MAX_TIME_DELTA_MS);
    this.threshold += k * (magnitude - this.threshold) * dt;
    this.threshold = Math.max(MIN_THRESHOLD, Math.min(MAX_THRESHOLD, this.threshold));
  }
}
