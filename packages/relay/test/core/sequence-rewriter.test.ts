import { describe, expect, it } from "vitest";
import { SequenceRewriter, seqDelta } from "../../src/core/sequence-rewriter.ts";

/** Feeds packets; returns [seq, timestamp] per packet, or null when dropped. */
function feed(rw: SequenceRewriter, packets: [seq: number, ts: number, now: number][], clockRate = 90000): ([number, number] | null)[] {
  return packets.map(([seq, ts, now]) => (rw.rewrite(seq, ts, now, clockRate) ? [rw.seq, rw.timestamp] : null));
}

describe("seqDelta", () => {
  it("is wrap-aware", () => {
    expect(seqDelta(1, 0)).toBe(1);
    expect(seqDelta(0, 65535)).toBe(1);
    expect(seqDelta(65535, 0)).toBe(-1);
    expect(seqDelta(100, 65500)).toBe(136);
    expect(seqDelta(32767, 0)).toBe(32767);
    expect(seqDelta(32768, 0)).toBe(-32768);
  });
});

describe("SequenceRewriter", () => {
  it("keeps the first layer's seq and timestamp, gaps and reordering", () => {
    const rw = new SequenceRewriter();
    expect(
      feed(rw, [
        [1000, 5000, 0],
        [1001, 5000, 1],
        [1003, 8000, 2], // 1002 lost
        [1005, 8000, 3],
        [1004, 8000, 4], // reordered
      ]),
    ).toEqual([
      [1000, 5000],
      [1001, 5000],
      [1003, 8000],
      [1005, 8000],
      [1004, 8000],
    ]);
  });

  it("drops packets older than the first packet of the layer", () => {
    const rw = new SequenceRewriter();
    expect(feed(rw, [[10, 0, 0], [9, 0, 0], [11, 0, 0], [10, 0, 0], [8, 0, 0]])).toEqual([[10, 0], null, [11, 0], [10, 0], null]);
  });

  it("wraps seq across 65535 -> 0 contiguously, and judges age across the wrap", () => {
    const rw = new SequenceRewriter();
    expect(
      feed(rw, [
        [65534, 100, 0],
        [65535, 100, 0],
        [0, 100, 0],
        [1, 100, 0],
        [65533, 100, 0], // older than the first: dropped
        [65535, 100, 0], // reordered duplicate after the wrap: kept
      ]),
    ).toEqual([[65534, 100], [65535, 100], [0, 100], [1, 100], null, [65535, 100]]);
  });

  it("wraps timestamps across 2^32", () => {
    const rw = new SequenceRewriter();
    const base = 2 ** 32 - 3600;
    const out = feed(rw, [0, 1, 2, 3].map((i) => [i, (base + i * 1800) >>> 0, i * 20] as [number, number, number]));
    expect(out).toEqual([
      [0, 2 ** 32 - 3600],
      [1, 2 ** 32 - 1800],
      [2, 0],
      [3, 1800],
    ]);
  });

  it("continues seq and timestamp at a layer switch, then keeps the new offsets", () => {
    const rw = new SequenceRewriter();
    feed(rw, [[500, 10_000, 100], [501, 13_000, 133]]);
    rw.startLayer();
    expect(
      feed(rw, [
        [9000, 777_000, 153], // first of the new layer: 502, 13000 + 20 ms * 90
        [9001, 777_000, 154],
        [9003, 780_000, 170], // gap stays a gap
        [9002, 780_000, 171], // reordered keeps its place
        [8999, 774_000, 172], // older than the switch point: dropped
      ]),
    ).toEqual([[502, 14_800], [503, 14_800], [505, 17_800], [504, 17_800], null]);
  });

  it("advances the timestamp by at least 1 at a switch with no time elapsed", () => {
    const rw = new SequenceRewriter();
    feed(rw, [[1, 1000, 50]]);
    rw.startLayer();
    expect(feed(rw, [[7, 99, 50]])).toEqual([[2, 1001]]);
    rw.startLayer();
    // Fractional: 0.4 ms at 48 kHz = 19.2 -> 19.
    expect(feed(rw, [[40, 5, 50.4]], 48000)).toEqual([[3, 1020]]);
  });

  it("wraps seq and timestamp at a layer switch", () => {
    const rw = new SequenceRewriter();
    feed(rw, [[65534, 2 ** 32 - 1000, 0], [65535, 2 ** 32 - 1000, 10]]);
    rw.startLayer();
    // 65535 + 1 -> 0; 2^32 - 1000 + 20 ms * 90 = 2^32 + 800 -> 800.
    expect(feed(rw, [[300, 5, 30], [301, 1805, 40], [302, 3605, 60]])).toEqual([[0, 800], [1, 2600], [2, 4400]]);
    rw.startLayer();
    // From a layer whose own input is about to wrap, onto the continued output.
    expect(feed(rw, [[65535, 2 ** 32 - 1, 80], [0, 1799, 100], [1, 3599, 120]])).toEqual([[3, 6200], [4, 8000], [5, 9800]]);
  });

  it("stays contiguous over a long stream wrapping many times", () => {
    const rw = new SequenceRewriter();
    let prev = -1;
    let prevTs = -1;
    let bad = 0;
    for (let i = 0; i < 300_000; i++) {
      // The input of each "layer" has its own origin, as simulcast layers do.
      const origin = i < 100_000 ? 60_000 : i < 200_000 ? 12_345 : 65_000;
      const seq = (origin + i) & 0xffff;
      const ts = (4_000_000_000 + origin * 7 + i * 3000) >>> 0;
      if (i === 100_000 || i === 200_000) rw.startLayer();
      if (!rw.rewrite(seq, ts, i * 33, 90000)) bad++;
      if (prev >= 0 && (rw.seq !== ((prev + 1) & 0xffff) || ((rw.timestamp - prevTs) >>> 0) === 0 || ((rw.timestamp - prevTs) >>> 0) > 3000)) bad++;
      prev = rw.seq;
      prevTs = rw.timestamp;
    }
    expect(bad).toBe(0);
    expect(prev).toBe((60_000 + 299_999) & 0xffff);
  });
});
