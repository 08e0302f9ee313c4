/**
 * RetransmissionHistory: what one subscription was sent, by the sequence numbers the subscriber saw.
 *
 * A subscriber NACKs the *rewritten* sequence numbers of its stream (sequence-rewriter.ts), which across
 * layer switches map to different layers and offsets: so the answer is looked up per forwarded stream,
 * not per publication. Each entry says which packet of the publication (layer, publisher's seq) went out
 * as that seq, with the rewritten header values to send it again with, and when it was last resent,
 * for the once-per-round-trip rule. The bytes are not here (the core has none): the shell keeps the last
 * HISTORY_PER_LAYER packets of each layer of each publication, at `historySlot(layer, seq)`.
 *
 * Fixed-size typed arrays indexed by seq modulo the size: recording is the hot path (once per forward).
 */
import type { ProbeOutput, RetransmitOutput } from "./outputs.ts";
import type { Subscription } from "./subscription.ts";
import type { Millis } from "./types.ts";

/** Packets kept per layer of a publication (the shell's store) and forwards remembered per subscription. */
export const HISTORY_PER_LAYER = 512;
const MASK = HISTORY_PER_LAYER - 1;

/** Where the shell keeps (and finds) a received packet of a publication. */
export function historySlot(layer: number, seq: number): number {
  return layer * HISTORY_PER_LAYER + (seq & MASK);
}

/** One forwarded packet, as `find` returns it (a reused object: read it before the next call). */
export interface SentPacket {
  layer: number;
  /** The publisher's sequence number (16-bit). */
  sourceSeq: number;
  seq: number;
  timestamp: number;
  marker: boolean;
  pictureId: number;
  tl0PicIdx: number;
  /** Payload bytes. */
  size: number;
  /** When it was last resent (-Infinity: never). */
  resentAt: Millis;
}

/** The output that sends `sent` (found in `sub`'s history) to its subscriber again: a resend or a probe's padding. */
export function sendAgain<T extends "retransmit" | "probe">(type: T, sub: Subscription, sent: SentPacket): Extract<RetransmitOutput | ProbeOutput, { type: T }> {
  return {
    type,
    subscriptionId: sub.id,
    subscriberId: sub.subscriber.id,
    trackId: sub.publication.id,
    slot: historySlot(sent.layer, sent.sourceSeq),
    sourceSeq: sent.sourceSeq,
    seq: sent.seq,
    timestamp: sent.timestamp,
    marker: sent.marker,
    pictureId: sent.pictureId,
    tl0PicIdx: sent.tl0PicIdx,
  } as Extract<RetransmitOutput | ProbeOutput, { type: T }>;
}

export class RetransmissionHistory {
  /** Output seq of each entry; -1: empty. */
  private readonly seqs = new Int32Array(HISTORY_PER_LAYER).fill(-1);
  private readonly layers = new Uint8Array(HISTORY_PER_LAYER);
  private readonly sourceSeqs = new Uint16Array(HISTORY_PER_LAYER);
  private readonly timestamps = new Uint32Array(HISTORY_PER_LAYER);
  private readonly markers = new Uint8Array(HISTORY_PER_LAYER);
  private readonly pictureIds = new Int32Array(HISTORY_PER_LAYER);
  private readonly tl0PicIdxs = new Int16Array(HISTORY_PER_LAYER);
  private readonly sizes = new Uint16Array(HISTORY_PER_LAYER);
  private readonly resentAts = new Float64Array(HISTORY_PER_LAYER);
  private readonly found: SentPacket = { layer: 0, sourceSeq: 0, seq: 0, timestamp: 0, marker: false, pictureId: -1, tl0PicIdx: -1, size: 0, resentAt: -Infinity };

  /** The hot path: packet `sourceSeq` of `layer` went out as `seq` with these values. */
  record(seq: number, layer: number, sourceSeq: number, timestamp: number, marker: boolean, pictureId: number, tl0PicIdx: number, size: number): void {
    const i = seq & MASK;
    if (this.seqs[i] === seq) return; // a late duplicate: keep the resend time of the first
    this.seqs[i] = seq;
    this.layers[i] = layer;
    this.sourceSeqs[i] = sourceSeq;
    this.timestamps[i] = timestamp;
    this.markers[i] = marker ? 1 : 0;
    this.pictureIds[i] = pictureId;
    this.tl0PicIdxs[i] = tl0PicIdx;
    this.sizes[i] = size;
    this.resentAts[i] = -Infinity;
  }

  /** What went out as `seq`, if it is still remembered. */
  find(seq: number): SentPacket | undefined {
    const i = seq & MASK;
    if (this.seqs[i] !== seq) return undefined;
    const f = this.found;
    f.layer = this.layers[i]!;
    f.sourceSeq = this.sourceSeqs[i]!;
    f.seq = seq;
    f.timestamp = this.timestamps[i]!;
    f.marker = this.markers[i] === 1;
    f.pictureId = this.pictureIds[i]!;
    f.tl0PicIdx = this.tl0PicIdxs[i]!;
    f.size = this.sizes[i]!;
    f.resentAt = this.resentAts[i]!;
    return f;
  }

  /** `seq` was resent now. */
  resent(seq: number, now: Millis): void {
    const i = seq & MASK;
    if (this.seqs[i] === seq) this.resentAts[i] = now;
  }
}
