/**
 * The send-side estimate per subscriber (core/congestion/*) and the layer caps it drives, with simulated
 * transport-cc feedback: a publisher sends three layers (150k / 500k / 1.5M bit/s) through the core; a
 * simulated bottleneck (a rate, a queue, propagation delay, jitter, random loss) carries what the core
 * forwards (and the probes it sends: congestion/probe-controller.ts) to one subscriber, whose feedback (every 50 ms) goes back into the core. Seeded PRNG:
 * deterministic, so the layer decisions over time are exact.
 */
import { describe, expect, it } from "vitest";
import type { Quality } from "@sfu-room/protocol";
import { historySlot, type Output } from "../../src/core/index.ts";
import { AimdRateControl } from "../../src/core/congestion/aimd-rate-control.ts";
import { LossBasedRate } from "../../src/core/congestion/loss-based.ts";
import { OveruseDetector } from "../../src/core/congestion/overuse-detector.ts";
import { ProbeController } from "../../src/core/congestion/probe-controller.ts";
import type { FeedbackPacket } from "../../src/core/congestion/send-side-estimator.ts";
import { Trendline } from "../../src/core/congestion/trendline.ts";
import { drain, newCore, Prng, published, rtp, stepAll, video } from "./harness.ts";

describe("GCC sub-machines", () => {
  it("Trendline: a growing queue gives a positive trend, a steady one none", () => {
    const rising = new Trendline();
    const steady = new Trendline();
    let r = 0;
    let s = 0;
    for (let i = 0; i < 40; i++) {
      r = rising.update(2, i * 20); // each group 2 ms later than the one before
      s = steady.update(i % 2 ? 1 : -1, i * 20); // jitter around a constant delay
    }
    expect(r).toBeGreaterThan(12.5);
    expect(Math.abs(s)).toBeLessThan(1);
  });

  it("OveruseDetector: overuse only when the trend stays above the threshold; adapts to steady jitter", () => {
    const d = new OveruseDetector();
    expect(d.detect(20, 20, 0)).toBe("normal"); // once is not enough
    expect(d.detect(25, 20, 20)).toBe("overusing");
    expect(d.detect(-20, 20, 40)).toBe("underusing");
    expect(d.detect(0, 20, 60)).toBe("normal");
    // A trend of 10 every time, just under the start threshold: the threshold stays above it.
    const j = new OveruseDetector();
    const states = Array.from({ length: 500 }, (_, i) => j.detect(10, 20, i * 20));
    expect(states.filter((s) => s === "overusing")).toEqual([]);
  });

  it("AimdRateControl: overuse decreases to 0.85 x received; normal grows 8%/s, then additively near the old capacity", () => {
    const a = new AimdRateControl(1_000_000);
    a.update("normal", 900_000, 0);
    a.update("normal", 900_000, 1000);
    expect(a.bitrate).toBeCloseTo(1_080_000, -3);
    a.update("overusing", 800_000, 1100);
    expect(a.bitrate).toBe(680_000);
    a.update("normal", 700_000, 1200); // hold -> increase
    a.update("normal", 700_000, 2200); // near the 800k capacity: +48 kbit/s in a second
    expect(a.bitrate).toBeCloseTo(728_000, -3);
  });

  it("AimdRateControl bounded by 1.5 x received (toward subscribers): an increase stops at 1.5 x received + 10 kbit/s, never lowers; a probe's measure raises it and forgets the capacity", () => {
    const a = new AimdRateControl(500_000, 1.5);
    a.update("normal", 300_000, 0);
    for (let t = 1000; t <= 20_000; t += 1000) a.update("normal", 300_000, t);
    expect(a.bitrate).toBe(500_000); // already above 1.5 x 300k + 10k = 460k: held, not lowered
    a.update("overusing", 300_000, 20_100); // capacity seen near 300k
    expect(a.bitrate).toBe(255_000);
    a.probed(2_000_000);
    expect(a.bitrate).toBe(2_000_000);
    a.probed(1_000_000); // a lower measure never lowers it
    expect(a.bitrate).toBe(2_000_000);
    a.update("normal", 1_900_000, 20_200);
    a.update("normal", 1_900_000, 21_200); // multiplicative again: the 300k capacity is forgotten
    expect(a.bitrate).toBeCloseTo(2_160_000, -3);
  });

  it("AimdRateControl unbounded (a publisher's uplink, whose REMB is bounded instead): grows 8 % a second past what arrives", () => {
    const a = new AimdRateControl(500_000);
    a.update("normal", 300_000, 0);
    for (let t = 1000; t <= 10_000; t += 1000) a.update("normal", 300_000, t);
    expect(a.bitrate).toBeCloseTo(500_000 * 1.08 ** 10, -3);
  });

  it("ProbeController: probes only while a wish is limited and not right after a drop; judges the train; backs off", () => {
    const c = new ProbeController();
    c.onEstimate(1_000_000, 0);
    expect(c.start(0, 1_000_000, undefined, 800_000)).toBeUndefined(); // nothing limited
    expect(c.start(0, 1_000_000, 900_000, 800_000)).toBeUndefined(); // the wish fits the estimate
    c.onEstimate(500_000, 100); // a drop: quiet for 2 s
    expect(c.start(1000, 500_000, 2_000_000, 400_000)).toBeUndefined();
    const probe = c.start(2100, 500_000, 2_000_000, 400_000)!;
    // 1.5 x the estimate at most; the padding is what the media does not send of it.
    expect(probe).toEqual({ start: 2100, end: 2250, targetBps: 750_000, paddingBps: 350_000, estimateBps: 500_000 });
    expect(c.start(2110, 500_000, 2_000_000, 400_000)).toBeUndefined(); // one at a time
    // 750 kbit/s sent over 150 ms (1250-byte packets every 13.33 ms) and all of it arriving as sent: the
    // link carries it. The feedback that reports a packet sent after the window completes it.
    const train = (sendEveryMs: number, arriveEveryMs: number, lostEvery = 0) =>
      Array.from({ length: 12 }, (_, i) => ({ sentAt: 2100 + i * sendEveryMs, size: 1250, arrivedAt: lostEvery && i % lostEvery === 1 ? -1 : 50 + i * arriveEveryMs }));
    expect(c.onFeedback(train(13.33, 13.33), 2300)).toBeUndefined();
    const ok = c.onFeedback([{ sentAt: 2260, size: 1250, arrivedAt: 210 }], 2310)!;
    expect(ok.succeeded).toBe(true);
    expect(ok.measuredBps).toBeCloseTo(750_000, -4);
    // Success: the next may start at once.
    const next = c.start(2310, 750_000, 2_000_000, 400_000)!;
    expect(next.targetBps).toBe(1_125_000);
    // This one arrives at half the rate it was sent: the link is full at ~560k, below the estimate: fails.
    const full = c.onFeedback([...train(8.9, 17.8).map((p) => ({ ...p, sentAt: p.sentAt + 210 })), { sentAt: 2600, size: 1250, arrivedAt: 400 }], 2700)!;
    expect(full.succeeded).toBe(false);
    expect(full.measuredBps).toBeCloseTo(0.95 * 561_800, -4);
    expect(full.floorBps).toBe(full.measuredBps); // an estimate the probe's queue dropped comes back up to it
    // After a failure: 2 s, then 4 s, then 8 s at most.
    expect(c.start(4000, 750_000, 2_000_000, 400_000)).toBeUndefined();
    const third = c.start(4700, 750_000, 2_000_000, 400_000)!;
    expect(third).toBeDefined();
    expect(c.onTimeout(4700 + 150 + 999)).toBeUndefined();
    const timedOut = c.onTimeout(4700 + 150 + 1000)!; // no feedback at all
    expect(timedOut).toEqual({ succeeded: false, measuredBps: 0, floorBps: 0 });
    expect(c.start(5850 + 3999, 750_000, 2_000_000, 400_000)).toBeUndefined();
    expect(c.start(5850 + 4000, 750_000, 2_000_000, 400_000)).toBeDefined();
  });

  it("LossBasedRate: > 10% loss decreases by half the loss, < 2% increases, in between holds", () => {
    const l = new LossBasedRate(1_000_000);
    l.update(0, 0, 0); // the first window starts
    expect(l.update(85, 15, 500)).toBeCloseTo(1_000_000 * (1 - 0.5 * 0.15), -2); // 15 lost of 100
    const held = l.bitrate;
    expect(l.update(95, 5, 1000)).toBe(held); // 5%
    expect(l.update(100, 0, 1500)).toBeCloseTo(held * 1.08 ** 0.5, -2);
  });
});

interface LinkCondition {
  /** Bottleneck rate at time t (bits/s). */
  rate(t: number): number;
  /**
   * One-way propagation delay and ± jitter (ms; uniform, order kept as a queue keeps it, like netem's
   * jitter with a rate), random loss share.
   */
  delayMs?: number;
  jitterMs?: number;
  loss?: number;
}

/**
 * Runs `seconds` of a call: returns the subscriber's forwarded layer each 100 ms, the layer switches
 * [time s, layer] (the first one is the start), and the `bandwidth-limit` messages it got [time s, limit].
 */
function simulate(
  seconds: number,
  link: LinkCondition,
  seed = 1,
  remb?: (t: number) => number,
  quality: Quality = "auto",
): { timeline: number[]; switches: Array<[number, number]>; limits: Array<[number, string]>; probes: number } {
  const core = newCore({ bandwidthUpgradeHoldMs: 3000, keyframeRequestIntervalMs: 100 });
  stepAll(core, { type: "join", now: 0, participantId: "pub", requestId: "j", room: "r", name: "", autoSubscribe: true });
  stepAll(core, { type: "join", now: 0, participantId: "s", requestId: "j", room: "r", name: "", autoSubscribe: true });
  published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", ["q", "h", "f"])] });
  const sub = core.subscriptionOf("s", "cam")!;
  stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: sub });
  stepAll(core, { type: "subscription-settings", now: 0, participantId: "s", requestId: "q", trackId: "cam", settings: { quality } });

  const prng = new Prng(seed);
  const seqs = [0, 0, 0];
  const keyNext = [true, true, true];
  /** Sent, not yet reported: [sentAt, size, arrival or -1, when the subscriber knows]. */
  const inFlight: Array<{ p: FeedbackPacket; reportAt: number }> = [];
  let linkFreeAt = 0; // when the bottleneck has sent everything queued
  let lastArrival = 0;
  const delay = link.delayMs ?? 30;
  const jitter = link.jitterMs ?? 0;
  const limits: Array<[number, string]> = [];
  let probes = 0;
  /** Each packet's size by where the shell would keep it, for the packets the pacer held back. */
  const sizes = new Map<number, number>();
  const onOutputs = (outs: Output[], now: number, current: number) => {
    for (const o of outs) {
      if (o.type === "signal" && o.message.type === "bandwidth-limit") limits.push([now / 1000, o.message.limit]);
      if (o.type === "request-keyframe") keyNext[o.layer] = true;
      if (o.type === "probe") probes++;
      if (o.type !== "forward" && o.type !== "paced-forward" && o.type !== "probe") continue;
      const size = o.type === "forward" ? current : sizes.get(o.slot)!;
      const start = Math.max(now, linkFreeAt);
      const queued = start - now;
      const lost = queued > 300 || prng.next() < (link.loss ?? 0); // a 300 ms tail-drop queue, random loss
      if (!lost) linkFreeAt = start + (size * 8 * 1000) / link.rate(now);
      const arrival = lost ? -1 : Math.max(lastArrival, linkFreeAt + delay + (jitter ? (prng.next() * 2 - 1) * jitter : 0));
      if (!lost) lastArrival = arrival;
      inFlight.push({ p: { sentAt: now, size, arrivedAt: arrival }, reportAt: lost ? now + delay : arrival });
    }
  };

  /** Feeds `timeout` inputs at every deadline the core asks for up to `until`, as the shell's timer does. */
  const advance = (until: number) => {
    for (;;) {
      const { at } = drain(core);
      if (at > until) return;
      onOutputs(stepAll(core, { type: "timeout", now: at }), at, 0);
    }
  };

  const timeline: number[] = [];
  const switches: Array<[number, number]> = [];
  let wakeAt = Infinity; // the core's timeout, fed as the shell does
  for (let now = 0; now < seconds * 1000; now += 10) {
    advance(now);
    if (now % 20 === 0) {
      // One frame per layer every 20 ms: 375 / 1250 / 3750 bytes, in packets of at most 1200 bytes.
      [375, 1250, 3750].forEach((frame, layer) => {
        const keyframe = keyNext[layer]! || now % 2000 === 0;
        keyNext[layer] = false;
        for (let left = frame, first = true; left > 0; left -= 1200, first = false) {
          const size = Math.min(left, 1200);
          sizes.set(historySlot(layer, seqs[layer]! + 1), size);
          onOutputs(stepAll(core, rtp("pub", "cam", { now, layer, size, seq: (seqs[layer] = seqs[layer]! + 1), keyframe: keyframe && first, marker: left <= 1200 })), now, size);
        }
      });
    }
    if (now % 50 === 0) {
      const due = inFlight.filter((f) => f.reportAt <= now);
      if (due.length > 0) {
        for (const f of due) inFlight.splice(inFlight.indexOf(f), 1);
        core.handle({ type: "transport-feedback", now, participantId: "s", packets: due.map((f) => f.p) });
        const fed = drain(core);
        wakeAt = Math.min(wakeAt, fed.at);
        onOutputs(fed.outputs, now, 0);
      }
    }
    // REMB, once a second, if the test sends it.
    if (remb !== undefined && now % 1000 === 500) onOutputs(stepAll(core, { type: "bandwidth-estimate", now, participantId: "s", bitsPerSecond: remb(now) }), now, 0);
    if (now % 100 === 0) {
      const layer = core.subscription(sub)!.currentLayer;
      timeline.push(layer);
      if (switches.at(-1)?.[1] !== layer) switches.push([now / 1000, layer]);
    }
  }
  return { timeline, switches, limits, probes };
}

/** Seconds (of the timeline's 100 ms steps) in [from, to) spent on each layer. */
const secondsOn = (timeline: number[], from: number, to: number) =>
  [0, 1, 2].map((layer) => timeline.slice(from * 10, to * 10).filter((l) => l === layer).length / 10);

describe("layer choice from the send-side estimate", () => {
  it("a stable, ample link: the top layer from the start and no switch in a minute", () => {
    const { switches, probes } = simulate(60, { rate: () => 5_000_000 });
    expect(switches).toEqual([[0, 2]]);
    expect(probes).toBe(0); // nothing is held below its wish: nothing to probe for
  });

  it("a link that narrows to 800 kbit/s steps down within 2 s, stays down while probes find no room, and steps up when it recovers", () => {
    const { timeline, switches, probes } = simulate(90, { rate: (t) => (t >= 20_000 && t < 60_000 ? 800_000 : 5_000_000) });
    // Exactly (deterministic): down at 20.3 s, no upgrade tried while narrow (the probes measure the
    // 800 kbit/s and fail), back on top 5.3 s after the restore (the first probe after it succeeds).
    expect(switches).toEqual([[0, 2], [20.3, 1], [65.3, 2]]);
    // Probe padding: a few packets every few seconds while narrow, backing off (< 1 % of the ~170,000 sent).
    expect(probes).toBeGreaterThan(0);
    expect(probes).toBeLessThan(400);
    expect(secondsOn(timeline, 0, 20)).toEqual([0, 0, 20]);
    const down = switches.find(([t, l]) => t >= 20 && l < 2)!;
    expect(down[0]).toBeLessThan(22);
    // While narrow: mostly the middle layer (500k fits in 800k), the top one only for a failed attempt
    // (after which the lowest, until the estimate grows back); upgrade attempts back off.
    const narrow = secondsOn(timeline, 23, 60);
    expect(narrow[1]).toBeGreaterThan(0.6 * 37);
    expect(narrow[2]).toBeLessThan(1);
    expect(switches.filter(([t, l]) => t >= 23 && t < 60 && l === 2).length).toBeLessThanOrEqual(2);
    // Restored at 60 s: back on the top layer within 10 s, and it stays there.
    const up = switches.find(([t, l]) => t >= 60 && l === 2)!;
    expect(up[0]).toBeLessThan(70);
    expect(secondsOn(timeline, up[0] + 1, 90)[2]).toBeCloseTo(90 - up[0] - 1, 5);
  });

  it("a link of 300 kbit/s from the start: down to the lowest layer and kept there", () => {
    const { timeline, switches } = simulate(60, { rate: () => 300_000 });
    // Two upgrades tried in the first seconds (the estimate grows back between drops before the probes
    // measured the link), then the probes keep it on the lowest layer.
    expect(switches).toEqual([[0, 2], [1.1, 1], [1.7, 0], [4.7, 1], [5.2, 0], [11.2, 1], [11.5, 0]]);
    expect(switches.find(([, l]) => l === 0)![0]).toBeLessThan(3);
    // Upgrade attempts are brief and back off: at most 3 in the minute.
    expect(switches.filter(([t, l]) => t >= 5 && l === 1).length).toBeLessThanOrEqual(3);
    expect(secondsOn(timeline, 5, 60)[0]).toBeGreaterThan(0.95 * 55);
  });

  it("15% random loss steps down, then pauses the video (tried again after 5 s); 1% and 5% do not", () => {
    const heavy = simulate(30, { rate: () => 10_000_000, loss: 0.15 });
    // The loss-based estimate keeps falling under 15 % loss: below the lowest layer's cost (-1: paused
    // for bandwidth), a resume 5 s later (the probe) on the lowest layer.
    expect(heavy.switches).toEqual([[0, 2], [2.1, 1], [10.1, 0], [20.1, -1], [25.1, 0]]);
    expect(heavy.limits).toEqual([[2.05, "reduced"], [20.05, "paused"], [25.05, "reduced"]]);
    expect(heavy.switches.find(([, l]) => l === 0)![0]).toBeLessThan(15);
    expect(simulate(30, { rate: () => 10_000_000, loss: 0.01 }).switches).toEqual([[0, 2]]);
    expect(simulate(30, { rate: () => 10_000_000, loss: 0.05 }).switches).toEqual([[0, 2]]);
  });

  it("with 100 ms ± 30 ms jitter, a link narrowed to 800 kbit/s and restored is back on the top layer within 2 s: probes read the delay's growth, not the spread of arrivals", () => {
    const { switches } = simulate(90, { rate: (t) => (t >= 20_000 && t < 60_000 ? 800_000 : 5_000_000), delayMs: 100, jitterMs: 30 });
    expect(switches).toEqual([[0, 2], [20.4, 1], [46.5, 0], [48.8, 1], [52.7, 0], [55.9, 1], [58.1, 0], [60.7, 1], [61.7, 2]]);
    expect(simulate(60, { rate: () => 5_000_000, delayMs: 100, jitterMs: 30, loss: 0.03 }).switches).toEqual([[0, 2]]); // and 3 % loss with it is no congestion
  });

  it("100 ms ± 30 ms jitter on an ample link is not congestion: no switch", () => {
    expect(simulate(60, { rate: () => 5_000_000, delayMs: 100, jitterMs: 30 }).switches).toEqual([[0, 2]]);
  });

  it("a pinned high quality is a ceiling: the narrow link lowers it, the subscriber is told, and told again when it has its wish", () => {
    const { switches, limits } = simulate(90, { rate: (t) => (t >= 20_000 && t < 60_000 ? 800_000 : 5_000_000) }, 1, undefined, "high");
    // The same decisions as the unpinned wish (auto with no tile size wants the top layer too).
    expect(switches).toEqual([[0, 2], [20.3, 1], [65.3, 2]]);
    // Told when the cap first keeps it below high (the switch follows at the next keyframe), not on every
    // probe while limited; and when it is back.
    expect(limits).toEqual([[20.25, "reduced"], [65.2, "none"]]);
  });

  it("a link below the lowest layer's cost pauses the video, retries with backing off, and resumes for good once the link recovers", () => {
    const { switches, limits } = simulate(80, { rate: (t) => (t < 40_000 ? 100_000 : 5_000_000) }, 1, undefined, "high");
    // Exactly (deterministic): the lowest layer (150k) at 1.6 s; paused (-1) once the estimate stayed
    // below its cost for 2 s; resumed as a probe after 5, 10, 20 s (each failed resume doubles the hold);
    // the resume at 45.1 s, after the link is restored at 40 s, holds, and probes bring the layers back
    // within 1.5 s.
    expect(switches).toEqual([[0, 2], [1.1, 1], [1.6, 0], [5.6, -1], [10.6, 0], [12.8, -1], [22.8, 0], [25.1, -1], [45.1, 0], [45.6, 1], [46.6, 2]]);
    // The subscriber is told each change: limited, paused, limited again (the resume), ... and back.
    expect(limits).toEqual([[1, "reduced"], [5.55, "paused"], [10.55, "reduced"], [12.8, "paused"], [22.8, "reduced"], [25.05, "paused"], [45.05, "reduced"], [46.5, "none"]]);
  });

  it("an ample link never says the link limits", () => {
    expect(simulate(30, { rate: () => 5_000_000 }, 1, undefined, "high").limits).toEqual([]);
  });

  it("once transport-cc feedback flows, the subscriber's REMB no longer caps its layers", () => {
    // A REMB that falls from 3 Mbit/s to 300k (alone, that is congestion: BandwidthController caps).
    expect(simulate(20, { rate: () => 5_000_000 }, 1, (t) => (t < 1000 ? 3_000_000 : 300_000)).switches).toEqual([[0, 2]]);
  });
});
