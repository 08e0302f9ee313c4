/**
 * The pacer (core/pacer.ts) through the core: when each packet toward a subscriber leaves, exactly,
 * for a given downlink estimate. A video track "cam" and an audio track "mic" of "pub" go to "s".
 */
import { describe, expect, it } from "vitest";
import { historySlot, type Output } from "../../src/core/index.ts";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import { audio, drain, newCore, published, rtp, step, video } from "./harness.ts";

function room(): { core: SfuCore; cam: number; mic: number } {
  const core = newCore();
  step(core, { type: "join", now: 0, participantId: "pub", requestId: "j", room: "r", name: "", autoSubscribe: true });
  step(core, { type: "join", now: 0, participantId: "s", requestId: "j", room: "r", name: "", autoSubscribe: true });
  published(core, { now: 0, participantId: "pub", requestId: "p", tracks: [video("cam"), audio("mic")] });
  const cam = core.subscriptionOf("s", "cam")!;
  const mic = core.subscriptionOf("s", "mic")!;
  step(core, { type: "subscription-ready", now: 0, subscriptionId: cam });
  step(core, { type: "subscription-ready", now: 0, subscriptionId: mic });
  return { core, cam, mic };
}

/** Feeds `timeout` inputs at every deadline up to `until`, as the shell's timer does: [time, output] of each. */
function advance(core: SfuCore, until: number): Array<[number, Output]> {
  const seen: Array<[number, Output]> = [];
  for (;;) {
    const { at } = drain(core);
    if (at > until) return seen;
    for (const o of step(core, { type: "timeout", now: at })) seen.push([at, o]);
  }
}

/** A packet arrives at `now` (after the timeouts due before it): [time, output] of each. */
function packet(core: SfuCore, trackId: string, seq: number, now: number, size = 1000): Array<[number, Output]> {
  const due = advance(core, now);
  const outs = step(core, rtp("pub", trackId, { seq, now, size, timestamp: 90 * seq, keyframe: trackId === "cam" && seq === 1 }));
  return [...due, ...outs.map((o): [number, Output] => [now, o])];
}

/** When each packet toward "s" left: [time, output type, seq the subscriber sees]. */
const departures = (seen: Array<[number, Output]>): Array<[number, string, number]> =>
  seen.flatMap(([t, o]): Array<[number, string, number]> => (o.type === "forward" || o.type === "paced-forward" || o.type === "retransmit" ? [[t, o.type, o.seq]] : []));

/** A keyframe of ten 1000-byte packets at once, as the publisher sends it. */
function keyframe(core: SfuCore, now: number): Array<[number, Output]> {
  const seen: Array<[number, Output]> = [];
  for (let seq = 1; seq <= 10; seq++) seen.push(...packet(core, "cam", seq, now));
  return seen;
}

describe("the pacer toward one subscriber", () => {
  it("without an estimate nothing is paced: a burst goes as it came", () => {
    const { core } = room();
    const seen = keyframe(core, 0);
    expect(departures(seen)).toEqual(Array.from({ length: 10 }, (_, i) => [0, "forward", i + 1]));
  });

  it("spreads a keyframe at 2.5x the estimate: one packet per 8 ms at 400 kbit/s (125 bytes/ms)", () => {
    const { core, cam } = room();
    step(core, { type: "bandwidth-estimate", now: 0, participantId: "s", bitsPerSecond: 400_000 });
    const seen = [...keyframe(core, 0), ...advance(core, 200)];
    // The first goes at once; then each waits until the debt is down to 5 ms of the rate (625 bytes).
    expect(departures(seen)).toEqual([
      [0, "forward", 1],
      [3, "paced-forward", 2], [11, "paced-forward", 3], [19, "paced-forward", 4], [27, "paced-forward", 5], [35, "paced-forward", 6],
      [43, "paced-forward", 7], [51, "paced-forward", 8], [59, "paced-forward", 9], [67, "paced-forward", 10],
    ]);
    // A held packet names the one the shell keeps, with the values its forward would have carried.
    expect(seen.find(([, o]) => o.type === "paced-forward")![1]).toEqual({
      type: "paced-forward", subscriptionId: cam, subscriberId: "s", trackId: "cam", slot: historySlot(0, 2), sourceSeq: 2, seq: 2, timestamp: 180, marker: false, pictureId: -1, tl0PicIdx: -1,
    });
    expect(drain(core).at).toBe(Infinity); // nothing left to wake up for
  });

  it("audio never waits behind video; the video after it waits for the audio's bytes", () => {
    const { core } = room();
    step(core, { type: "bandwidth-estimate", now: 0, participantId: "s", bitsPerSecond: 400_000 });
    const seen = [...keyframe(core, 0), ...packet(core, "mic", 1, 5, 250), ...packet(core, "mic", 2, 25, 250), ...advance(core, 200)];
    expect(departures(seen)).toEqual([
      [0, "forward", 1],
      [3, "paced-forward", 2],
      [5, "forward", 1], // audio, at once, in the middle of the burst
      [13, "paced-forward", 3], // 2 ms (250 bytes) later than without it
      [21, "paced-forward", 4],
      [25, "forward", 2],
      [31, "paced-forward", 5], [39, "paced-forward", 6], [47, "paced-forward", 7], [55, "paced-forward", 8], [63, "paced-forward", 9], [71, "paced-forward", 10],
    ]);
  });

  it("a resend goes ahead of the video still waiting, within the same rate", () => {
    const { core, cam } = room();
    step(core, { type: "bandwidth-estimate", now: 0, participantId: "s", bitsPerSecond: 400_000 });
    const seen = [...keyframe(core, 0), ...advance(core, 20)];
    for (const o of step(core, { type: "nack", now: 20, subscriptionId: cam, seqs: [1] })) seen.push([20, o]);
    seen.push(...advance(core, 200));
    expect(departures(seen)).toEqual([
      [0, "forward", 1],
      [3, "paced-forward", 2], [11, "paced-forward", 3], [19, "paced-forward", 4],
      [27, "retransmit", 1], // before 5-10, which were queued first
      [35, "paced-forward", 5], [43, "paced-forward", 6], [51, "paced-forward", 7], [59, "paced-forward", 8], [67, "paced-forward", 9], [75, "paced-forward", 10],
    ]);
  });

  it("a queue longer than 500 ms at its rate is paced faster: video is delayed, never starved, by an estimate too low", () => {
    const { core } = room();
    // 50 kbit/s: 125 kbit/s of pacing, 15.6 bytes/ms: 40 kB would take 2.5 s.
    step(core, { type: "bandwidth-estimate", now: 0, participantId: "s", bitsPerSecond: 50_000 });
    const seen: Array<[number, Output]> = [];
    for (let seq = 1; seq <= 40; seq++) seen.push(...packet(core, "cam", seq, 0));
    seen.push(...packet(core, "mic", 1, 1, 200));
    seen.push(...advance(core, 5000));
    const left = departures(seen);
    expect(left[0]).toEqual([0, "forward", 1]);
    expect(left.find(([, , seq], i) => i > 0 && seq === 1)).toEqual([1, "forward", 1]); // the audio: at once
    const video = left.filter(([, type]) => type === "paced-forward");
    expect(video.map(([, , seq]) => seq)).toEqual(Array.from({ length: 39 }, (_, i) => i + 2)); // all, in order
    // Faster while the queue holds more than 500 ms of the rate, then at the rate: the last leaves at
    // 1280 ms instead of 39 x 64 = 2496.
    expect(Math.round(video.at(-1)![0])).toBe(1280);
    expect(core.stats().pacerDropped).toBe(0);
  });

  it("beyond 256 held packets the oldest video is dropped, and counted", () => {
    const { core } = room();
    step(core, { type: "bandwidth-estimate", now: 0, participantId: "s", bitsPerSecond: 400_000 });
    const seen: Array<[number, Output]> = [];
    for (let seq = 1; seq <= 300; seq++) seen.push(...packet(core, "cam", seq, 0, 100));
    seen.push(...advance(core, 5000));
    const left = departures(seen);
    // Seven 100-byte packets fit the 5 ms burst and leave at once; of the 293 held, the 37 oldest are dropped.
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    expect(left.map(([, , seq]) => seq)).toEqual([...range(1, 7), ...range(45, 300)]);
    expect(core.stats().pacerDropped).toBe(37);
  });

  it("a subscriber who leaves takes what their pacer held with them", () => {
    const { core } = room();
    step(core, { type: "bandwidth-estimate", now: 0, participantId: "s", bitsPerSecond: 400_000 });
    keyframe(core, 0);
    expect(drain(core).at).toBe(3);
    step(core, { type: "leave", now: 1, participantId: "s" });
    expect(drain(core).at).toBe(Infinity);
    expect(departures(advance(core, 200))).toEqual([]);
  });
});
