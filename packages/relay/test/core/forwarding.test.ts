import { describe, expect, it } from "vitest";
import { OutputQueue } from "../../src/core/output-queue.ts";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import type { Output, RtpInput } from "../../src/core/index.ts";
import { audio, drain, newCore, published, rtp, step, type TrackSpec, video } from "./harness.ts";

/** A room with publisher "pub" publishing `track`, and subscribers s0..s(n-1) auto-subscribed. */
function room(track: TrackSpec, subscribers = 1): { core: SfuCore; subs: number[] } {
  const core = newCore({ keyframeRequestIntervalMs: 100 });
  step(core, { type: "join", now: 0, participantId: "pub", requestId: "j", room: "r", name: "", autoSubscribe: true });
  for (let i = 0; i < subscribers; i++) {
    step(core, { type: "join", now: 0, participantId: `s${i}`, requestId: "j", room: "r", name: "", autoSubscribe: true });
  }
  published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [track] });
  const subs = Array.from({ length: subscribers }, (_, i) => core.subscriptionOf(`s${i}`, track.trackId)!);
  return { core, subs };
}

type Fwd = [subscriptionId: number, seq: number, timestamp: number, marker: boolean];

/**
 * The forwards of one packet as tuples; fails on any other output except keyframe re-requests (made
 * while a subscription waits for a keyframe; tested on their own).
 */
function send(core: SfuCore, trackId: string, fields: Partial<RtpInput>): Fwd[] {
  const outputs = step(core, rtp("pub", trackId, fields)).filter((o) => o.type !== "request-keyframe");
  return outputs.map((o: Output) => {
    if (o.type !== "forward") throw new Error(`unexpected ${o.type}`);
    return [o.subscriptionId, o.seq, o.timestamp, o.marker];
  });
}

describe("subscription states", () => {
  it("audio: nothing until ready, then every packet with seq/timestamp kept and marker passed", () => {
    const { core, subs } = room(audio("mic"), 1);
    const sub = subs[0]!;
    expect(core.subscription(sub)?.state).toBe("pending");
    expect(send(core, "mic", { seq: 10, timestamp: 960 })).toEqual([]);
    expect(step(core, { type: "subscription-ready", now: 5, subscriptionId: sub })).toEqual([]); // no keyframe for audio
    expect(core.subscription(sub)?.state).toBe("forwarding");
    expect(send(core, "mic", { now: 20, seq: 11, timestamp: 1920, marker: true })).toEqual([[sub, 11, 1920, true]]);
    expect(send(core, "mic", { now: 40, seq: 12, timestamp: 2880 })).toEqual([[sub, 12, 2880, false]]);
    // Ready twice changes nothing.
    expect(step(core, { type: "subscription-ready", now: 50, subscriptionId: sub })).toEqual([]);
    expect(send(core, "mic", { now: 60, seq: 13, timestamp: 3840 })).toEqual([[sub, 13, 3840, false]]);
  });

  it("video: asks for a keyframe when ready and forwards from the first keyframe packet on", () => {
    const { core, subs } = room(video("cam"), 1);
    const sub = subs[0]!;
    expect(send(core, "cam", { seq: 100, keyframe: true })).toEqual([]); // pending: even a keyframe is dropped
    expect(step(core, { type: "subscription-ready", now: 10, subscriptionId: sub })).toEqual([
      { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 0 },
    ]);
    expect(core.subscription(sub)?.state).toBe("awaiting-keyframe");
    expect(send(core, "cam", { now: 20, seq: 101, timestamp: 3000 })).toEqual([]);
    expect(send(core, "cam", { now: 20, seq: 102, timestamp: 3000, marker: true })).toEqual([]);
    expect(send(core, "cam", { now: 53, seq: 103, timestamp: 6000, keyframe: true })).toEqual([[sub, 103, 6000, false]]);
    expect(core.subscription(sub)?.state).toBe("forwarding");
    expect(send(core, "cam", { now: 53, seq: 105, timestamp: 6000, marker: true })).toEqual([[sub, 105, 6000, true]]);
    expect(send(core, "cam", { now: 54, seq: 104, timestamp: 6000 })).toEqual([[sub, 104, 6000, false]]); // reordered
    expect(send(core, "cam", { now: 54, seq: 102, timestamp: 3000 })).toEqual([]); // before the keyframe
    expect(send(core, "cam", { now: 86, seq: 106, timestamp: 9000 })).toEqual([[sub, 106, 9000, false]]);
  });

  it("video: asks again, paced by the throttle, while the layer flows without a keyframe", () => {
    const { core, subs } = room(video("cam"), 1); // throttle interval 100 ms
    const sub = subs[0]!;
    const request = { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 0 };
    expect(step(core, { type: "subscription-ready", now: 0, subscriptionId: sub })).toEqual([request]);
    // The first request went out before the publisher sent anything, so no keyframe comes.
    expect(step(core, rtp("pub", "cam", { now: 30, seq: 1 }))).toEqual([]); // inside the interval: coalesced
    expect(step(core, rtp("pub", "cam", { now: 60, seq: 2 }))).toEqual([]);
    expect(drain(core).at).toBe(100);
    expect(step(core, { type: "timeout", now: 100 })).toEqual([request]);
    expect(step(core, rtp("pub", "cam", { now: 250, seq: 3 }))).toEqual([request]); // interval passed: at once
    expect(step(core, rtp("pub", "cam", { now: 260, seq: 4, keyframe: true })).map((o) => o.type)).toEqual(["forward"]);
    expect(step(core, rtp("pub", "cam", { now: 400, seq: 5 })).map((o) => o.type)).toEqual(["forward"]); // no more asking
  });

  it("one forward per ready subscription of the track, each with its own id", () => {
    const { core, subs } = room(audio("mic"), 4);
    for (const s of [subs[0]!, subs[2]!, subs[3]!]) step(core, { type: "subscription-ready", now: 0, subscriptionId: s });
    const out = step(core, rtp("pub", "mic", { seq: 7, timestamp: 70 }));
    expect(out).toEqual([
      { type: "forward", subscriptionId: subs[0], subscriberId: "s0", seq: 7, timestamp: 70, marker: false, pictureId: -1, tl0PicIdx: -1 },
      { type: "forward", subscriptionId: subs[2], subscriberId: "s2", seq: 7, timestamp: 70, marker: false, pictureId: -1, tl0PicIdx: -1 },
      { type: "forward", subscriptionId: subs[3], subscriberId: "s3", seq: 7, timestamp: 70, marker: false, pictureId: -1, tl0PicIdx: -1 },
    ]);
    step(core, { type: "subscribe", now: 0, participantId: "s2", requestId: "x", trackId: "mic", subscribe: false });
    expect(send(core, "mic", { seq: 8, timestamp: 80 }).map((f) => f[0])).toEqual([subs[0], subs[3]]);
  });
});

describe("simulcast", () => {
  /** One frame on every layer: layer L has seq base L*10000, timestamps base L*1e6, 1 packet per frame. */
  const frame = (core: SfuCore, n: number, keyLayers: number[] = []) => {
    const out: [layer: number, fwd: Fwd][] = [];
    for (let layer = 0; layer < 3; layer++) {
      for (const f of send(core, "cam", {
        now: n * 33,
        layer,
        seq: (layer * 10_000 + n) & 0xffff,
        timestamp: layer * 1_000_000 + n * 3000,
        keyframe: keyLayers.includes(layer),
        marker: true,
      })) {
        out.push([layer, f]);
      }
    }
    return out;
  };

  it("starts on the highest layer, switches only at a keyframe of the target, never interleaves", () => {
    const { core, subs } = room(video("cam", ["q", "h", "f"]), 1);
    const sub = subs[0]!;
    expect(step(core, { type: "subscription-ready", now: 0, subscriptionId: sub })).toEqual([
      { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 2 },
    ]);
    expect(frame(core, 1, [0, 1])).toEqual([]); // keyframes of other layers do not start it
    expect(frame(core, 2, [2])).toEqual([[2, [sub, 20_002, 2_006_000, true]]]);
    expect(frame(core, 3)).toEqual([[2, [sub, 20_003, 2_009_000, true]]]);
    expect(core.subscription(sub)).toMatchObject({ state: "forwarding", currentLayer: 2, targetLayer: 2, maxLayer: 2 });

    // Down to layer 0: ask for its keyframe, keep layer 2 until it comes.
    expect(step(core, { type: "layer-preference", now: 100, subscriptionId: sub, maxLayer: 0 })).toEqual([
      { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 0 },
    ]);
    expect(frame(core, 4)).toEqual([[2, [sub, 20_004, 2_012_000, true]]]);
    expect(frame(core, 5, [1, 2])).toEqual([[2, [sub, 20_005, 2_015_000, true]]]);
    // Layer 0's keyframe arrives (33 ms after the last forwarded layer-2 packet: +2970 ticks).
    expect(frame(core, 6, [0])).toEqual([[0, [sub, 20_006, 2_015_000 + 2970, true]]]);
    expect(frame(core, 7, [2])).toEqual([[0, [sub, 20_007, 2_015_000 + 2970 + 3000, true]]]);
    expect(core.subscription(sub)).toMatchObject({ currentLayer: 0, targetLayer: 0 });

    // Back up to 1 and change the mind to 0 before the keyframe: nothing switches.
    step(core, { type: "layer-preference", now: 300, subscriptionId: sub, maxLayer: 1 });
    expect(step(core, { type: "layer-preference", now: 301, subscriptionId: sub, maxLayer: 0 })).toEqual([]);
    expect(frame(core, 8, [1]).map(([layer]) => layer)).toEqual([0]);
    // Preferences are clamped to the layers that exist.
    step(core, { type: "layer-preference", now: 400, subscriptionId: sub, maxLayer: 9 });
    expect(core.subscription(sub)).toMatchObject({ targetLayer: 2, maxLayer: 2 });
    step(core, { type: "layer-preference", now: 400, subscriptionId: sub, maxLayer: -3 });
    expect(core.subscription(sub)).toMatchObject({ targetLayer: 0, maxLayer: 0 });
  });

  it("a preference set while pending decides the first layer", () => {
    const { core, subs } = room(video("cam", ["q", "h", "f"]), 2);
    expect(step(core, { type: "layer-preference", now: 0, subscriptionId: subs[1]!, maxLayer: 1 })).toEqual([]);
    step(core, { type: "subscription-ready", now: 0, subscriptionId: subs[0]! });
    expect(step(core, { type: "subscription-ready", now: 0, subscriptionId: subs[1]! })).toEqual([
      { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 1 },
    ]);
    expect(frame(core, 1, [0, 1, 2])).toEqual([
      [1, [subs[1], 10_001, 1_003_000, true]],
      [2, [subs[0], 20_001, 2_003_000, true]],
    ]);
  });

  it("under a mixed packet stream each subscriber gets one layer at a time with contiguous seqs", () => {
    const { core, subs } = room(video("cam", ["q", "h", "f"]), 3);
    for (const s of subs) step(core, { type: "subscription-ready", now: 0, subscriptionId: s });
    const prefs = [2, 0, 1];
    const last = new Map<number, { seq: number; layer: number }>();
    const switches = new Map<number, number>();
    for (let n = 1; n <= 600; n++) {
      if (n % 50 === 0) {
        prefs.push(prefs.shift()!);
        subs.forEach((s, i) => step(core, { type: "layer-preference", now: n * 33, subscriptionId: s, maxLayer: prefs[i]! }));
      }
      for (const [layer, [s, seq]] of frame(core, n, n % 30 === 0 ? [0, 1, 2] : [])) {
        const prev = last.get(s);
        if (prev !== undefined) {
          expect(seq).toBe((prev.seq + 1) & 0xffff);
          if (prev.layer !== layer) switches.set(s, (switches.get(s) ?? 0) + 1);
        }
        last.set(s, { seq, layer });
      }
    }
    for (const s of subs) expect(switches.get(s)).toBeGreaterThanOrEqual(8);
  });
});

describe("wrap-around through the core", () => {
  it("seq 65535 -> 0 and timestamp 2^32 -> 0 without a switch", () => {
    const { core, subs } = room(audio("mic"), 1);
    const sub = subs[0]!;
    step(core, { type: "subscription-ready", now: 0, subscriptionId: sub });
    const got: Fwd[] = [];
    for (let i = 0; i < 5; i++) {
      got.push(...send(core, "mic", { now: i * 20, seq: (65533 + i) & 0xffff, timestamp: (2 ** 32 - 1920 + i * 960) >>> 0 }));
    }
    expect(got).toEqual([
      [sub, 65533, 2 ** 32 - 1920, false],
      [sub, 65534, 2 ** 32 - 960, false],
      [sub, 65535, 0, false],
      [sub, 0, 960, false],
      [sub, 1, 1920, false],
    ]);
  });

  it("both wraps across a layer switch", () => {
    const { core, subs } = room(video("cam", ["q", "f"]), 1);
    const sub = subs[0]!;
    step(core, { type: "subscription-ready", now: 0, subscriptionId: sub });
    // Layer 1 is about to wrap both seq and timestamp.
    expect(send(core, "cam", { now: 0, layer: 1, seq: 65534, timestamp: 2 ** 32 - 4000, keyframe: true })).toEqual([
      [sub, 65534, 2 ** 32 - 4000, false],
    ]);
    expect(send(core, "cam", { now: 33, layer: 1, seq: 65535, timestamp: 2 ** 32 - 1000 })).toEqual([[sub, 65535, 2 ** 32 - 1000, false]]);
    step(core, { type: "layer-preference", now: 40, subscriptionId: sub, maxLayer: 0 });
    expect(send(core, "cam", { now: 50, layer: 0, seq: 400, timestamp: 123_456, keyframe: true })).toEqual([
      [sub, 0, 530, false], // 65535 + 1; 2^32 - 1000 + 17 ms * 90 = 2^32 + 530
    ]);
    expect(send(core, "cam", { now: 51, layer: 1, seq: 0, timestamp: 2000 })).toEqual([]);
    expect(send(core, "cam", { now: 83, layer: 0, seq: 401, timestamp: 126_456 })).toEqual([[sub, 1, 3530, false]]);
    // And back up onto layer 1, whose input has wrapped meanwhile.
    step(core, { type: "layer-preference", now: 90, subscriptionId: sub, maxLayer: 1 });
    expect(send(core, "cam", { now: 100, layer: 1, seq: 3, timestamp: 8000, keyframe: true })).toEqual([[sub, 2, 3530 + 1530, false]]);
    expect(send(core, "cam", { now: 100, layer: 1, seq: 2, timestamp: 5000 })).toEqual([]); // older than the switch
    expect(send(core, "cam", { now: 133, layer: 1, seq: 4, timestamp: 11_000 })).toEqual([[sub, 3, 3530 + 1530 + 3000, false]]);
  });
});

describe("forward outputs", () => {
  it("are pooled: reused after a drain, so the pool stays as large as the largest burst", () => {
    const { core, subs } = room(audio("mic"), 3);
    for (const s of subs) step(core, { type: "subscription-ready", now: 0, subscriptionId: s });
    core.handle(rtp("pub", "mic", { seq: 1 }));
    const first = [core.poll(), core.poll(), core.poll()];
    expect(core.poll().type).toBe("timeout");
    core.handle(rtp("pub", "mic", { seq: 2 }));
    const second = [core.poll(), core.poll(), core.poll()];
    expect(second.map((o, i) => o === first[i])).toEqual([true, true, true]);
    expect(second.map((o) => o.type === "forward" && o.seq)).toEqual([2, 2, 2]);
    expect(drain(core).outputs).toEqual([]);
  });

  it("OutputQueue keeps handed-out forwards intact until it is found empty", () => {
    const q = new OutputQueue();
    q.pushForward(1, "a", 10, 100, false, 7, 3);
    const a = q.shift();
    q.pushForward(2, "b", 20, 200, true, -1, -1); // the queue was not found empty: a new object
    expect(a).toEqual({ type: "forward", subscriptionId: 1, subscriberId: "a", seq: 10, timestamp: 100, marker: false, pictureId: 7, tl0PicIdx: 3 });
    const b = q.shift();
    expect(b).not.toBe(a);
    expect(q.shift()).toBeUndefined();
    q.pushForward(3, "c", 30, 300, false, -1, -1);
    expect(q.shift()).toBe(a);
    expect(q.pooledForwards).toBe(2);
  });
});
