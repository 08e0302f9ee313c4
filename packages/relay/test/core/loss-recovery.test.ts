import { describe, expect, it } from "vitest";
import type { Output, RetransmitOutput, SendNackOutput } from "../../src/core/index.ts";
import { historySlot } from "../../src/core/index.ts";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import { drain, newCore, published, rtp, step, video } from "./harness.ts";

/** Publisher "pub" sends simulcast q/h/f on "cam"; subscriber "s" is ready and receives the top layer (2). */
function room(): { core: SfuCore; sub: number } {
  const core = newCore({ keyframeRequestIntervalMs: 100 });
  step(core, { type: "join", now: 0, participantId: "pub", requestId: "j", room: "r", name: "", autoSubscribe: true });
  step(core, { type: "join", now: 0, participantId: "s", requestId: "j", room: "r", name: "", autoSubscribe: true });
  published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam", ["q", "h", "f"])] });
  const sub = core.subscriptionOf("s", "cam")!;
  step(core, { type: "subscription-ready", now: 0, subscriptionId: sub });
  return { core, sub };
}

/** Outputs of one packet of `layer` (and of the timeouts due up to its time, fed first as a shell would). */
function packet(core: SfuCore, layer: number, seq: number, now: number, extra: { keyframe?: boolean; timestamp?: number; size?: number } = {}): Output[] {
  return [...advance(core, now), ...step(core, rtp("pub", "cam", { layer, seq, now, timestamp: extra.timestamp ?? seq * 3000, keyframe: extra.keyframe ?? false, size: extra.size ?? 1000 }))];
}

/** Feeds `timeout` inputs at every deadline the core asks for up to `until`; their outputs. */
function advance(core: SfuCore, until: number): Output[] {
  const outputs: Output[] = [];
  for (;;) {
    const { at } = drain(core);
    if (at > until) return outputs;
    outputs.push(...step(core, { type: "timeout", now: at }));
  }
}

const nacks = (outputs: Output[]) => outputs.filter((o): o is SendNackOutput => o.type === "send-nack").map((o) => [o.layer, o.seqs]);
const retransmits = (outputs: Output[]) => outputs.filter((o): o is RetransmitOutput => o.type === "retransmit");
const keyframeRequests = (outputs: Output[]) => outputs.filter((o) => o.type === "request-keyframe").map((o) => (o as { layer: number }).layer);

describe("NACKs to the publisher, per simulcast layer", () => {
  it("NACKs a loss on the forwarded layer once, while the other layers (other sequence spaces) pause", () => {
    const { core } = room();
    const seen: Output[] = [];
    // All three layers flow at first, each in its own sequence space (werift's one shared tracker NACKed
    // the thousands of "gaps" between them).
    seen.push(...packet(core, 0, 40_000, 0), ...packet(core, 1, 7, 0), ...packet(core, 2, 1000, 0, { keyframe: true }));
    seen.push(...packet(core, 0, 40_001, 10), ...packet(core, 1, 8, 10));
    // Then only the top layer: 1010 is lost; the publisher's resend arrives after the NACK.
    for (let seq = 1001; seq <= 1030; seq++) {
      if (seq === 1010) continue;
      if (seq === 1018) {
        expect(nacks(seen)).toEqual([[2, [1010]]]); // 30 ms after the gap was seen, at 140
        seen.push(...packet(core, 2, 1010, 175)); // the resend, within a round trip
      }
      seen.push(...packet(core, 2, seq, (seq - 1000) * 10));
    }
    seen.push(...advance(core, 3000));
    expect(nacks(seen)).toEqual([[2, [1010]]]);
    expect(keyframeRequests(seen)).toEqual([]);
  });

  it("does not NACK a layer nobody is forwarded", () => {
    const { core } = room();
    const seen = [...packet(core, 2, 1000, 0, { keyframe: true })];
    for (let seq = 1; seq <= 30; seq++) if (seq % 5 !== 0) seen.push(...packet(core, 0, seq, seq * 10));
    seen.push(...advance(core, 3000));
    expect(nacks(seen)).toEqual([]);
  });

  it("tolerates reordering within the window: a packet late by fewer than 10 packets and 30 ms is not NACKed", () => {
    const { core } = room();
    const seen = [...packet(core, 2, 100, 0, { keyframe: true })];
    // 105 and 106 swapped; 110 arrives four packets (20 ms) late.
    const order = [101, 102, 103, 104, 106, 105, 107, 108, 109, 111, 112, 113, 114, 110, 115, 116, 117, 118, 119, 120];
    order.forEach((seq, i) => seen.push(...packet(core, 2, seq, (i + 1) * 5)));
    seen.push(...advance(core, 3000));
    expect(nacks(seen)).toEqual([]);
  });

  it("tracks sequence numbers across the 65535 → 0 wrap, and batches the losses seen together", () => {
    const { core } = room();
    const seen = [...packet(core, 2, 65530, 0, { keyframe: true })];
    const sent = [65531, 65532, 65533, 65534, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]; // 65535 and 0 lost
    sent.forEach((seq, i) => seen.push(...packet(core, 2, seq, (i + 1) * 5)));
    expect(nacks(seen)).toEqual([[2, [65535, 0]]]);
    seen.push(...packet(core, 2, 65535, 90), ...packet(core, 2, 0, 91), ...advance(core, 3000));
    expect(nacks(seen)).toEqual([[2, [65535, 0]]]);
  });

  it("retries once per round trip, at most 3 times, then asks for a keyframe instead", () => {
    const { core } = room();
    step(core, { type: "round-trip-time", now: 0, participantId: "pub", rttMs: 50 });
    const seen: Array<[number, Output]> = [];
    const record = (now: number, outputs: Output[]) => outputs.forEach((o) => seen.push([now, o]));
    record(0, packet(core, 2, 500, 0, { keyframe: true }));
    for (let seq = 501; seq <= 520; seq++) if (seq !== 505) record(seq - 500, packet(core, 2, seq, seq - 500));
    // Time passes with no packets (the publisher's resends never come).
    for (;;) {
      const { at } = drain(core);
      if (at > 5000) break;
      record(at, step(core, { type: "timeout", now: at }));
    }
    const timeline = seen.filter(([, o]) => o.type === "send-nack" || o.type === "request-keyframe").map(([t, o]) => [t, o.type]);
    // Lost at 5 (gap seen when 506 came, at 6): NACKed when 515 came (10 newer), then 50 ms apart.
    expect(timeline).toEqual([
      [15, "send-nack"],
      [65, "send-nack"],
      [115, "send-nack"],
      [165, "request-keyframe"],
    ]);
  });

  it("stops NACKing a layer once the subscriber was switched away from it", () => {
    const { core, sub } = room();
    const seen = [...packet(core, 2, 300, 0, { keyframe: true }), ...packet(core, 2, 302, 10)]; // 301 lost
    seen.push(...step(core, { type: "layer-preference", now: 12, subscriptionId: sub, maxLayer: 0 }));
    seen.push(...packet(core, 0, 9000, 15, { keyframe: true })); // the switch, before 301 is NACKed
    seen.push(...advance(core, 3000));
    expect(nacks(seen)).toEqual([]);
    expect(keyframeRequests(seen)).toEqual([0]); // the switch's own request only
  });

  it("gives a gap wider than it can NACK up at once, asking for a keyframe", () => {
    const { core } = room();
    const seen = [...packet(core, 2, 10, 0, { keyframe: true }), ...packet(core, 2, 11, 10), ...packet(core, 2, 500, 20)];
    seen.push(...advance(core, 3000));
    expect(nacks(seen)).toEqual([]);
    expect(keyframeRequests(seen)).toEqual([2]);
  });
});

describe("subscribers' NACKs answered from the relay's history", () => {
  it("resends with the header values first sent, at most once per the subscriber's round trip", () => {
    const { core, sub } = room();
    step(core, { type: "round-trip-time", now: 0, participantId: "s", rttMs: 40 });
    const forwards = [...packet(core, 2, 1000, 0, { keyframe: true }), ...packet(core, 2, 1001, 10), ...packet(core, 2, 1002, 20)];
    const second = forwards.filter((o) => o.type === "forward")[1]!;
    expect(second).toMatchObject({ type: "forward", seq: 1001, timestamp: 1001 * 3000 });

    const ask = (now: number) => retransmits(step(core, { type: "nack", now, subscriptionId: sub, seqs: [1001] }));
    expect(ask(30)).toEqual([
      { type: "retransmit", subscriptionId: sub, subscriberId: "s", trackId: "cam", slot: historySlot(2, 1001), sourceSeq: 1001, seq: 1001, timestamp: 1001 * 3000, marker: false, pictureId: -1, tl0PicIdx: -1 },
    ]);
    expect(ask(50)).toEqual([]); // the resend may still be on its way
    expect(ask(70)).toHaveLength(1); // a round trip later
    expect(core.stats()).toMatchObject({ retransmits: 2, retransmitsWithheld: 1 });
  });

  it("answers in the subscriber's sequence space: after a layer switch, an old seq names the old layer's packet", () => {
    const { core, sub } = room();
    packet(core, 2, 5000, 0, { keyframe: true });
    packet(core, 2, 5001, 10);
    step(core, { type: "layer-preference", now: 15, subscriptionId: sub, maxLayer: 0 });
    const switched = packet(core, 0, 77, 20, { keyframe: true }).filter((o) => o.type === "forward");
    expect(switched).toMatchObject([{ seq: 5002 }]); // continues the subscriber's stream
    const resent = retransmits(step(core, { type: "nack", now: 30, subscriptionId: sub, seqs: [5001, 5002] }));
    expect(resent.map((r) => [r.seq, r.slot, r.sourceSeq])).toEqual([
      [5001, historySlot(2, 5001), 5001],
      [5002, historySlot(0, 77), 77],
    ]);
  });

  it("resends within a budget of 20% of the subscriber's estimate; over it, NACKed packets are not resent", () => {
    const { core, sub } = room();
    for (let seq = 0; seq < 5; seq++) packet(core, 2, seq, seq, { keyframe: seq === 0 });
    // 100 kbit/s: 2,500 bytes/s for resends, at most 1,250 at once; a packet costs 1,000 + 50.
    step(core, { type: "bandwidth-estimate", now: 10, participantId: "s", bitsPerSecond: 100_000 });
    const ask = (now: number, seqs: number[]) => retransmits(step(core, { type: "nack", now, subscriptionId: sub, seqs })).map((r) => r.seq);
    expect(ask(10, [1, 2, 3])).toEqual([1]);
    expect(ask(100, [2, 3])).toEqual([]); // refilled 225 bytes: not enough
    expect(ask(450, [2, 3])).toEqual([2]);
    expect(core.stats().retransmitsWithheld).toBe(5);
  });

  it("does not believe a subscriber claiming no delay and a huge link: at most one resend per packet per 20 ms, 4 Mbit/s", () => {
    const { core, sub } = room();
    for (let seq = 0; seq < 400; seq++) packet(core, 2, seq, seq, { keyframe: seq === 0 });
    step(core, { type: "round-trip-time", now: 400, participantId: "s", rttMs: 0 });
    step(core, { type: "bandwidth-estimate", now: 400, participantId: "s", bitsPerSecond: 10_000_000_000 });
    const ask = (now: number, seqs: number[]) => retransmits(step(core, { type: "nack", now, subscriptionId: sub, seqs })).length;
    expect([ask(400, [5]), ask(401, [5]), ask(419, [5]), ask(420, [5])]).toEqual([1, 0, 0, 1]);
    // 20% of 20 Mbit/s: 500 bytes per ms. The bucket held 12,500 (the default budget's burst) less two
    // resends of 1,050 bytes and has refilled 21 ms since: 19 packets now, then 10 for 20 ms more.
    const all = Array.from({ length: 399 }, (_, i) => i + 1);
    expect(ask(421, all)).toBe(19);
    expect(ask(441, all)).toBe(10);
  });

  it("does not resend what it never sent, nor what it no longer keeps", () => {
    const { core, sub } = room();
    packet(core, 2, 100, 0, { keyframe: true });
    for (let seq = 102; seq < 102 + 600; seq++) packet(core, 2, seq, seq); // 101 lost upstream; 600 newer packets
    const resent = retransmits(step(core, { type: "nack", now: 800, subscriptionId: sub, seqs: [101, 100, 650] }));
    expect(resent.map((r) => r.seq)).toEqual([650]);
  });
});
