/**
 * VP8 frame numbering (PictureID, TL0PICIDX) across simulcast switches. Chromium numbers its low and
 * middle layers identically (the same PictureID and TL0PICIDX for the same captured frame) and sends a
 * frame's layers lowest first. A subscriber switching from low to medium got the middle layer's
 * keyframe with the PictureID of the low frame it had just received: Chromium dropped the keyframe as
 * a duplicate and decoded the middle layer's delta frames against the low layer's pictures, so the
 * subscriber kept showing 320 px (simulcast.e2e.ts: "medium subscriber: no medium frames within 30 s").
 */
import { describe, expect, it } from "vitest";
import { PictureIdRewriter } from "../../src/core/picture-id-rewriter.ts";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import type { ForwardOutput } from "../../src/core/index.ts";
import { newCore, published, rtp, stepAll, video } from "./harness.ts";

/** Per layer q/h/f: first PictureID and TL0PICIDX, as a Chromium publisher numbers them (q and h alike). */
const FIRST_PICTURE_ID = [4016, 4016, 6972];
const FIRST_TL0 = [31, 31, 147];

function setup(): { core: SfuCore; sub: number } {
  const core = newCore({ keyframeRequestIntervalMs: 100 });
  stepAll(core, { type: "join", now: 0, participantId: "pub", requestId: "j", room: "r", name: "", autoSubscribe: true });
  stepAll(core, { type: "join", now: 0, participantId: "s", requestId: "j", room: "r", name: "", autoSubscribe: true });
  published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", ["q", "h", "f"])] });
  const sub = core.subscriptionOf("s", "cam")!;
  stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: sub });
  stepAll(core, { type: "subscription-settings", now: 0, participantId: "s", requestId: "q", trackId: "cam", settings: { quality: "medium" } });
  return { core, sub };
}

/**
 * Captured frame n (10 fps, three temporal layers: a base frame every 4th) on every layer, lowest
 * first, one packet each; keyframes when `keyframe`. Returns what the subscriber got.
 */
function frame(core: SfuCore, n: number, keyframe: boolean): ForwardOutput[] {
  const got: ForwardOutput[] = [];
  for (let layer = 0; layer < 3; layer++) {
    const input = rtp("pub", "cam", {
      now: n * 100 + layer,
      layer,
      seq: 1000 * layer + n,
      timestamp: 9000 * n,
      marker: true,
      keyframe,
      pictureId: (FIRST_PICTURE_ID[layer]! + n) & 0x7fff,
      tl0PicIdx: (FIRST_TL0[layer]! + Math.floor(n / 4)) & 0xff,
    });
    for (const out of stepAll(core, input)) if (out.type === "forward") got.push(out);
  }
  return got;
}

describe("VP8 PictureID and TL0PICIDX across layer switches", () => {
  it("medium -> low -> medium: every frame the subscriber gets has the next PictureID, and TL0PICIDX never goes back", () => {
    const { core, sub } = setup();
    const got: ForwardOutput[] = [];
    let n = 0;
    // Keyframes on every layer (what a PLI gets from Chromium) at the start and after each quality change.
    for (; n < 6; n++) got.push(...frame(core, n, n === 0));
    expect(core.subscription(sub)?.currentLayer).toBe(1);
    stepAll(core, { type: "subscription-settings", now: n * 100, participantId: "s", requestId: "q", trackId: "cam", settings: { quality: "low" } });
    for (const end = n + 6; n < end; n++) got.push(...frame(core, n, n === 7));
    expect(core.subscription(sub)?.currentLayer).toBe(0);
    stepAll(core, { type: "subscription-settings", now: n * 100, participantId: "s", requestId: "q", trackId: "cam", settings: { quality: "medium" } });
    const switchBack = n + 1;
    for (const end = n + 6; n < end; n++) got.push(...frame(core, n, n === switchBack));
    expect(core.subscription(sub)?.currentLayer).toBe(1);

    // One packet per frame: h for frames 0-6, q for 7-13; at 13 the q frame is followed by h's keyframe
    // of the same captured frame (Chromium sends layers lowest first), then h.
    expect(got).toHaveLength(n + 1);
    const first = got[0]!.pictureId;
    expect(first).toBe(FIRST_PICTURE_ID[1]); // the first layer keeps its numbering
    expect(got.map((f) => f.pictureId)).toEqual(got.map((_, i) => (first + i) & 0x7fff));
    got.slice(1).forEach((f, i) => {
      const step = (f.tl0PicIdx - got[i]!.tl0PicIdx) & 0xff;
      expect(step === 0 || step === 1, `TL0PICIDX ${got[i]!.tl0PicIdx} -> ${f.tl0PicIdx} at frame ${i + 1}`).toBe(true);
    });
    // The middle layer's keyframe got the low frame before it plus one, not that frame's own numbers.
    const before = got[switchBack]!;
    const key = got[switchBack + 1]!;
    expect(key.pictureId).toBe(before.pictureId + 1);
    expect(key.tl0PicIdx).toBe((before.tl0PicIdx + 1) & 0xff);
  });
});

describe("PictureIdRewriter", () => {
  it("keeps values within a layer (reordered packets included) and wraps at 2^15 and 2^8", () => {
    const r = new PictureIdRewriter();
    const map = (pictureId: number, tl0: number) => (r.rewrite(pictureId, tl0), [r.pictureId, r.tl0PicIdx]);
    expect(map(0x7ffe, 255)).toEqual([0x7ffe, 255]);
    expect(map(0x7fff, 255)).toEqual([0x7fff, 255]);
    expect(map(0, 0)).toEqual([0, 0]);
    expect(map(0x7fff, 255)).toEqual([0x7fff, 255]); // reordered: same mapping, and not taken as the newest
    r.startLayer();
    expect(map(500, 40)).toEqual([1, 1]); // newest was 0 / 0
    expect(map(501, 40)).toEqual([2, 1]);
  });

  it("passes absent fields through as absent, and a layer without them leaves the numbering where it was", () => {
    const r = new PictureIdRewriter();
    r.rewrite(-1, -1);
    expect([r.pictureId, r.tl0PicIdx]).toEqual([-1, -1]);
    r.rewrite(10, 3);
    r.startLayer();
    r.rewrite(-1, -1);
    expect([r.pictureId, r.tl0PicIdx]).toEqual([-1, -1]);
    r.startLayer();
    r.rewrite(900, 70);
    expect([r.pictureId, r.tl0PicIdx]).toEqual([11, 4]);
  });
});
