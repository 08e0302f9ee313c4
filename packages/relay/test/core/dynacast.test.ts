/** Pause/resume by visibility, and dynacast: the publisher is told which layers anyone needs. */
import { describe, expect, it } from "vitest";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import type { Output, SubscriberSettings } from "../../src/core/index.ts";
import { audio, isLayersWanted, newCore, published, rtp, stepAll, video } from "./harness.ts";

const SIZES = [
  { width: 320, height: 180 },
  { width: 640, height: 360 },
  { width: 1280, height: 720 },
];

function join(core: SfuCore, id: string): Output[] {
  return stepAll(core, { type: "join", now: 0, participantId: id, requestId: "j", room: "r", name: id, autoSubscribe: true });
}
/** The rids of each layers-wanted message among the outputs. */
const wanted = (outputs: Output[]) =>
  outputs.filter(isLayersWanted).map((o) => (o.type === "signal" && o.message.type === "layers-wanted" ? o.message.rids : []));
/** subscription-settings from a subscriber; its `ok` reply is checked and left out. */
function settings(core: SfuCore, participantId: string, now: number, s: SubscriberSettings, trackId = "cam"): Output[] {
  const out = stepAll(core, { type: "subscription-settings", now, participantId, requestId: "s", trackId, settings: s });
  expect(out.at(-1)).toEqual({ type: "signal", participantId, message: { type: "ok", id: "s" } });
  return out.slice(0, -1);
}

describe("dynacast", () => {
  it("a simulcast track nobody watches is not wanted at all; each subscriber's layer becomes wanted", () => {
    const core = newCore();
    join(core, "pub");
    const out = published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", ["q", "h", "f"], { layerSizes: SIZES }), audio("mic")] }, true);
    expect(out).toEqual([{ type: "signal", participantId: "pub", message: { type: "layers-wanted", trackId: "cam", rids: [] } }]);
    expect(wanted(join(core, "a"))).toEqual([["f"]]); // auto, size unknown: top layer
    const a = core.subscriptionOf("a", "cam")!;
    expect(wanted(settings(core, "a", 0, { width: 160, height: 90 }))).toEqual([["q"]]);
    expect(wanted(join(core, "b"))).toEqual([["q", "f"]]);
    const b = core.subscriptionOf("b", "cam")!;
    expect(wanted(settings(core, "b", 0, { quality: "low" }))).toEqual([["q"]]);
    // Nothing changes, nothing is said.
    expect(wanted(settings(core, "b", 0, { width: 100, height: 50 }))).toEqual([]);
    expect(wanted(stepAll(core, { type: "leave", now: 0, participantId: "a" }))).toEqual([]);
    expect(wanted(stepAll(core, { type: "leave", now: 0, participantId: "b" }))).toEqual([[]]);
  });

  it("the layer switched away from stays wanted until the switch happens at a keyframe", () => {
    const core = newCore();
    join(core, "pub");
    join(core, "a");
    published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", ["q", "h", "f"])] }, true);
    const a = core.subscriptionOf("a", "cam")!;
    stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: a });
    stepAll(core, rtp("pub", "cam", { layer: 2, seq: 1, keyframe: true }));
    // Ask for low: the top layer is still forwarded until layer 0's keyframe.
    expect(wanted(settings(core, "a", 10, { quality: "low" }))).toEqual([["q", "f"]]);
    expect(wanted(stepAll(core, rtp("pub", "cam", { now: 20, layer: 2, seq: 2 })))).toEqual([]);
    const switchOutputs = stepAll(core, rtp("pub", "cam", { now: 30, layer: 0, seq: 500, keyframe: true }));
    expect(switchOutputs.map((o) => (o.type === "signal" ? o.message.type : o.type))).toEqual(["forward", "layers-wanted"]);
    expect(wanted(switchOutputs)).toEqual([["q"]]);
  });

  it("non-simulcast tracks are never the subject of layers-wanted", () => {
    const core = newCore();
    join(core, "pub");
    expect(published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam"), audio("mic")] }, true)).toEqual([]);
  });
});

describe("visibility", () => {
  it("a hidden tile pauses forwarding at once; showing it again resumes at a keyframe, seq continuous", () => {
    const core = newCore({ keyframeRequestIntervalMs: 100 });
    join(core, "pub");
    join(core, "a");
    published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam")] }, true);
    const a = core.subscriptionOf("a", "cam")!;
    stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: a });
    const fwd = (o: Output[]) => o.filter((x) => x.type === "forward").map((x) => (x.type === "forward" ? x.seq : -1));
    expect(fwd(stepAll(core, rtp("pub", "cam", { now: 10, seq: 100, timestamp: 0, keyframe: true })))).toEqual([100]);
    expect(fwd(stepAll(core, rtp("pub", "cam", { now: 20, seq: 101, timestamp: 3000 })))).toEqual([101]);
    expect(settings(core, "a", 30, { visible: false })).toEqual([]);
    expect(core.subscription(a)?.state).toBe("paused");
    expect(fwd(stepAll(core, rtp("pub", "cam", { now: 40, seq: 102, timestamp: 6000 })))).toEqual([]);
    expect(fwd(stepAll(core, rtp("pub", "cam", { now: 50, seq: 103, timestamp: 9000, keyframe: true })))).toEqual([]); // even keyframes
    // Visible again: a keyframe is requested, and forwarding resumes at it, continuing the seq.
    expect(settings(core, "a", 200, { visible: true })).toEqual([
      { type: "request-keyframe", publisherId: "pub", trackId: "cam", layer: 0 },
    ]);
    expect(core.subscription(a)?.state).toBe("awaiting-keyframe");
    expect(fwd(stepAll(core, rtp("pub", "cam", { now: 210, seq: 104, timestamp: 12000 })))).toEqual([]);
    expect(fwd(stepAll(core, rtp("pub", "cam", { now: 220, seq: 105, timestamp: 15000, keyframe: true })))).toEqual([102]);
  });

  it("audio ignores visibility: it is never paused", () => {
    const core = newCore();
    join(core, "pub");
    join(core, "a");
    published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [audio("mic")] }, true);
    const a = core.subscriptionOf("a", "mic")!;
    stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: a });
    settings(core, "a", 0, { visible: false }, "mic");
    expect(stepAll(core, rtp("pub", "mic", { now: 10, seq: 7 })).map((o) => o.type)).toEqual(["forward"]);
  });
});
