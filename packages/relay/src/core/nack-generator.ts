/**
 * NackGenerator: loss detection and NACK scheduling for one received RTP stream (one simulcast layer of
 * a publication: each layer has its own sequence space, so each has its own generator).
 *
 * Sequence numbers are extended (16-bit wrap counted), so tracking survives 65535 → 0. A gap is not
 * NACKed at once: packets arrive out of order on real paths, and a NACK for a packet that is only late
 * costs the publisher a needless resend. A missing packet is NACKed once it is older than the reorder
 * window: REORDER_PACKETS newer packets arrived after it, or REORDER_MS passed since the gap was seen.
 * Then it is NACKed again every round trip (the resend had time to arrive), at most MAX_NACKS times;
 * one not recovered by then, or older than MAX_AGE_MS, is given up: the caller asks for a keyframe
 * instead, since the decoder cannot go on without it. So is a gap wider than MAX_MISSING (the stream
 * restarted or a long burst was lost): NACKing a whole second of video is worse than one keyframe.
 *
 * Pure bookkeeping, time passed in: `receive` per packet, `collect` (NACKs due now) after it and when
 * woken at `deadline`.
 */
import { seqDelta } from "./sequence-rewriter.ts";
import type { Millis } from "./types.ts";

/** Newer packets after a gap before it counts as lost (deeper reordering is rare). */
export const REORDER_PACKETS = 10;
/** Time after a gap is seen before it counts as lost, for streams too slow to fill REORDER_PACKETS soon. */
export const REORDER_MS = 30;
/** NACKs per missing packet at most. */
export const MAX_NACKS = 3;
/** A retry never sooner than this after the previous NACK, however short the round trip. */
export const MIN_RETRY_MS = 20;
/** A packet missing this long is of no use to a decoder any more: given up. */
export const MAX_AGE_MS = 1000;
/** The most missing packets tracked at once; a wider gap is given up at once. */
export const MAX_MISSING = 128;

/** One missing packet. */
interface Missing {
  /** Extended sequence number. */
  seq: number;
  /** When the gap was seen. */
  since: Millis;
  /** When it was last NACKed (-Infinity: not yet). */
  nackedAt: Millis;
  nacks: number;
}

export class NackGenerator {
  /** Extended seq of the newest packet; NaN before the first. Starts at 65536 + seq so older packets stay positive. */
  private newestSeq = NaN;
  /** Missing packets, oldest first. */
  private readonly missing: Missing[] = [];
  /** Losses given up since the last `collect`. */
  private gaveUp = false;

  /** The newest extended sequence number received (NaN before the first packet). */
  get newest(): number {
    return this.newestSeq;
  }

  /** Packets still missing (NACKed or waiting for the reorder window). */
  get missingCount(): number {
    return this.missing.length;
  }

  /** `collect` has something to do: packets missing, or losses given up and not yet reported. */
  get busy(): boolean {
    return this.missing.length > 0 || this.gaveUp;
  }

  /** The extended sequence number of a 16-bit one near the newest (within half the space). */
  extend(seq: number): number {
    return this.newestSeq + seqDelta(seq, this.newestSeq & 0xffff);
  }

  /** One packet arrived (a first send, a resend or a late one). */
  receive(seq: number, now: Millis): void {
    if (Number.isNaN(this.newestSeq)) {
      this.newestSeq = 0x10000 + seq;
      return;
    }
    const ext = this.extend(seq);
    const gap = ext - this.newestSeq - 1;
    if (gap < 0) {
      this.recovered(ext);
      return;
    }
    if (gap > MAX_MISSING) {
      this.missing.length = 0;
      this.gaveUp = true;
    } else {
      for (let s = this.newestSeq + 1; s < ext; s++) this.missing.push({ seq: s, since: now, nackedAt: -Infinity, nacks: 0 });
      if (this.missing.length > MAX_MISSING) {
        this.missing.splice(0, this.missing.length - MAX_MISSING);
        this.gaveUp = true;
      }
    }
    this.newestSeq = ext;
  }

  /**
   * The 16-bit sequence numbers to NACK now (appended to `into`), retries spaced by `rttMs`. Returns
   * true when losses were given up since the last call (the caller asks for a keyframe).
   */
  collect(now: Millis, rttMs: Millis, into: number[]): boolean {
    const retry = Math.max(MIN_RETRY_MS, rttMs);
    let kept = 0;
    for (const m of this.missing) {
      if (now - m.since >= MAX_AGE_MS || (m.nacks >= MAX_NACKS && now - m.nackedAt >= retry)) {
        this.gaveUp = true;
        continue;
      }
      const due = m.nacks === 0 ? this.newestSeq - m.seq >= REORDER_PACKETS || now - m.since >= REORDER_MS : m.nacks < MAX_NACKS && now - m.nackedAt >= retry;
      if (due) {
        into.push(m.seq & 0xffff);
        m.nacks++;
        m.nackedAt = now;
      }
      this.missing[kept++] = m;
    }
    this.missing.length = kept;
    const gaveUp = this.gaveUp;
    this.gaveUp = false;
    return gaveUp;
  }

  /** When `collect` next has something to do (Infinity: nothing missing). */
  deadline(rttMs: Millis): Millis {
    const retry = Math.max(MIN_RETRY_MS, rttMs);
    let at = Infinity;
    for (const m of this.missing) {
      const next = m.nacks === 0 ? m.since + REORDER_MS : m.nackedAt + retry;
      at = Math.min(at, next, m.since + MAX_AGE_MS);
    }
    return at;
  }

  /** Nothing of this stream is wanted now (nobody receives it): forget what is missing. */
  clear(): void {
    this.missing.length = 0;
    this.gaveUp = false;
  }

  private recovered(ext: number): void {
    const i = this.missing.findIndex((m) => m.seq === ext);
    if (i >= 0) this.missing.splice(i, 1);
  }
}
