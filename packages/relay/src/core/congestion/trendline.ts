/**
 * TrendlineEstimator (GCC, draft-ietf-rmcat-gcc-02 section 5.3, as libwebrtc's trendline filter): the
 * slope of the one-way queuing delay over the last packet groups. Each input is one group's delay
 * variation (how much later it arrived than it was sent, relative to the group before); the estimator
 * accumulates them into a delay curve, smooths it, and fits a line through the last WINDOW points.
 * A rising line means a queue is building on the path.
 */
import type { Millis } from "../types.ts";

/** Groups in the regression window. */
const WINDOW = 20;
/** Exponential smoothing of the accumulated delay. */
const SMOOTHING = 0.9;
/** Scales the slope into the detector's units (libwebrtc's threshold gain). */
const GAIN = 4;
/** The slope's weight grows with the number of deltas seen, up to this many. */
const MAX_DELTAS = 60;

export class Trendline {
  private readonly times = new Float64Array(WINDOW);
  private readonly delays = new Float64Array(WINDOW);
  private count = 0;
  private next = 0;
  private accumulated = 0;
  private smoothed = 0;
  private firstArrival: Millis | undefined;
  private deltas = 0;

  /**
   * One group's delay variation (ms; positive: it spent longer on the path than the group before) and
   * its arrival time. Returns the modified trend (the slope, scaled by GAIN and by how many deltas
   * back it), 0 until the window is full.
   */
  update(delayVariationMs: number, arrivalMs: Millis): number {
    this.firstArrival ??= arrivalMs;
    this.deltas = Math.min(this.deltas + 1, MAX_DELTAS);
    this.accumulated += delayVariationMs;
    this.smoothed = SMOOTHING * this.smoothed + (1 - SMOOTHING) * this.accumulated;
    this.times[this.next] = arrivalMs - this.firstArrival;
    this.delays[this.next] = this.smoothed;
    this.next = (this.next + 1) % WINDOW;
    if (this.count < WINDOW) this.count++;
    if (this.count < WINDOW) return 0;
    return this.slope() * this.deltas * GAIN;
  }

  /** Least-squares slope of delay over time in the window (0 when the times do not spread). */
  private slope(): number {
    let sumT = 0;
    let sumD = 0;
    for (let i = 0; i < WINDOW; i++) {
      sumT += this.times[i]!;
      sumD += this.delays[i]!;
    }
    const meanT = sumT / WINDOW;
    const meanD = sumD / WINDOW;
    let num = 0;
    let den = 0;
    for (let i = 0; i < WINDOW; i++) {
      const dt = this.times[i]! - meanT;
      num += dt * (this.delays[i]! - meanD);
      den += dt * dt;
    }
    return den === 0 ? 0 : num / den;
  }
}
