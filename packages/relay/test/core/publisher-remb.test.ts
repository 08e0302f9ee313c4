/**
 * REMB toward publishers (core/congestion/publisher-remb.ts): the cap that viewers' downlinks put on
 * video without lower layers (bounded: a floor, and the slowest quarter of the viewers left below),
 * and the receive estimate for publishers that do only REMB, on a simulated uplink whose publisher
 * follows the REMB as aiortc's encoder does.
 */
import { describe, expect, it } from "vitest";
import type { Output } from "../../src/core/index.ts";
import { viewerCap } from "../../src/core/congestion/publisher-remb.ts";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import { newCore, published, stepAll, video } from "./harness.ts";

const rembs = (outs: Output[]) => outs.flatMap((o): Array<[string, number]> => (o.type === "send-remb" ? [[o.publisherId, o.bitsPerSecond]] : []));

describe("viewerCap (the policy)", () => {
  it("follows the slowest viewer, leaves at most a quarter of the viewers below, never under 300 kbit/s", () => {
    expect(viewerCap([])).toBeUndefined();
    expect(viewerCap([2_000_000])).toBe(2_000_000);
    expect(viewerCap([100_000])).toBe(300_000); // the floor
    expect(viewerCap([1_000_000, 400_000, 2_000_000])).toBe(400_000); // 3 viewers: none left below
    expect(viewerCap([1_000_000, 400_000, 2_000_000, 1_500_000])).toBe(1_000_000); // 4: the slowest one is
    expect(viewerCap([400_000, 500_000, 3e6, 3e6, 3e6, 3e6, 3e6, 3e6])).toBe(3_000_000); // 8: two are
  });
});

/** "pub" publishes one video track (`layers`: simulcast rids); `viewers` join and are ready. */
function room(layers: string[], viewers: string[]): SfuCore {
  const core = newCore();
  stepAll(core, { type: "join", now: 0, participantId: "pub", requestId: "j", room: "r", name: "", autoSubscribe: true });
  for (const v of viewers) stepAll(core, { type: "join", now: 0, participantId: v, requestId: "j", room: "r", name: "", autoSubscribe: true });
  published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", layers)] });
  for (const v of viewers) stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: core.subscriptionOf(v, "cam")! });
  return core;
}

const remb = (core: SfuCore, viewer: string, bitsPerSecond: number, now: number) =>
  rembs(stepAll(core, { type: "bandwidth-estimate", now, participantId: viewer, bitsPerSecond }));

describe("viewers cap a publisher without simulcast", () => {
  it("the cap follows the viewers' estimates: a fall at once, a rise at most once a second", () => {
    const core = room([], ["a", "b"]);
    expect(remb(core, "a", 1_000_000, 0)).toEqual([["pub", 850_000]]); // 85 % of a's only video
    expect(remb(core, "b", 2_000_000, 100)).toEqual([]); // a is still the slowest
    expect(remb(core, "a", 400_000, 200)).toEqual([["pub", 340_000]]); // a fall: at once
    expect(remb(core, "a", 800_000, 300)).toEqual([]); // a rise waits for the refresh
    expect(remb(core, "a", 800_000, 1200)).toEqual([["pub", 680_000]]);
    expect(remb(core, "a", 100_000, 1300)).toEqual([["pub", 300_000]]); // never below the floor
  });

  it("one slow viewer among many does not cap the room; hiding the video takes a viewer out", () => {
    const viewers = ["slow", "v1", "v2", "v3"];
    const core = room([], viewers);
    expect(remb(core, "slow", 200_000, 0)).toEqual([["pub", 300_000]]);
    for (const v of ["v1", "v2", "v3"]) remb(core, v, 2_000_000, 100);
    // Four viewers: the slowest is left below; the cap follows the next one, at the refresh.
    expect(remb(core, "v1", 2_000_000, 1000)).toEqual([["pub", 1_700_000]]);
    stepAll(core, { type: "leave", now: 1100, participantId: "v3", requestId: "l" });
    expect(remb(core, "slow", 200_000, 2000)).toEqual([["pub", 300_000]]); // three: none left below
    stepAll(core, { type: "subscription-settings", now: 2100, participantId: "slow", requestId: "s", trackId: "cam", settings: { visible: false } });
    expect(remb(core, "v1", 2_000_000, 3000)).toEqual([["pub", 1_700_000]]);
  });

  it("a viewer watching two videos gives each half of its budget", () => {
    const core = newCore();
    for (const p of ["pub", "pub2", "a"]) stepAll(core, { type: "join", now: 0, participantId: p, requestId: "j", room: "r", name: "", autoSubscribe: true });
    published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", [])] });
    published(core, { now: 0, participantId: "pub2", requestId: "p", tracks: [video("cam2", [])] });
    for (const t of ["cam", "cam2"]) stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: core.subscriptionOf("a", t)! });
    expect(remb(core, "a", 1_000_000, 0)).toEqual([["pub", 425_000], ["pub2", 425_000]]);
  });

  it("simulcast publishers are never capped for their viewers (a slow one gets a lower layer)", () => {
    const core = room(["q", "h", "f"], ["a"]);
    expect(remb(core, "a", 100_000, 0)).toEqual([]);
    expect(remb(core, "a", 100_000, 2000)).toEqual([]);
  });

  it("when the last viewer stops watching, the next estimate lifts the cap", () => {
    const core = room([], ["a", "b"]);
    expect(remb(core, "a", 400_000, 0)).toEqual([["pub", 340_000]]);
    stepAll(core, { type: "subscription-settings", now: 100, participantId: "a", requestId: "s", trackId: "cam", settings: { visible: false } });
    stepAll(core, { type: "subscription-settings", now: 100, participantId: "b", requestId: "s", trackId: "cam", settings: { visible: false } });
    expect(remb(core, "b", 3_000_000, 200)).toEqual([["pub", 30_000_000]]); // lifted (a browser keeps the last REMB)
    expect(remb(core, "b", 3_000_000, 1500)).toEqual([]); // and said once
  });
});

describe("REMB for a publisher that does only REMB", () => {
  /**
   * `seconds` of a publisher whose encoder follows the relay's REMB (as aiortc's: 250 kbit/s to 1.5
   * Mbit/s, start 500k) through an uplink of `capacity` bits/s with a 300 ms queue; 1000-byte packets,
   * abs-send-time exact, 20 ms propagation. Returns the REMB values sent [time s, bits/s] and the rate
   * the encoder ends at.
   */
  function uplink(seconds: number, capacity: (t: number) => number): { sent: Array<[number, number]>; rateAt: (t: number) => number } {
    const core = room([], ["a"]);
    const sent: Array<[number, number]> = [];
    const rates: Array<[number, number]> = [[0, 500_000]];
    let target = 500_000;
    let nextSend = 0;
    let linkFreeAt = 0;
    let pending: Array<{ sentAt: number; size: number; arrivedAt: number }> = [];
    for (let now = 0; now < seconds * 1000; now++) {
      while (nextSend <= now) {
        const start = Math.max(nextSend, linkFreeAt);
        if (start - nextSend <= 300) {
          linkFreeAt = start + (1000 * 8 * 1000) / capacity(nextSend);
          pending.push({ sentAt: nextSend, size: 1000, arrivedAt: linkFreeAt + 20 });
        }
        nextSend += (1000 * 8 * 1000) / target;
      }
      if (now % 50 === 0) {
        const due = pending.filter((p) => p.arrivedAt <= now);
        pending = pending.filter((p) => p.arrivedAt > now);
        if (due.length === 0) continue;
        for (const [, bps] of rembs(stepAll(core, { type: "publisher-arrivals", now, participantId: "pub", packets: due }))) {
          sent.push([now / 1000, bps]);
          target = Math.max(250_000, Math.min(1_500_000, bps));
          rates.push([now, target]);
        }
      }
    }
    return { sent, rateAt: (t) => rates.filter(([at]) => at <= t * 1000).at(-1)![1] };
  }

  it("a clean 5 Mbit/s uplink: the REMB lets the encoder ramp up to its maximum", () => {
    const { sent, rateAt } = uplink(20, () => 5_000_000);
    expect(sent[0]).toEqual([0.05, 1_500_000]); // the start value, before anything was measured
    expect(rateAt(20)).toBe(1_500_000);
    expect(sent.every(([, bps]) => bps >= 250_000)).toBe(true);
  });

  it("a 400 kbit/s uplink: the REMB falls below it within seconds and the encoder follows; it recovers when the link does", () => {
    const { sent, rateAt } = uplink(60, (t) => (t < 30_000 ? 400_000 : 5_000_000));
    // Exactly (deterministic): from the start value down to 85 % of what got through in 1.1 s.
    expect(sent.slice(0, 5)).toEqual([[0.05, 1_500_000], [0.55, 634_000], [0.75, 386_724], [0.95, 353_600], [1.15, 340_000]]);
    // While narrow: a saw-tooth around the capacity (up ~8 %/s, down on overuse), never far above it.
    const narrow = sent.filter(([t]) => t >= 2 && t < 30).map(([, bps]) => bps);
    expect(Math.min(...narrow)).toBe(321_640);
    expect(Math.max(...narrow)).toBe(455_200);
    expect(rateAt(29.9)).toBeLessThan(460_000);
    // Restored at 30 s: the encoder's 1.5 Mbit/s maximum is allowed again 16.6 s later, then the REMB
    // stays 1.5 x what arrives (plus 10 kbit/s), not growing without bound.
    expect(sent.find(([t, bps]) => t > 30 && bps >= 1_500_000)![0]).toBe(46.65);
    expect(rateAt(60)).toBe(1_500_000);
    expect(sent.at(-1)).toEqual([59.65, 2_260_000]);
    // One a second while rising, at once on a fall: never more often.
    expect(sent.length).toBe(69);
  });
});
