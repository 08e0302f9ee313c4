/**
 * Sequence number and timestamp continuity for one subscription.
 *
 * A subscriber sees one RTP stream per track even when the relay switches between simulcast layers,
 * which have unrelated sequence numbers and timestamps. Within one layer the output is the input plus
 * fixed offsets (so a gap from loss stays a gap and reordered packets keep their order); at a layer
 * switch new offsets are chosen so that the first packet of the new layer directly follows the last
 * packet sent:
 *
 *   seq       = last output seq + 1
 *   timestamp = last output timestamp + max(1, round(elapsed ms * clockRate / 1000))
 *
 * The very first packet keeps its seq and timestamp (offsets 0). Packets older than the first packet
 * forwarded of the current layer are dropped: with the new offsets they would collide with seq numbers
 * already sent for the previous layer.
 *
 * Arithmetic is modulo 2^16 for seq and 2^32 for timestamps, with wrap-aware ordering.
 */
import type { Millis } from "./types.ts";

/** Signed distance from b to a in 16-bit sequence space, in [-32768, 32767]. */
export function seqDelta(a: number, b: number): number {
  return ((a - b) << 16) >> 16;
}

export class SequenceRewriter {
  /** Output seq of the last packet accepted by `rewrite`. */
  seq = 0;
  /** Output timestamp of the last packet accepted by `rewrite`. */
  timestamp = 0;

  /** Something was forwarded already (so a new layer must continue it). */
  private started = false;
  /** The next packet starts a layer: choose new offsets. */
  private resync = true;
  private seqOffset = 0;
  private tsOffset = 0;
  /** Highest input seq of the current layer (16-bit). */
  private highestSeq = 0;
  /** How far (in packets) highestSeq is past the first packet of the current layer. */
  private sinceFirst = 0;
  /** Output seq/timestamp of the newest packet (highest seq) sent, and when it was sent. */
  private lastSeq = 0;
  private lastTimestamp = 0;
  private lastTime: Millis = 0;

  /** The next packet given to `rewrite` is the first of a new layer (a keyframe of it). */
  startLayer(): void {
    this.resync = true;
  }

  /**
   * Maps one input packet of the current layer. Returns false when it must be dropped (older than the
   * start of the layer); otherwise the output values are in `seq` and `timestamp`.
   */
  rewrite(seq: number, timestamp: number, now: Millis, clockRate: number): boolean {
    if (this.resync) {
      if (this.started) {
        const outSeq = (this.lastSeq + 1) & 0xffff;
        const elapsed = Math.max(1, Math.round(((now - this.lastTime) * clockRate) / 1000));
        const outTimestamp = (this.lastTimestamp + elapsed) >>> 0;
        this.seqOffset = (outSeq - seq) & 0xffff;
        this.tsOffset = (outTimestamp - timestamp) >>> 0;
      }
      this.resync = false;
      this.started = true;
      this.highestSeq = seq;
      this.sinceFirst = 0;
      return this.accept(seq, timestamp, now, true);
    }
    const delta = seqDelta(seq, this.highestSeq);
    if (delta > 0) {
      this.highestSeq = seq;
      this.sinceFirst += delta;
      return this.accept(seq, timestamp, now, true);
    }
    // Reordered or duplicate: still forwarded, unless it predates the start of the layer.
    if (this.sinceFirst + delta < 0) return false;
    return this.accept(seq, timestamp, now, false);
  }

  /** The input seq that this output seq was in the current layer (the inverse of `rewrite`, for NACKs). */
  inputSeq(outputSeq: number): number {
    return (outputSeq - this.seqOffset) & 0xffff;
  }

  private accept(seq: number, timestamp: number, now: Millis, newest: boolean): boolean {
    this.seq = (seq + this.seqOffset) & 0xffff;
    this.timestamp = (timestamp + this.tsOffset) >>> 0;
    if (newest) {
      this.lastSeq = this.seq;
      this.lastTimestamp = this.timestamp;
      this.lastTime = now;
    }
    return true;
  }
}
