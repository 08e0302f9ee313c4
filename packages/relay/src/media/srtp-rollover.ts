/**
 * The SRTP rollover counter of one SSRC (RFC 3711 section 3.3.1): how many times its 16-bit sequence
 * number wrapped. A packet's counter is estimated against the highest sequence number so far (RFC 3711
 * appendix A), so a late packet (reordered on the way in, or resent after a NACK on the way out) gets
 * the counter it was first sent with, not the current one.
 */
export class RolloverCounter {
  #highest = -1;
  #roc = 0;

  /** The rollover counter a packet with sequence number `seq` has. */
  estimate(seq: number): number {
    const highest = this.#highest;
    if (highest < 0) return 0;
    if (highest < 0x8000) return seq - highest > 0x8000 ? Math.max(0, this.#roc - 1) : this.#roc; // older: from before the last wrap
    return highest - 0x8000 > seq ? this.#roc + 1 : this.#roc; // wrapped
  }

  /** A packet (`seq`, with counter `roc`) was sent, or received and authenticated: the highest moves on. */
  update(seq: number, roc: number): void {
    if (this.#highest < 0 || roc > this.#roc || (roc === this.#roc && seq > this.#highest)) {
      this.#roc = roc;
      this.#highest = seq;
    }
  }

  /** A sender's step: the counter for `seq`, which is then sent. */
  next(seq: number): number {
    const roc = this.estimate(seq);
    this.update(seq, roc);
    return roc;
  }
}
