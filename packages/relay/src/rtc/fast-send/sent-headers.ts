/**
 * The header values a subscriber's media packets went out with, for the last SENT_HEADERS of them by
 * seq: what a resend on the media SSRC must repeat byte for byte (track-sender.ts says why). Typed
 * arrays, no object per packet; looked up on every send (a publisher's duplicate is refused with it).
 */

/** Packets remembered (a power of two): about 2.5 s at 200 packets/s. */
const SENT_HEADERS = 512;

export class SentHeaders {
  readonly #seqs = new Int32Array(SENT_HEADERS).fill(-1);
  readonly absSendTimes = new Uint32Array(SENT_HEADERS);
  readonly transportSeqs = new Uint16Array(SENT_HEADERS);
  readonly levels = new Int16Array(SENT_HEADERS);
  /** The header templates' generation each was written with: another one would not give the same bytes. */
  readonly generations = new Uint32Array(SENT_HEADERS);

  remember(seq: number, absSendTime: number, transportSeq: number, audioLevel: number, generation: number): void {
    const i = seq & (SENT_HEADERS - 1);
    this.#seqs[i] = seq;
    this.absSendTimes[i] = absSendTime;
    this.transportSeqs[i] = transportSeq;
    this.levels[i] = audioLevel;
    this.generations[i] = generation;
  }

  /** Where packet `seq`'s values are; -1: not here (never sent, or overwritten since). */
  indexOf(seq: number): number {
    const i = seq & (SENT_HEADERS - 1);
    return this.#seqs[i] === seq ? i : -1;
  }
}
