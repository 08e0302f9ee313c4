import { describe, expect, it } from "vitest";
import { isKeyframeStart } from "../../src/media/keyframe.ts";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const concat = (...parts: (Uint8Array | number[])[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/** Every strict prefix, and the whole payload: never throws; true exactly for lengths >= minTrueLength. */
function expectPrefixes(codec: string, payload: Uint8Array, minTrueLength: number): void {
  for (let len = 0; len <= payload.length; len++) {
    const prefix = payload.subarray(0, len);
    let result: boolean | undefined;
    expect(() => (result = isKeyframeStart(codec, prefix)), `${codec} length ${len}`).not.toThrow();
    expect(result, `${codec} prefix of length ${len}/${payload.length}`).toBe(len >= minTrueLength);
  }
}

// ---------------------------------------------------------------------------------------------
// VP8
// ---------------------------------------------------------------------------------------------

/** Key frame payload header: frame tag with P = 0 (0x50: show_frame, version 0), start code, 640x480. */
const VP8_KEY_HEADER = [0x50, 0x2c, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
/** Inter frame payload header: frame tag with P = 1. */
const VP8_DELTA_HEADER = [0x31, 0x0a, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde];

interface Vp8Descriptor {
  start?: boolean;
  partitionId?: number;
  nonReference?: boolean;
  /** Present: X bit set with these extensions. */
  ext?: { pictureId?: 7 | 15; tl0?: boolean; tid?: boolean; keyIdx?: boolean };
}

function vp8Descriptor(d: Vp8Descriptor = {}): number[] {
  const out: number[] = [];
  const { start = true, partitionId = 0, nonReference = false, ext } = d;
  out.push((ext ? 0x80 : 0) | (nonReference ? 0x20 : 0) | (start ? 0x10 : 0) | (partitionId & 0x07));
  if (ext) {
    const { pictureId, tl0 = false, tid = false, keyIdx = false } = ext;
    out.push((pictureId ? 0x80 : 0) | (tl0 ? 0x40 : 0) | (tid ? 0x20 : 0) | (keyIdx ? 0x10 : 0));
    // Values chosen so that a parser that skips a byte too few or too many lands on non-key bits.
    if (pictureId === 7) out.push(0x35);
    if (pictureId === 15) out.push(0x80 | 0x12, 0x35);
    if (tl0) out.push(0x51);
    if (tid || keyIdx) out.push(0x71);
  }
  return out;
}

function vp8ExtensionCombinations(): Vp8Descriptor["ext"][] {
  const combos: Vp8Descriptor["ext"][] = [undefined];
  for (const pictureId of [undefined, 7, 15] as const) {
    for (const tl0 of [false, true]) {
      for (const tid of [false, true]) {
        for (const keyIdx of [false, true]) {
          combos.push({ ...(pictureId ? { pictureId } : {}), tl0, tid, keyIdx });
        }
      }
    }
  }
  return combos;
}

describe("isKeyframeStart: VP8", () => {
  const combos = vp8ExtensionCombinations();

  it("covers no extension and all 24 X-extension combinations", () => {
    expect(combos).toHaveLength(25);
  });

  for (const ext of combos) {
    const label = ext ? JSON.stringify(ext) : "no X";
    it(`key frame start with ${label}`, () => {
      const desc = vp8Descriptor({ ext });
      expect(isKeyframeStart("video/VP8", concat(desc, VP8_KEY_HEADER))).toBe(true);
    });

    it(`delta frame start with ${label}`, () => {
      const desc = vp8Descriptor({ ext });
      expect(isKeyframeStart("video/VP8", concat(desc, VP8_DELTA_HEADER))).toBe(false);
    });

    it(`continuation packet (S = 0) of a key frame with ${label}`, () => {
      const desc = vp8Descriptor({ ext, start: false });
      expect(isKeyframeStart("video/VP8", concat(desc, VP8_KEY_HEADER))).toBe(false);
    });

    it(`truncated key frame packets with ${label}: false below the 6-byte frame header, never throw`, () => {
      const desc = vp8Descriptor({ ext });
      expectPrefixes("video/VP8", concat(desc, VP8_KEY_HEADER), desc.length + 6);
    });
  }

  it("the non-reference (N) bit does not matter", () => {
    expect(isKeyframeStart("video/VP8", concat(vp8Descriptor({ nonReference: true }), VP8_KEY_HEADER))).toBe(true);
  });

  it("start of a partition other than 0 is not a key frame start", () => {
    for (let pid = 1; pid <= 7; pid++) {
      const p = concat(vp8Descriptor({ partitionId: pid }), VP8_KEY_HEADER);
      expect(isKeyframeStart("video/VP8", p)).toBe(false);
    }
  });

  it("P = 0 without the key frame start code is rejected", () => {
    const p = concat(vp8Descriptor(), [0x50, 0x2c, 0x00, 0x9d, 0x01, 0x2b, 0, 0, 0, 0]);
    expect(isKeyframeStart("video/VP8", p)).toBe(false);
  });

  it("an X bit whose extension byte is missing is false", () => {
    expect(isKeyframeStart("video/VP8", bytes(0x90))).toBe(false);
    expect(isKeyframeStart("video/VP8", bytes(0x90, 0x80))).toBe(false);
    expect(isKeyframeStart("video/VP8", bytes(0x90, 0x80, 0x80))).toBe(false);
  });

  it("the wrong PictureID length (M bit) makes the frame tag land elsewhere", () => {
    // Claims a 15-bit PictureID but carries 7 bits: the key frame tag is read one byte late.
    const p = concat([0x90, 0x80, 0x80 | 0x05], VP8_KEY_HEADER);
    expect(isKeyframeStart("video/VP8", p)).toBe(false);
  });

  it("works on a Buffer view with a byte offset", () => {
    const backing = Buffer.from(concat([0xff, 0xff, 0xff], vp8Descriptor({ ext: { pictureId: 15 } }), VP8_KEY_HEADER));
    expect(isKeyframeStart("video/VP8", backing.subarray(3))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// VP9
// ---------------------------------------------------------------------------------------------

/** Uncompressed header first bytes, profile 0: frame_marker 10, profile 00, show_existing 0, frame_type 0. */
const VP9_KEY = [0x82, 0x49, 0x83, 0x42, 0x00, 0x27, 0xf0, 0x1d];
/** Profile 0 non-key frame (frame_type 1). */
const VP9_DELTA = [0x86, 0x00, 0x40, 0x92, 0x11, 0x22];

interface Vp9Descriptor {
  pictureId?: 7 | 15;
  interPredicted?: boolean;
  /** Present: L bit set; the layer index byte carries these ids. */
  layer?: { tid: number; sid: number };
  flexible?: boolean;
  begin?: boolean;
  end?: boolean;
  /** Present: V bit set with this scalability structure. */
  ss?: { spatialLayers: number; resolutions: boolean; pictureGroup?: number[] };
  /** P_DIFF values (flexible mode with P = 1). */
  pDiffs?: number[];
}

function vp9Descriptor(d: Vp9Descriptor = {}): number[] {
  const { pictureId, interPredicted = false, layer, flexible = false, begin = true, end = true, ss, pDiffs = [] } = d;
  const out: number[] = [
    (pictureId ? 0x80 : 0) |
      (interPredicted ? 0x40 : 0) |
      (layer ? 0x20 : 0) |
      (flexible ? 0x10 : 0) |
      (begin ? 0x08 : 0) |
      (end ? 0x04 : 0) |
      (ss ? 0x02 : 0),
  ];
  if (pictureId === 7) out.push(0x2a);
  if (pictureId === 15) out.push(0x80 | 0x01, 0x2a);
  if (layer) {
    out.push(((layer.tid & 7) << 5) | ((layer.sid & 7) << 1));
    if (!flexible) out.push(0x17); // TL0PICIDX
  }
  if (flexible && interPredicted) {
    pDiffs.forEach((diff, i) => out.push(((diff & 0x7f) << 1) | (i < pDiffs.length - 1 ? 1 : 0)));
  }
  if (ss) {
    const groups = ss.pictureGroup;
    out.push(((ss.spatialLayers - 1) << 5) | (ss.resolutions ? 0x10 : 0) | (groups ? 0x08 : 0));
    if (ss.resolutions) {
      for (let i = 0; i < ss.spatialLayers; i++) out.push(0x02, 0x80, 0x01, 0xe0); // 640x480
    }
    if (groups) {
      out.push(groups.length);
      for (const refs of groups) {
        out.push((0 << 5) | 0x10 | ((refs & 3) << 2));
        for (let r = 0; r < refs; r++) out.push(0x02); // P_DIFF 1
      }
    }
  }
  return out;
}

describe("isKeyframeStart: VP9", () => {
  const cases: [string, Vp9Descriptor][] = [
    ["minimal descriptor", {}],
    ["7-bit picture id", { pictureId: 7 }],
    ["15-bit picture id", { pictureId: 15 }],
    ["non-flexible, layer indices + TL0PICIDX", { pictureId: 15, layer: { tid: 0, sid: 0 } }],
    ["flexible, layer indices", { pictureId: 15, flexible: true, layer: { tid: 0, sid: 0 } }],
    ["flexible, no layer indices", { pictureId: 7, flexible: true }],
    ["SS with resolutions, 1 layer", { pictureId: 15, ss: { spatialLayers: 1, resolutions: true } }],
    [
      "SS with resolutions, 3 layers, picture group",
      {
        pictureId: 15,
        layer: { tid: 0, sid: 0 },
        ss: { spatialLayers: 3, resolutions: true, pictureGroup: [0, 1, 2, 3] },
      },
    ],
    ["SS without resolutions, empty picture group", { ss: { spatialLayers: 2, resolutions: false, pictureGroup: [] } }],
    ["SS, flexible mode", { flexible: true, layer: { tid: 0, sid: 0 }, ss: { spatialLayers: 2, resolutions: true } }],
    ["begin but not end of frame", { pictureId: 7, end: false }],
  ];

  for (const [label, d] of cases) {
    it(`key frame start: ${label}`, () => {
      expect(isKeyframeStart("video/VP9", concat(vp9Descriptor(d), VP9_KEY))).toBe(true);
    });

    it(`truncated key frame packets: ${label}`, () => {
      const desc = vp9Descriptor(d);
      expectPrefixes("video/VP9", concat(desc, VP9_KEY), desc.length + 1);
    });

    it(`not the first packet (B = 0): ${label}`, () => {
      expect(isKeyframeStart("video/VP9", concat(vp9Descriptor({ ...d, begin: false }), VP9_KEY))).toBe(false);
    });

    it(`inter-predicted (P = 1): ${label}`, () => {
      const desc = vp9Descriptor({ ...d, interPredicted: true, pDiffs: d.flexible ? [1, 2] : [] });
      expect(isKeyframeStart("video/VP9", concat(desc, VP9_DELTA))).toBe(false);
    });
  }

  it("upper spatial layers of a key picture are not a key frame start", () => {
    for (const flexible of [false, true]) {
      for (let sid = 1; sid <= 7; sid++) {
        const p = concat(vp9Descriptor({ pictureId: 15, flexible, layer: { tid: 0, sid } }), VP9_KEY);
        expect(isKeyframeStart("video/VP9", p)).toBe(false);
      }
    }
  });

  it("a higher temporal id does not matter", () => {
    const p = concat(vp9Descriptor({ pictureId: 7, layer: { tid: 2, sid: 0 } }), VP9_KEY);
    expect(isKeyframeStart("video/VP9", p)).toBe(true);
  });

  it("P = 0 but the bitstream is not a key frame (intra-only / non-key frame_type) is false", () => {
    expect(isKeyframeStart("video/VP9", concat(vp9Descriptor(), VP9_DELTA))).toBe(false);
  });

  it("reads the frame type in every profile", () => {
    const desc = vp9Descriptor({ pictureId: 7 });
    // profile 1 (low bit), 2 (high bit), 3 (both + reserved_zero)
    expect(isKeyframeStart("video/VP9", concat(desc, [0xa2, 0x49, 0x83, 0x42]))).toBe(true);
    expect(isKeyframeStart("video/VP9", concat(desc, [0xa6, 0x00]))).toBe(false);
    expect(isKeyframeStart("video/VP9", concat(desc, [0x92, 0x49, 0x83, 0x42]))).toBe(true);
    expect(isKeyframeStart("video/VP9", concat(desc, [0x96, 0x00]))).toBe(false);
    expect(isKeyframeStart("video/VP9", concat(desc, [0xb1, 0x24, 0xc1, 0xa1]))).toBe(true);
    expect(isKeyframeStart("video/VP9", concat(desc, [0xb3, 0x00]))).toBe(false);
    // profile 3 with reserved_zero set: invalid
    expect(isKeyframeStart("video/VP9", concat(desc, [0xb9, 0x00]))).toBe(false);
  });

  it("show_existing_frame is false", () => {
    expect(isKeyframeStart("video/VP9", concat(vp9Descriptor(), [0x88]))).toBe(false);
  });

  it("a payload without the VP9 frame marker is false", () => {
    for (const first of [0x02, 0x42, 0xc2]) {
      expect(isKeyframeStart("video/VP9", concat(vp9Descriptor(), [first, 0x49, 0x83, 0x42]))).toBe(false);
    }
  });

  it("a descriptor with nothing after it is false", () => {
    expect(isKeyframeStart("video/VP9", bytes(0x0c))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// H264
// ---------------------------------------------------------------------------------------------

const SPS = [0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01];
const PPS = [0x68, 0xce, 0x3c, 0x80];
const IDR = [0x65, 0x88, 0x84, 0x00, 0x33];
const NON_IDR = [0x41, 0x9a, 0x02, 0x11];
const SEI = [0x06, 0x05, 0x10];
const AUD = [0x09, 0xf0];

/** STAP-A (NRI 3) aggregating these NAL units. */
function stapA(...units: number[][]): Uint8Array {
  return concat([0x78], ...units.map((u) => [u.length >> 8, u.length & 0xff, ...u]));
}

/** FU-A (NRI 3) fragment of a NAL unit of `type`. */
function fuA(type: number, start: boolean, end: boolean, fragment: number[] = [0x88, 0x84, 0x00]): Uint8Array {
  return concat([0x7c, (start ? 0x80 : 0) | (end ? 0x40 : 0) | (type & 0x1f)], fragment);
}

describe("isKeyframeStart: H264", () => {
  it("single NAL unit: IDR and SPS are key frame starts", () => {
    expect(isKeyframeStart("video/H264", bytes(...IDR))).toBe(true);
    expect(isKeyframeStart("video/H264", bytes(...SPS))).toBe(true);
    // NRI does not matter
    expect(isKeyframeStart("video/H264", bytes(0x05, 0x88))).toBe(true);
    expect(isKeyframeStart("video/H264", bytes(0x27, 0x42))).toBe(true);
  });

  it("single NAL unit: other types are not", () => {
    for (const nal of [NON_IDR, PPS, SEI, AUD, [0x61, 0x00], [0x6a, 0x00]]) {
      expect(isKeyframeStart("video/H264", bytes(...nal)), `type ${nal[0]! & 0x1f}`).toBe(false);
    }
  });

  it("every single NAL unit type 1-23: true only for 5 and 7", () => {
    for (let type = 1; type <= 23; type++) {
      expect(isKeyframeStart("video/H264", bytes(0x60 | type, 0x00, 0x00)), `type ${type}`).toBe(type === 5 || type === 7);
    }
  });

  it("a NAL header alone (no payload byte) is false", () => {
    expect(isKeyframeStart("video/H264", bytes(0x65))).toBe(false);
    expect(isKeyframeStart("video/H264", bytes(0x67))).toBe(false);
  });

  it("the forbidden F bit makes the packet malformed", () => {
    expect(isKeyframeStart("video/H264", bytes(0x80 | 0x65, 0x88))).toBe(false);
    expect(isKeyframeStart("video/H264", concat([0x80 | 0x7c, 0x85], [0x88]))).toBe(false);
    expect(isKeyframeStart("video/H264", concat([0xf8], [0, SPS.length, ...SPS]))).toBe(false);
  });

  it("STAP-A with SPS, PPS, IDR is a key frame start", () => {
    expect(isKeyframeStart("video/H264", stapA(SPS, PPS, IDR))).toBe(true);
  });

  it("STAP-A with SPS + PPS only, or with an IDR only, is a key frame start", () => {
    expect(isKeyframeStart("video/H264", stapA(SPS, PPS))).toBe(true);
    expect(isKeyframeStart("video/H264", stapA(SEI, IDR))).toBe(true);
  });

  it("STAP-A without SPS or IDR is not", () => {
    expect(isKeyframeStart("video/H264", stapA(PPS, SEI))).toBe(false);
    expect(isKeyframeStart("video/H264", stapA(AUD, NON_IDR))).toBe(false);
  });

  it("STAP-A that is malformed is false even when it contains an SPS", () => {
    // declared size runs past the end
    expect(isKeyframeStart("video/H264", concat([0x78, 0x00, 0x10], SPS))).toBe(false);
    // zero-size unit
    expect(isKeyframeStart("video/H264", concat(stapA(SPS), [0x00, 0x00]))).toBe(false);
    // dangling single size byte
    expect(isKeyframeStart("video/H264", concat(stapA(SPS), [0x00]))).toBe(false);
    // no units at all
    expect(isKeyframeStart("video/H264", bytes(0x78))).toBe(false);
    // aggregated unit with F bit
    expect(isKeyframeStart("video/H264", stapA([0x80 | 0x67, 0x42]))).toBe(false);
    // aggregated SPS that is only a header
    expect(isKeyframeStart("video/H264", stapA([0x67]))).toBe(false);
  });

  it("truncated STAP-A: true only where a prefix ends on a unit boundary after the SPS, never throws", () => {
    const p = stapA(SPS, PPS, IDR);
    const afterSps = 1 + 2 + SPS.length;
    const afterPps = afterSps + 2 + PPS.length;
    const boundaries = new Set([afterSps, afterPps, p.length]);
    for (let len = 0; len <= p.length; len++) {
      expect(isKeyframeStart("video/H264", p.subarray(0, len)), `length ${len}`).toBe(boundaries.has(len));
    }
  });

  it("truncated STAP-A whose IDR comes last: true only when complete", () => {
    const p = stapA(AUD, IDR);
    expectPrefixes("video/H264", p, p.length);
  });

  it("FU-A start fragment of an IDR or SPS is a key frame start", () => {
    expect(isKeyframeStart("video/H264", fuA(5, true, false))).toBe(true);
    expect(isKeyframeStart("video/H264", fuA(7, true, false))).toBe(true);
  });

  it("FU-A middle and end fragments of an IDR are not", () => {
    expect(isKeyframeStart("video/H264", fuA(5, false, false))).toBe(false);
    expect(isKeyframeStart("video/H264", fuA(5, false, true))).toBe(false);
  });

  it("FU-A start fragment of a non-IDR slice is not", () => {
    expect(isKeyframeStart("video/H264", fuA(1, true, false))).toBe(false);
    expect(isKeyframeStart("video/H264", fuA(8, true, false))).toBe(false);
  });

  it("FU-A with both S and E set is malformed", () => {
    expect(isKeyframeStart("video/H264", fuA(5, true, true))).toBe(false);
  });

  it("truncated FU-A: needs indicator, header and one byte of fragment", () => {
    expectPrefixes("video/H264", fuA(5, true, false), 3);
  });

  it("truncated single NAL units", () => {
    expectPrefixes("video/H264", bytes(...IDR), 2);
    expectPrefixes("video/H264", bytes(...SPS), 2);
  });

  it("STAP-B, MTAP, FU-B and reserved types are false", () => {
    for (const type of [0, 25, 26, 27, 29, 30, 31]) {
      const p = concat([0x60 | type, 0x80 | 5], [0x00, SPS.length, ...SPS]);
      expect(isKeyframeStart("video/H264", p), `type ${type}`).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Codecs, garbage
// ---------------------------------------------------------------------------------------------

describe("isKeyframeStart: codec names and garbage", () => {
  const vp8Key = concat(vp8Descriptor(), VP8_KEY_HEADER);

  it("codec MIME types are case-insensitive", () => {
    for (const mime of ["video/VP8", "video/vp8", "VIDEO/VP8", " video/VP8 "]) {
      expect(isKeyframeStart(mime, vp8Key), mime).toBe(true);
    }
    expect(isKeyframeStart("video/h264", bytes(...IDR))).toBe(true);
    expect(isKeyframeStart("Video/Vp9", concat(vp9Descriptor(), VP9_KEY))).toBe(true);
  });

  it("audio and unknown codecs are always false", () => {
    const payloads = [vp8Key, bytes(...IDR), concat(vp9Descriptor(), VP9_KEY), bytes(), bytes(0xff)];
    for (const mime of ["audio/opus", "audio/PCMU", "video/AV1", "video/H265", "video/rtx", "VP8", "", "video/VP8X"]) {
      for (const p of payloads) expect(isKeyframeStart(mime, p), mime).toBe(false);
    }
  });

  it("each codec's key frame is not recognised under another codec's name", () => {
    expect(isKeyframeStart("video/H264", vp8Key)).toBe(false);
    expect(isKeyframeStart("video/VP8", bytes(...IDR))).toBe(false);
  });

  it("empty payloads are false for every codec", () => {
    for (const mime of ["video/VP8", "video/VP9", "video/H264", "audio/opus"]) {
      expect(isKeyframeStart(mime, new Uint8Array(0))).toBe(false);
    }
  });

  it("random payloads never throw", () => {
    let seed = 0x12345678;
    const next = (): number => {
      // xorshift32
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (const mime of ["video/VP8", "video/VP9", "video/H264"]) {
      for (let n = 0; n < 5000; n++) {
        const p = new Uint8Array(next() % 48);
        for (let i = 0; i < p.length; i++) p[i] = next() & 0xff;
        expect(typeof isKeyframeStart(mime, p)).toBe("boolean");
      }
    }
  });

  it("all-0xff and all-0x00 payloads of every length never throw and are false", () => {
    for (const mime of ["video/VP8", "video/VP9", "video/H264"]) {
      for (let len = 0; len <= 64; len++) {
        expect(isKeyframeStart(mime, new Uint8Array(len).fill(0xff))).toBe(false);
        expect(isKeyframeStart(mime, new Uint8Array(len))).toBe(false);
      }
    }
  });
});
