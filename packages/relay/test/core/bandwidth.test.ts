/** Bandwidth: the allocator's sharing rule, layer bitrates measured from packets, and the cap's hysteresis. */
import { describe, expect, it } from "vitest";
import { allocateLayers } from "../../src/core/bandwidth-allocator.ts";
import { LayerRate } from "../../src/core/layer-rate.ts";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import { newCore, published, rtp, stepAll, video } from "./harness.ts";

const COSTS = [150_000, 500_000, 1_500_000];

describe("allocateLayers", () => {
  it("everyone gets the lowest layer first, then layers are raised round-robin while the budget lasts", () => {
    const req = (wanted: number) => ({ wanted, layerCosts: COSTS });
    expect(allocateLayers(10_000_000, [req(2), req(2)])).toEqual([2, 2]);
    expect(allocateLayers(2_000_000, [req(2), req(2)])).toEqual([2, 1]); // 1.5M + 500k fits exactly; 2x1.5M does not
    expect(allocateLayers(1_000_000, [req(2), req(2), req(2)])).toEqual([1, 0, 0]);
    expect(allocateLayers(0, [req(2), req(1)])).toEqual([0, 0]); // never below the lowest layer
    expect(allocateLayers(10_000_000, [req(0), req(-1), req(1)])).toEqual([0, -1, 1]); // wants and pauses respected
  });

  it("unmeasured layers cost nothing", () => {
    expect(allocateLayers(0, [{ wanted: 2, layerCosts: [0, 0, 0] }])).toEqual([2]);
  });
});

describe("LayerRate", () => {
  it("measures each layer's bitrate over one-second windows", () => {
    const rate = new LayerRate(2);
    for (let t = 0; t <= 1000; t += 10) {
      rate.add(0, 100, t); // 100 B every 10 ms: 80 kbit/s
      rate.add(1, 1000, t); // 800 kbit/s
    }
    expect(rate.bitrates.map(Math.round)).toEqual([80_000, 800_000]);
  });

  it("a layer that stops keeps costing what it sent when it flowed; a layer never seen costs nothing", () => {
    const rate = new LayerRate(3);
    for (let t = 0; t < 1000; t += 10) rate.add(1, 1000, t); // 800 kbit/s
    for (let t = 1000; t <= 4000; t += 10) rate.add(0, 100, t); // layer 1 switched off from here
    expect(Math.round(rate.bitrates[1]!)).toBeLessThan(200_000); // its bitrate decays
    expect(rate.costs.map(Math.round)).toEqual([80_000, 800_000, 0]); // layer 0: its own bitrate
  });

  it("a layer that stops mid-window costs what it sent while it flowed throughout, not the cut-short window", () => {
    const rate = new LayerRate(2);
    for (let t = 0; t < 1500; t += 10) rate.add(1, 1000, t); // 800 kbit/s, switched off at 1.5 s
    for (let t = 1500; t <= 4000; t += 10) rate.add(0, 100, t);
    // The 1-2 s window measured 400 kbit/s of it (its smoothed rate 600k): an upgrade on that would not fit.
    expect(Math.round(rate.costs[1]!)).toBe(800_000);
  });

  it("a layer switched back on costs what it sent before while its encoder ramps up again", () => {
    const rate = new LayerRate(2);
    for (let t = 0; t < 3000; t += 10) rate.add(1, 1000, t); // 800 kbit/s
    for (let t = 3000; t < 5000; t += 10) rate.add(0, 100, t); // off for 2 s
    for (let t = 5000; t <= 7000; t += 10) rate.add(1, 250, t); // back at 200 kbit/s
    // Two windows of 200k: the cost falls 10% a window, not to the ramp's rate.
    expect(Math.round(rate.costs[1]!)).toBe(Math.round(800_000 * 0.9 * 0.9));
  });
});

describe("bandwidth caps in the core", () => {
  /** One publisher with a 3-layer track sending ~150k/500k/1.5M; subscriber "s" ready and forwarding the top. */
  function setup(): { core: SfuCore; sub: number; t: { now: number } } {
    const core = newCore({ bandwidthUpgradeHoldMs: 3000, keyframeRequestIntervalMs: 100 });
    stepAll(core, { type: "join", now: 0, participantId: "pub", requestId: "j", room: "r", name: "", autoSubscribe: true });
    stepAll(core, { type: "join", now: 0, participantId: "s", requestId: "j", room: "r", name: "", autoSubscribe: true });
    published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", ["q", "h", "f"])] });
    const sub = core.subscriptionOf("s", "cam")!;
    stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: sub });
    const t = { now: 0 };
    const seqs = [0, 0, 0];
    // 2.2 s of media: per 20 ms, layer sizes giving 150k / 500k / 1.5M bit/s.
    for (; t.now <= 2200; t.now += 20) {
      [375, 1250, 3750].forEach((size, layer) => {
        stepAll(core, rtp("pub", "cam", { now: t.now, layer, size, seq: (seqs[layer] = seqs[layer]! + 1), keyframe: t.now === 0 }));
      });
    }
    return { core, sub, t };
  }

  it("a low estimate lowers the layer at once; a high one raises it only after the hold time, one layer at a time", () => {
    const { core, sub, t } = setup();
    expect(core.subscription(sub)).toMatchObject({ maxLayer: 2, currentLayer: 2 });
    const estimate = (bps: number, now: number) => stepAll(core, { type: "bandwidth-estimate", now, participantId: "s", bitsPerSecond: bps });
    estimate(2_000_000, t.now - 100); // a first estimate is a baseline, never congestion
    expect(core.subscription(sub)?.maxLayer).toBe(2);
    const out = estimate(400_000, t.now); // it fell: congestion. 0.85 x 400k = 340k: only the lowest layer fits
    expect(core.subscription(sub)).toMatchObject({ maxLayer: 0, targetLayer: 0 });
    expect(out).toContainEqual({ type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 0 });
    estimate(5_000_000, t.now + 1000); // plenty, but too soon after lowering
    expect(core.subscription(sub)?.maxLayer).toBe(0);
    estimate(5_000_000, t.now + 3000);
    expect(core.subscription(sub)?.maxLayer).toBe(1); // one step
    estimate(5_000_000, t.now + 3100);
    expect(core.subscription(sub)?.maxLayer).toBe(2);
  });

  it("an estimate at least what is being sent is no congestion: a pinned quality is granted, then capped only if it congests", () => {
    const { core, sub, t } = setup();
    stepAll(core, { type: "subscription-settings", now: t.now, participantId: "s", requestId: "q", trackId: "cam", settings: { quality: "low" } });
    stepAll(core, rtp("pub", "cam", { now: t.now + 20, layer: 0, size: 375, seq: 10_000, keyframe: true }));
    expect(core.subscription(sub)?.currentLayer).toBe(0);
    // Chromium's REMB hovers just above what it receives (150k here): that must not trap it low.
    stepAll(core, { type: "bandwidth-estimate", now: t.now + 100, participantId: "s", bitsPerSecond: 200_000 });
    stepAll(core, { type: "subscription-settings", now: t.now + 200, participantId: "s", requestId: "q", trackId: "cam", settings: { quality: "high" } });
    expect(core.subscription(sub)?.targetLayer).toBe(2);
    stepAll(core, rtp("pub", "cam", { now: t.now + 220, layer: 2, size: 3750, seq: 10_001, keyframe: true }));
    expect(core.subscription(sub)?.currentLayer).toBe(2);
    // 1.5 Mbit/s flows now; the estimate still lags (rising from 200k): no congestion, the upgrade stays.
    stepAll(core, { type: "bandwidth-estimate", now: t.now + 1200, participantId: "s", bitsPerSecond: 300_000 });
    expect(core.subscription(sub)?.targetLayer).toBe(2);
    stepAll(core, { type: "bandwidth-estimate", now: t.now + 2200, participantId: "s", bitsPerSecond: 3_000_000 });
    // The estimate falls to 800k, below what is sent: congestion. 680k budget: the middle layer.
    stepAll(core, { type: "bandwidth-estimate", now: t.now + 3200, participantId: "s", bitsPerSecond: 800_000 });
    expect(core.subscription(sub)?.targetLayer).toBe(1);
  });
});
