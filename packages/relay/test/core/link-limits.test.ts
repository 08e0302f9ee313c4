/**
 * `bandwidth-limit`: a subscriber is told when its link holds a video below its wish (a pinned quality
 * is a ceiling, not a promise), and when it has its wish again; exactly once per change, with REMB
 * caps here (congestion.test.ts has the transport-cc caps over time).
 */
import { describe, expect, it } from "vitest";
import type { Output } from "../../src/core/index.ts";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import { audio, drain, isBandwidthLimit, newCore, published, rtp, stepAll, video } from "./harness.ts";

const SIZES = [{ width: 320, height: 180 }, { width: 640, height: 360 }, { width: 1280, height: 720 }];

/** A publisher sending ~150k / 500k / 1.5M on three layers for 2.2 s; subscriber "s" on the top layer. */
function setup(): { core: SfuCore; now: number } {
  const core = newCore({ bandwidthUpgradeHoldMs: 3000, keyframeRequestIntervalMs: 100 });
  stepAll(core, { type: "join", now: 0, participantId: "pub", requestId: "j", room: "r", name: "", autoSubscribe: true, resumeSecret: "x" });
  stepAll(core, { type: "join", now: 0, participantId: "s", requestId: "j", room: "r", name: "", autoSubscribe: true, resumeSecret: "y" });
  published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", ["q", "h", "f"], { layerSizes: SIZES })] });
  stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: core.subscriptionOf("s", "cam")! });
  const seqs = [0, 0, 0];
  let now = 0;
  for (; now <= 2200; now += 20) {
    [375, 1250, 3750].forEach((size, layer) => stepAll(core, rtp("pub", "cam", { now, layer, size, seq: (seqs[layer] = seqs[layer]! + 1), keyframe: now === 0 })));
  }
  return { core, now };
}

const limits = (outs: Output[]) => outs.filter(isBandwidthLimit).map((o) => (o.type === "signal" ? [o.participantId, o.message] : undefined));
const told = (limit: "none" | "reduced") => ["s", { type: "bandwidth-limit", trackId: "cam", limit }];

describe("bandwidth-limit", () => {
  it("told when the cap holds a pinned quality below its wish, not again while it stays, and when the wish is met again", () => {
    const { core, now } = setup();
    const estimate = (bps: number, at: number) => limits(stepAll(core, { type: "bandwidth-estimate", now: at, participantId: "s", bitsPerSecond: bps }));
    const quality = (q: "low" | "high", at: number) =>
      limits(stepAll(core, { type: "subscription-settings", now: at, participantId: "s", requestId: "q", trackId: "cam", settings: { quality: q } }));
    expect(quality("high", now)).toEqual([]);
    expect(estimate(2_000_000, now)).toEqual([]); // a baseline
    expect(estimate(400_000, now + 100)).toEqual([told("reduced")]); // congestion: the lowest layer
    // Asking low now: the link carries the wish, so nothing is limited; high again: limited again.
    expect(quality("low", now + 200)).toEqual([told("none")]);
    expect(quality("high", now + 300)).toEqual([told("reduced")]);
    // Hidden and shown: the tile shows nothing meanwhile, so nothing is said.
    expect(limits(stepAll(core, { type: "subscription-settings", now: now + 400, participantId: "s", requestId: "v", trackId: "cam", settings: { visible: false } }))).toEqual([]);
    expect(limits(stepAll(core, { type: "subscription-settings", now: now + 500, participantId: "s", requestId: "v", trackId: "cam", settings: { visible: true } }))).toEqual([]);
    // Plenty again: one layer up after the hold (still below high: no message), then the top.
    expect(estimate(5_000_000, now + 3100)).toEqual([]);
    expect(core.subscription(core.subscriptionOf("s", "cam")!)?.maxLayer).toBe(1);
    expect(estimate(5_000_000, now + 3200)).toEqual([told("none")]);
  });

  it("auto with a small tile wants the lowest layer: a cap to it limits nothing", () => {
    const { core, now } = setup();
    stepAll(core, { type: "subscription-settings", now, participantId: "s", requestId: "q", trackId: "cam", settings: { width: 300, height: 170 } });
    stepAll(core, { type: "bandwidth-estimate", now, participantId: "s", bitsPerSecond: 2_000_000 });
    expect(limits(stepAll(core, { type: "bandwidth-estimate", now: now + 100, participantId: "s", bitsPerSecond: 100_000 }))).toEqual([]);
  });

  it("a resumed session is told again what is limited", () => {
    const { core, now } = setup();
    stepAll(core, { type: "bandwidth-estimate", now, participantId: "s", bitsPerSecond: 2_000_000 });
    stepAll(core, { type: "bandwidth-estimate", now: now + 100, participantId: "s", bitsPerSecond: 400_000 });
    stepAll(core, { type: "session-closed", now: now + 200, participantId: "s" });
    const out = stepAll(core, { type: "resume", now: now + 300, participantId: "S2", requestId: "res", room: "r", resumeOf: "s", secret: "y", iceServers: [] });
    expect(limits(out)).toEqual([told("reduced")]);
  });
});

describe("paused for bandwidth", () => {
  it("a link that loses everything pauses the video, keeps the audio, and says so; the video is tried again after 5 s", () => {
    const core = newCore({ bandwidthUpgradeHoldMs: 3000, keyframeRequestIntervalMs: 100 });
    stepAll(core, { type: "join", now: 0, participantId: "pub", requestId: "j", room: "r", name: "", autoSubscribe: true });
    stepAll(core, { type: "join", now: 0, participantId: "s", requestId: "j", room: "r", name: "", autoSubscribe: true });
    published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", ["q", "h", "f"], { layerSizes: SIZES }), audio("mic")] });
    const cam = core.subscriptionOf("s", "cam")!;
    const mic = core.subscriptionOf("s", "mic")!;
    stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: cam });
    stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: mic });
    const seqs = [0, 0, 0];
    const told: Array<[number, unknown]> = [];
    let audioForwards = 0;
    let audioSeq = 0;
    let wakeAt = Infinity;
    const run = (input: Parameters<SfuCore["handle"]>[0]) => {
      core.handle(input);
      const { outputs, at } = drain(core);
      wakeAt = at;
      for (const o of outputs) if (o.type === "signal" && o.message.type === "bandwidth-limit") told.push([input.now / 1000, o.message.limit]);
      return outputs;
    };
    for (let now = 0; now <= 9000; now += 20) {
      if (wakeAt <= now) run({ type: "timeout", now });
      [375, 1250, 3750].forEach((size, layer) => run(rtp("pub", "cam", { now, layer, size, seq: (seqs[layer] = seqs[layer]! + 1), keyframe: now % 1000 === 0 })));
      const heard = run(rtp("pub", "mic", { now, size: 80, seq: ++audioSeq }));
      if (now >= 7000) audioForwards += heard.filter((o) => o.type === "forward" && o.subscriptionId === mic).length;
      // Every 100 ms the subscriber reports 10 packets sent 100 ms earlier, all lost.
      if (now % 100 === 0) run({ type: "transport-feedback", now, participantId: "s", packets: Array.from({ length: 10 }, (_, i) => ({ sentAt: now - 100 + i * 10, size: 1200, arrivedAt: -1 })) });
      if (now === 7000) expect(core.subscription(cam)).toMatchObject({ state: "paused", targetLayer: -1 });
    }
    // Down to the lowest layer as the loss-based estimate halves, paused once it stayed under that
    // layer's cost for 2 s, resumed at the lowest layer (the probe) 5 s after the pause.
    expect(told).toEqual([[1, "reduced"], [4, "paused"], [9, "reduced"]]);
    expect(audioForwards).toBe(101); // every audio packet from 7 s to 9 s: audio is never paused
  });
});
