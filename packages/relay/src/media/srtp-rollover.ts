/**
 * The SRTP rollover counter of one SSRC the relay sends (RFC 3711 section 3.3.1): how many times its
 * 16-bit sequence number wrapped. A resent packet (NACK) carries an old sequence number and must be
 * protected with the counter it first went out with, so the index is estimated against the highest
 * sequence number sent (RFC 3711 appendix A) instead of following the last one.
 */
export class SendRollover {
  #highest = -1;
  #roc = 0;

  /** The rollover counter for a packet with sequence number `seq` about to be sent. */
  next(seq: number): number {
    const highest = this.#highest;
    if (highest < 0) {
      this.#highest = seq;
      return 0;
    }
    let roc = this.#roc;
    if (highest < 0x8000) {
      if (seq - highest > 0x8000) roc = this.#roc - 1; // an old packet from before the last wrap
    } else if (highest - 0x8000 > seq) {
      roc = this.#roc + 1; // wrapped
    }
    if (roc > this.#roc || (roc === this.#roc && seq > highest)) {
      this.#roc = roc;
      this.#highest = seq;
    }
    return roc < 0 ? 0 : roc; // below 0: a packet from before the first one sent, which cannot be
  }
}
