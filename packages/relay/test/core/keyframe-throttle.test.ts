import { describe, expect, it } from "vitest";
import { KeyframeThrottle } from "../../src/core/keyframe-throttle.ts";
import { audio, drain, newCore, published, step, video } from "./harness.ts";

describe("KeyframeThrottle", () => {
  it("sends the first at once, coalesces the rest into one after the interval", () => {
    const t = new KeyframeThrottle(500, "p", "t", 1);
    expect(t.deadline).toBe(Infinity);
    expect(t.request(1000)).toBe(true);
    expect(t.pending).toBe(false);
    for (let now = 1001; now < 1500; now += 50) expect(t.request(now)).toBe(false);
    expect(t.pending).toBe(true);
    expect(t.deadline).toBe(1500);
    expect(t.fire(1499)).toBe(false);
    expect(t.fire(1500)).toBe(true);
    expect(t.pending).toBe(false);
    expect(t.fire(5000)).toBe(false); // nothing waits
    // Interval counts from the coalesced one that was sent at 1500.
    expect(t.request(1700)).toBe(false);
    expect(t.deadline).toBe(2000);
    // A request after the deadline sends at once, even when the wake-up was missed.
    expect(t.request(2100)).toBe(true);
    expect(t.pending).toBe(false);
    t.request(2200);
    t.cancel();
    expect(t.deadline).toBe(Infinity);
  });
});

describe("keyframe requests in the core", () => {
  const setup = (interval = 500) => {
    const core = newCore({ keyframeRequestIntervalMs: interval });
    step(core, { type: "join", now: 0, participantId: "pub", requestId: "j", room: "r", name: "", autoSubscribe: true });
    for (let i = 0; i < 20; i++) {
      step(core, { type: "join", now: 0, participantId: `s${i}`, requestId: "j", room: "r", name: "", autoSubscribe: true });
    }
    published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", ["q", "h", "f"]), audio("mic")] });
    const cam = Array.from({ length: 20 }, (_, i) => core.subscriptionOf(`s${i}`, "cam")!);
    return { core, cam };
  };

  it("many subscribers becoming ready make one immediate and one coalesced request", () => {
    const { core, cam } = setup();
    core.handle({ type: "subscription-ready", now: 1000, subscriptionId: cam[0]! });
    expect(drain(core)).toEqual({ outputs: [{ type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 2 }], at: Infinity });
    for (let i = 1; i < 20; i++) {
      core.handle({ type: "subscription-ready", now: 1000 + i * 10, subscriptionId: cam[i]! });
      expect(drain(core)).toEqual({ outputs: [], at: 1500 });
    }
    for (let i = 0; i < 20; i++) expect(step(core, { type: "picture-loss", now: 1300, subscriptionId: cam[i]! })).toEqual([]);
    expect(core.stats().pendingKeyframeRequests).toBe(1);
    core.handle({ type: "timeout", now: 1499 });
    expect(drain(core)).toEqual({ outputs: [], at: 1500 });
    core.handle({ type: "timeout", now: 1500 });
    expect(drain(core)).toEqual({ outputs: [{ type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 2 }], at: Infinity });
    expect(core.stats().pendingKeyframeRequests).toBe(0);
    expect(step(core, { type: "timeout", now: 1600 })).toEqual([]);
  });

  it("throttles each layer separately and wakes at the earliest deadline", () => {
    const { core, cam } = setup();
    expect(step(core, { type: "subscription-ready", now: 0, subscriptionId: cam[0]! })).toEqual([
      { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 2 },
    ]);
    step(core, { type: "subscription-ready", now: 0, subscriptionId: cam[1]! });
    expect(step(core, { type: "layer-preference", now: 100, subscriptionId: cam[2]!, maxLayer: 0 })).toEqual([]); // not ready yet
    expect(step(core, { type: "subscription-ready", now: 100, subscriptionId: cam[2]! })).toEqual([
      { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 0 },
    ]);
    step(core, { type: "picture-loss", now: 200, subscriptionId: cam[2]! });
    core.handle({ type: "timeout", now: 0 });
    expect(drain(core)).toEqual({ outputs: [], at: 500 });
    core.handle({ type: "timeout", now: 550 });
    expect(drain(core)).toEqual({ outputs: [{ type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 2 }], at: 600 });
    core.handle({ type: "timeout", now: 10_000 });
    expect(drain(core)).toEqual({ outputs: [{ type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 0 }], at: Infinity });
  });

  it("maps a subscriber's request to its current layer, or to the target while switching; ignores audio and pending", () => {
    const { core, cam } = setup(100);
    const sub = cam[0]!;
    const mic = core.subscriptionOf("s0", "mic")!;
    expect(step(core, { type: "picture-loss", now: 0, subscriptionId: sub })).toEqual([]); // pending
    step(core, { type: "subscription-ready", now: 0, subscriptionId: mic });
    expect(step(core, { type: "picture-loss", now: 0, subscriptionId: mic })).toEqual([]);
    step(core, { type: "subscription-ready", now: 0, subscriptionId: sub }); // layer 2 at 0
    step(core, { type: "rtp", now: 10, publisherId: "pub", trackId: "cam", layer: 2, seq: 1, timestamp: 1, marker: false, keyframe: true, size: 1, pictureId: -1, tl0PicIdx: -1 });
    expect(step(core, { type: "picture-loss", now: 1000, subscriptionId: sub })).toEqual([
      { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 2 },
    ]);
    expect(step(core, { type: "layer-preference", now: 2000, subscriptionId: sub, maxLayer: 1 })).toEqual([
      { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 1 },
    ]);
    expect(step(core, { type: "picture-loss", now: 3000, subscriptionId: sub })).toEqual([
      { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 1 },
    ]);
  });

  it("drops the pending requests of an unpublished track", () => {
    const { core, cam } = setup();
    step(core, { type: "subscription-ready", now: 0, subscriptionId: cam[0]! });
    step(core, { type: "subscription-ready", now: 1, subscriptionId: cam[1]! });
    expect(core.stats().pendingKeyframeRequests).toBe(1);
    step(core, { type: "unpublish", now: 2, participantId: "pub", requestId: "u", trackId: "cam" });
    expect(core.stats().pendingKeyframeRequests).toBe(0);
    core.handle({ type: "timeout", now: 10_000 });
    expect(drain(core)).toEqual({ outputs: [], at: Infinity });
  });
});
