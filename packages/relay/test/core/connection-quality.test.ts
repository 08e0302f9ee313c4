/**
 * Connection quality: good/poor/lost per participant from the relay's view of their connections (loss
 * both ways, round trip, audio jitter), rated every 2 s and sent to the room on change.
 */
import { describe, expect, it } from "vitest";
import type { ParticipantQuality } from "@sfu-room/protocol";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import { audio, drain, newCore, published, rtp, step } from "./harness.ts";

const INTERVAL = 2000;

/** What the run of the room told each participant: [time, to, updates]. */
type Told = Array<[number, string, ParticipantQuality[]]>;

interface Stretch {
  /** Microphones sending a packet every 20 ms (seq = now / 20). */
  talking: string[];
  /** Packets (by publisher and seq) the relay never gets. */
  lose?: (id: string, seq: number) => boolean;
  /** Extra arrival delay of each packet, ms (jitter). */
  delay?: (id: string, seq: number) => number;
  /** ms by which a publisher's RTP clock is behind the others' (it paused without advancing it). */
  lag?: Record<string, number>;
  /** Who sends transport-cc feedback every 100 ms, and how many of its 5 packets are lost. */
  feedback?: Record<string, number>;
}

/** Runs the room from `start` for `ms` as `stretch` says, waking the core when it asks (at `start + ms` too). */
function run(core: SfuCore, start: number, ms: number, stretch: Stretch): Told {
  const told: Told = [];
  const collect = (now: number) => {
    const { outputs, at } = drain(core);
    for (const o of outputs) if (o.type === "signal" && o.message.type === "connection-quality") told.push([now, o.participantId, o.message.updates]);
    return at;
  };
  let wakeAt = collect(start);
  for (let now = start; now < start + ms; now += 20) {
    if (now >= wakeAt) {
      core.handle({ type: "timeout", now });
      wakeAt = collect(now);
    }
    const seq = now / 20;
    for (const id of stretch.talking) {
      if (stretch.lose?.(id, seq)) continue;
      const timestamp = (seq - (stretch.lag?.[id] ?? 0) / 20) * 960;
      core.handle(rtp(id, `${id}-mic`, { now: now + (stretch.delay?.(id, seq) ?? 0), seq: seq & 0xffff, timestamp }));
      wakeAt = collect(now);
    }
    for (const [id, lost] of Object.entries(stretch.feedback ?? {})) {
      if (now % 100 !== 0) continue;
      const packets = Array.from({ length: 5 }, (_, i) => ({ sentAt: now, size: 100, arrivedAt: i < lost ? -1 : now + 10 }));
      core.handle({ type: "transport-feedback", now, participantId: id, packets });
      wakeAt = collect(now);
    }
  }
  // The rating due at the stretch's end belongs to it.
  if (wakeAt <= start + ms) {
    core.handle({ type: "timeout", now: start + ms });
    collect(start + ms);
  }
  return told;
}

/** A room of `ids`, each publishing a microphone, everyone receiving everyone's. */
function room(...ids: string[]): SfuCore {
  const core = newCore({ connectionQualityIntervalMs: INTERVAL });
  for (const id of ids) step(core, { type: "join", now: 0, participantId: id, requestId: "j", room: "r", name: id, autoSubscribe: true });
  for (const id of ids) {
    for (const o of published(core, { now: 0, participantId: id, requestId: "p", tracks: [audio(`${id}-mic`)] })) {
      if (o.type === "subscription-added") step(core, { type: "subscription-ready", now: 0, subscriptionId: o.subscriptionId });
    }
  }
  return core;
}

/** The same updates to each of `to`, at `at`. */
const toAll = (at: number, to: string[], updates: ParticipantQuality[]): Told => to.map((id) => [at, id, updates]);

describe("connection quality", () => {
  it("is poor while 10 % of a publisher's packets are lost, good again when they arrive, and says nothing while nothing changes", () => {
    const core = room("a", "b");
    expect(run(core, 0, 4000, { talking: ["a", "b"] })).toEqual([]);
    expect(run(core, 4000, 2000, { talking: ["a", "b"], lose: (id, seq) => id === "a" && seq % 10 === 0 })).toEqual(
      toAll(6000, ["a", "b"], [{ participantId: "a", quality: "poor", loss: 0.1, jitterMs: 0 }]),
    );
    expect(run(core, 6000, 2000, { talking: ["a", "b"], lose: (id, seq) => id === "a" && seq % 10 === 0 })).toEqual([]);
    expect(run(core, 8000, 2000, { talking: ["a", "b"] })).toEqual(toAll(10_000, ["a", "b"], [{ participantId: "a", quality: "good", loss: 0, jitterMs: 0 }]));
  });

  it("rates loss under 5 % good, and the downlink from transport-cc feedback", () => {
    const core = room("a", "b");
    // 1 in 25 packets lost upward (4 %): good. b's feedback reports 1 of 5 lost (20 %): poor.
    expect(run(core, 0, 2000, { talking: ["a", "b"], lose: (id, seq) => id === "a" && seq % 25 === 0, feedback: { b: 1 } })).toEqual(
      toAll(2000, ["a", "b"], [{ participantId: "b", quality: "poor", loss: 0.2, jitterMs: 0 }]),
    );
  });

  it("is poor at a 400 ms round trip and at 30 ms of audio jitter", () => {
    const core = room("a", "b");
    core.handle({ type: "round-trip-time", now: 100, participantId: "b", rttMs: 450 });
    // a's packets arrive alternately on time and 40 ms late: RFC 3550 jitter climbs to 40 ms.
    const told = run(core, 0, 2000, { talking: ["a", "b"], delay: (id, seq) => (id === "a" && seq % 2 === 1 ? 40 : 0) });
    // 100 packets give 99 differences of 40 ms: J = 40 (1 - (15/16)^99).
    const jitter = Math.round(40 * (1 - (15 / 16) ** 99) * 10) / 10;
    expect(told).toEqual(toAll(2000, ["a", "b"], [
      { participantId: "a", quality: "poor", loss: 0, jitterMs: jitter },
      { participantId: "b", quality: "poor", loss: 0, rttMs: 450, jitterMs: 0 },
    ]));
    expect(jitter).toBe(39.9);
  });

  it("is lost when an unmuted microphone stops sending; a muted one is not", () => {
    const core = room("a", "b", "c");
    expect(run(core, 0, 2000, { talking: ["a", "b", "c"] })).toEqual([]);
    step(core, { type: "mute", now: 2000, participantId: "c", requestId: "m", trackId: "c-mic", muted: true });
    expect(run(core, 2000, 2000, { talking: ["b"] })).toEqual(toAll(4000, ["a", "b", "c"], [{ participantId: "a", quality: "lost", loss: 0, jitterMs: 0 }]));
    // Back: good at the next rating, the silent stretch counted as neither loss nor jitter (its
    // timestamps go on from where they stopped, as a sender that paused sends them).
    expect(run(core, 4000, 2000, { talking: ["a", "b"], lag: { a: 2000 } })).toEqual(toAll(6000, ["a", "b", "c"], [{ participantId: "a", quality: "good", loss: 0, jitterMs: 0 }]));
  });

  it("is lost when the relay forwards to someone who sent feedback before and has been silent for 10 s", () => {
    const core = room("a", "b");
    expect(run(core, 0, 2000, { talking: ["a"], feedback: { b: 0 } })).toEqual([]);
    // b's feedback stops (its last at 1900) while a's packets go on reaching it: lost once 10 s passed.
    expect(run(core, 2000, 8000, { talking: ["a"] })).toEqual([]);
    expect(run(core, 10_000, 2000, { talking: ["a"] })).toEqual(toAll(12_000, ["a", "b"], [{ participantId: "b", quality: "lost", loss: 0 }]));
    // Its feedback is back: good. (b publishes nothing that arrives: no jitter to tell.)
    expect(run(core, 12_000, 2000, { talking: ["a"], feedback: { b: 0 } })).toEqual(toAll(14_000, ["a", "b"], [{ participantId: "b", quality: "good", loss: 0 }]));
  });

  it("tells a joiner who is not good, and forgets who left", () => {
    const core = room("a", "b");
    run(core, 0, 2000, { talking: ["a", "b"], lose: (id, seq) => id === "a" && seq % 5 === 0 });
    const joined = step(core, { type: "join", now: 2000, participantId: "c", requestId: "j", room: "r", name: "c", autoSubscribe: true });
    const catchUp = joined.filter((o) => o.type === "signal" && o.message.type === "connection-quality");
    // Seqs 1-99 expected (seq 0, lost, was never seen), 19 of them lost.
    expect(catchUp).toEqual([
      { type: "signal", participantId: "c", message: { type: "connection-quality", updates: [{ participantId: "a", quality: "poor", loss: 0.192, jitterMs: 0 }] } },
    ]);
    step(core, { type: "leave", now: 2000, participantId: "a", requestId: "l" });
    expect(run(core, 2000, 2000, { talking: ["b"] })).toEqual([]);
  });

  it("keeps no clock with an interval of 0, or before anyone joined", () => {
    expect(drain(newCore({ connectionQualityIntervalMs: INTERVAL })).at).toBe(Infinity);
    const core = newCore({ connectionQualityIntervalMs: 0 });
    step(core, { type: "join", now: 0, participantId: "a", requestId: "j", room: "r", name: "a", autoSubscribe: true });
    expect(drain(core).at).toBe(Infinity);
    const on = newCore({ connectionQualityIntervalMs: INTERVAL });
    step(on, { type: "join", now: 50, participantId: "a", requestId: "j", room: "r", name: "a", autoSubscribe: true });
    expect(drain(on).at).toBe(50 + INTERVAL);
  });
});
