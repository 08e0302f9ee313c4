import { describe, expect, it } from "vitest";
import { asRedPayload, redPrimary, withRedBlockPayloadType } from "../../src/media/red.ts";

// What Chromium sends with `a=fmtp:63 111/111`: one redundant Opus frame (960 ticks earlier, 3 bytes),
// then the primary (4 bytes).
const red = Buffer.from([0x80 | 111, 0x0f, 0x00, 0x03, 111, 0xa1, 0xa2, 0xa3, 0xb1, 0xb2, 0xb3, 0xb4]);

describe("RED payloads (RFC 2198)", () => {
  it("reads the primary block after the redundant ones", () => {
    expect([...redPrimary(red)!]).toEqual([0xb1, 0xb2, 0xb3, 0xb4]);
    // Two redundant blocks (lengths 2 and 1), as with a redundancy distance of 2.
    const two = Buffer.from([0xef, 0x1e, 0x00, 0x02, 0xef, 0x0f, 0x00, 0x01, 0x6f, 1, 2, 3, 9, 8]);
    expect([...redPrimary(two)!]).toEqual([9, 8]);
    // No redundancy: the primary alone.
    expect([...redPrimary(Buffer.from([111, 7, 7]))!]).toEqual([7, 7]);
    // A block length over 255 (10 bits).
    const long = Buffer.concat([Buffer.from([0xef, 0x0f, 0x01, 0x01, 0x6f]), Buffer.alloc(257, 1), Buffer.from([5])]);
    expect([...redPrimary(long)!]).toEqual([5]);
  });

  it("refuses what is not well-formed RED: a cut header, blocks longer than the payload, an empty primary", () => {
    expect(redPrimary(Buffer.alloc(0))).toBeUndefined();
    expect(redPrimary(Buffer.from([0x80 | 111, 0x0f, 0x00]))).toBeUndefined();
    expect(redPrimary(Buffer.from([0x80 | 111, 0x0f, 0x00, 0x09, 111, 1, 2]))).toBeUndefined();
    expect(redPrimary(Buffer.from([111]))).toBeUndefined();
    expect(withRedBlockPayloadType(Buffer.from([0x80 | 111, 0x0f]), 100)).toBeUndefined();
  });

  it("renumbers every block's payload type in a copy, and copies nothing when they already match", () => {
    const renumbered = withRedBlockPayloadType(red, 100)!;
    expect([...renumbered]).toEqual([0x80 | 100, 0x0f, 0x00, 0x03, 100, 0xa1, 0xa2, 0xa3, 0xb1, 0xb2, 0xb3, 0xb4]);
    expect(red[0]).toBe(0x80 | 111); // the publisher's packet is shared by every subscriber: untouched
    expect(withRedBlockPayloadType(red, 111)).toBe(red);
  });

  it("wraps a plain frame as a RED payload of one primary block, which reads back as the frame", () => {
    const frame = Buffer.from([0x78, 1, 2, 3]);
    const wrapped = asRedPayload(frame, 111);
    expect([...wrapped]).toEqual([111, 0x78, 1, 2, 3]);
    expect(redPrimary(wrapped)!.equals(frame)).toBe(true);
  });
});
