/**
 * LossBasedRate (GCC, draft-ietf-rmcat-gcc-02 section 6): the loss-based rate from the share of packets
 * the receiver reports lost, over windows of at least WINDOW_MS and MIN_PACKETS. Above 10% loss it
 * decreases by half the loss; below 2% it increases 8% a second; in between it holds (some loss is the
 * price of a lossy link, not of congestion).
 */
import type { Millis } from "../types.ts";
import { MAX_BITRATE, MIN_BITRATE } from "./aimd-rate-control.ts";

const WINDOW_MS = 500;
const MIN_PACKETS = 20;
const HIGH_LOSS = 0.1;
const LOW_LOSS = 0.02;
const INCREASE_PER_SECOND = 1.08;

export class LossBasedRate {
  private rate: number;
  private received = 0;
  private lost = 0;
  private windowStart: Millis | undefined;
  private lastChange: Millis | undefined;

  constructor(startBitrate: number) {
    this.rate = startBitrate;
  }

  get bitrate(): number {
    return this.rate;
  }

  /** Start again from at least `bitsPerSecond` (as AimdRateControl.raiseTo). */
  raiseTo(bitsPerSecond: number): void {
    this.rate = Math.max(this.rate, Math.min(MAX_BITRATE, bitsPerSecond));
  }

  /** One feedback's counts at `now`. Returns the rate. */
  update(received: number, lost: number, now: Millis): number {
    this.windowStart ??= now;
    this.received += received;
    this.lost += lost;
    const total = this.received + this.lost;
    if (now - this.windowStart < WINDOW_MS || total < MIN_PACKETS) return this.rate;
    const lossShare = this.lost / total;
    const dt = Math.min(now - (this.lastChange ?? now), 1000);
    this.lastChange = now;
    if (lossShare > HIGH_LOSS) this.rate *= 1 - 0.5 * lossShare;
    else if (lossShare < LOW_LOSS) this.rate *= INCREASE_PER_SECOND ** (dt / 1000);
    this.rate = Math.max(MIN_BITRATE, Math.min(MAX_BITRATE, this.rate));
    this.received = 0;
    this.lost = 0;
    this.windowStart = now;
    return this.rate;
  }
}
