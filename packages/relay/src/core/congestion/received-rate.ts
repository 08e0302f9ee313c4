/**
 * ReceivedRate: what the subscriber actually received (bits/s), from the sizes and arrival times in its
 * feedback, over windows of at least WINDOW_MS of arrival time. The rate control decreases relative to
 * it: after overuse, "what got through" is the best measure of the link.
 */
const WINDOW_MS = 500;

export class ReceivedRate {
  private bytes = 0;
  private windowStart: number | undefined;
  /** The last complete window's rate; undefined before one completed. */
  bitrate: number | undefined;

  /** A received packet of `size` bytes that arrived at `arrivalMs` (the receiver's clock). */
  add(size: number, arrivalMs: number): void {
    if (this.windowStart === undefined || arrivalMs < this.windowStart) {
      this.windowStart = arrivalMs;
      this.bytes = 0;
    }
    this.bytes += size;
    const span = arrivalMs - this.windowStart;
    if (span >= WINDOW_MS) {
      this.bitrate = (this.bytes * 8 * 1000) / span;
      this.windowStart = arrivalMs;
      this.bytes = 0;
    }
  }
}
