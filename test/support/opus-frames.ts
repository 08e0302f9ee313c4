/**
 * Reads what an Opus packet (RFC 6716) says about its own coding, without decoding audio: its mode
 * from the TOC byte (section 3.1) and, for frames with a SILK layer, whether the frame carries LBRR
 * data, Opus's in-band FEC (section 4.2.3: the header bits, VAD flags then the LBRR flag, are the first
 * symbols of the frame's range-coded data, each a bit of probability 1/2).
 */

export interface OpusFrameInfo {
  mode: "silk" | "hybrid" | "celt";
  /** A DTX packet: a frame of at most one byte, which the decoder fills with comfort noise. */
  dtx: boolean;
  /** The first frame carries LBRR (FEC for the frame before); undefined for CELT or DTX frames. */
  lbrr: boolean | undefined;
}

/** The packet's first frame, or undefined for a packet too short or malformed to have one. */
export function readOpusFrame(packet: Buffer): OpusFrameInfo | undefined {
  if (packet.length === 0) return undefined;
  const toc = packet[0]!;
  const config = toc >> 3;
  const mode = config < 12 ? "silk" : config < 16 ? "hybrid" : "celt";
  const frame = firstFrame(packet);
  if (frame === undefined) return undefined;
  if (frame.length <= 1) return { mode, dtx: true, lbrr: undefined };
  if (mode === "celt") return { mode, dtx: false, lbrr: undefined };
  // SILK frames in this Opus frame: one per 20 ms (a 10 ms frame has one too).
  const ms = mode === "silk" ? [10, 20, 40, 60][config % 4]! : [10, 20][config % 2]!;
  const silkFrames = Math.max(1, ms / 20);
  const decoder = new RangeDecoder(frame);
  for (let i = 0; i < silkFrames; i++) decoder.bit(); // VAD flags (the mid channel's, when stereo)
  return { mode, dtx: false, lbrr: decoder.bit() };
}

/** The first frame's bytes, by the TOC's frame count code (section 3.2). */
function firstFrame(packet: Buffer): Buffer | undefined {
  const code = packet[0]! & 3;
  if (code === 0) return packet.subarray(1);
  if (code === 1) return (packet.length - 1) % 2 === 0 ? packet.subarray(1, 1 + (packet.length - 1) / 2) : undefined;
  if (code === 2) {
    if (packet.length < 2) return undefined;
    const first = packet[1]!;
    const [length, at] = first < 252 ? [first, 2] : [first + 4 * (packet[2] ?? 0), 3];
    return at + length <= packet.length ? packet.subarray(at, at + length) : undefined;
  }
  return undefined; // code 3 (arbitrary frame counts): not what browsers send for 20 ms frames
}

/** RFC 6716 section 4.1's range decoder, as far as ec_dec_bit_logp with logp 1 needs it. */
class RangeDecoder {
  private offset = 0;
  private rng = 128;
  private val: number;
  private rem: number;

  constructor(private readonly data: Buffer) {
    this.rem = this.byte();
    this.val = this.rng - 1 - (this.rem >> 1);
    this.normalize();
  }

  /** One symbol of probability 1/2 (ec_dec_bit_logp(1)). */
  bit(): boolean {
    const s = Math.floor(this.rng / 2);
    const one = this.val < s;
    if (!one) this.val -= s;
    this.rng = one ? s : this.rng - s;
    this.normalize();
    return one;
  }

  private byte(): number {
    return this.offset < this.data.length ? this.data[this.offset++]! : 0;
  }

  private normalize(): void {
    while (this.rng <= 2 ** 23) {
      this.rng *= 256;
      const previous = this.rem;
      this.rem = this.byte();
      const sym = ((previous << 8) | this.rem) >> 1;
      this.val = (this.val * 256 + (255 & ~sym)) % 2 ** 31;
    }
  }
}
