import { describe, expect, it } from "vitest";
import { readVp8PictureFields, withVp8PictureFields } from "../../src/media/vp8-picture-id.ts";

/** A descriptor as libwebrtc sends it: X, I with a 15-bit PictureID 0x1234, L (TL0PICIDX 0x56), T/K. */
const FULL = [0x90, 0xe0, 0x80 | 0x12, 0x34, 0x56, 0x40, 0x9d, 0x01, 0x2a];

function read(codec: string, payload: number[]): [number, number] {
  const into = { pictureId: 0, tl0PicIdx: 0 };
  readVp8PictureFields(codec, Uint8Array.from(payload), into);
  return [into.pictureId, into.tl0PicIdx];
}

describe("VP8 PictureID / TL0PICIDX", () => {
  it("reads the 15-bit PictureID and TL0PICIDX; absent fields, 7-bit ids, other codecs and short payloads give -1", () => {
    expect(read("video/VP8", FULL)).toEqual([0x1234, 0x56]);
    expect(read("video/vp8", [0x90, 0x80, 0x80 | 0x7f, 0xff, 0x00])).toEqual([0x7fff, -1]); // I only
    expect(read("video/VP8", [0x90, 0x40, 0x07, 0x00])).toEqual([-1, 0x07]); // L only
    expect(read("video/VP8", [0x90, 0xc0, 0x12, 0x56, 0x00])).toEqual([-1, 0x56]); // 7-bit PictureID: not ours
    expect(read("video/VP8", [0x10, 0x9d, 0x01, 0x2a])).toEqual([-1, -1]); // no X byte
    expect(read("video/H264", FULL)).toEqual([-1, -1]);
    for (let len = 0; len < 5; len++) expect(() => read("video/VP8", FULL.slice(0, len))).not.toThrow();
    expect(read("video/VP8", FULL.slice(0, 3))).toEqual([-1, -1]);
    expect(read("video/VP8", FULL.slice(0, 4))).toEqual([0x1234, -1]);
  });

  it("writes into a copy, leaving the original intact; unchanged or absent fields return the same payload", () => {
    const original = Buffer.from(FULL);
    const written = withVp8PictureFields(original, 0x7ffe, 0x01);
    expect([...written]).toEqual([0x90, 0xe0, 0x80 | 0x7f, 0xfe, 0x01, 0x40, 0x9d, 0x01, 0x2a]);
    expect([...original]).toEqual(FULL);
    expect(withVp8PictureFields(original, 0x1234, 0x56)).toBe(original);
    expect(withVp8PictureFields(original, -1, -1)).toBe(original);
    const noFields = Buffer.from([0x10, 0x9d, 0x01, 0x2a]);
    expect(withVp8PictureFields(noFields, 5, 6)).toBe(noFields);
    expect([...withVp8PictureFields(original, -1, 0x99)]).toEqual([0x90, 0xe0, 0x92, 0x34, 0x99, 0x40, 0x9d, 0x01, 0x2a]);
  });

  it("subscribers of one packet that need the same values share one copy; other values get their own", () => {
    const packet = Buffer.from(FULL);
    const first = withVp8PictureFields(packet, 100, 7);
    expect(withVp8PictureFields(packet, 100, 7)).toBe(first);
    const other = withVp8PictureFields(packet, 101, 7);
    expect(other).not.toBe(first);
    expect(read("video/VP8", [...first])).toEqual([100, 7]);
    expect(read("video/VP8", [...other])).toEqual([101, 7]);
    // The next packet, same values: its own bytes, not the previous packet's.
    const next = Buffer.from(FULL);
    next[8] = 0x77;
    expect(withVp8PictureFields(next, 101, 7)[8]).toBe(0x77);
  });
});
