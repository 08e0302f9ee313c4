/** Active speakers: the speaking set and the dominant speaker, from the audio levels in the packets. */
import { describe, expect, it } from "vitest";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import type { Speaker } from "@sfu-room/protocol";
import { audio, drain, newCore, published, rtp, step } from "./harness.ts";

/** -dBov of each publisher's packets over a stretch of time (127: silence). */
type Levels = Record<string, number>;

/**
 * Runs the room for `ms` from `start`: every publisher in `levels` sends a packet every 20 ms (Opus's
 * frame), and the core is woken when it asked. Returns each `active-speakers` message "obs" got, with
 * the time it came.
 */
function talk(core: SfuCore, start: number, ms: number, levels: Levels): Array<[number, Speaker[]]> {
  const heard: Array<[number, Speaker[]]> = [];
  const collect = (now: number, outputs: ReturnType<typeof drain>["outputs"]) => {
    for (const o of outputs) if (o.type === "signal" && o.participantId === "obs" && o.message.type === "active-speakers") heard.push([now, o.message.speakers]);
  };
  let wakeAt = drain(core).at;
  for (let now = start; now < start + ms; now += 20) {
    if (now >= wakeAt) {
      core.handle({ type: "timeout", now });
      const { outputs, at } = drain(core);
      collect(now, outputs);
      wakeAt = at;
    }
    for (const [id, dBov] of Object.entries(levels)) {
      core.handle(rtp(id, `${id}-mic`, { now, seq: now / 20, timestamp: now * 48, audioLevel: dBov }));
      const { outputs, at } = drain(core);
      collect(now, outputs);
      wakeAt = at;
    }
  }
  return heard;
}

function room(...publishers: string[]): SfuCore {
  const core = newCore();
  for (const id of ["obs", ...publishers]) step(core, { type: "join", now: 0, participantId: id, requestId: "j", room: "r", name: id, autoSubscribe: true });
  for (const id of publishers) published(core, { now: 0, participantId: id, requestId: "p", tracks: [audio(`${id}-mic`)] });
  return core;
}

const speaker = (participantId: string, level: number): Speaker => ({ participantId, level });

describe("active speakers", () => {
  it("follow who is louder: a speaker enters at once, stays through the hold, and dominance needs a clear margin", () => {
    const core = room("a", "b");
    // a speaks alone (-20 dBov: 0.1): in the set at the first evaluation.
    expect(talk(core, 0, 2000, { a: 20, b: 127 })).toEqual([[400, [speaker("a", 0.05)]]]);
    // b as loud as a: b joins the set, a stays dominant, and nothing more is said while it lasts.
    expect(talk(core, 2000, 2000, { a: 20, b: 20 })).toEqual([[2400, [speaker("a", 0.098), speaker("b", 0.05)]]]);
    // a stops: b takes over one interval later; a leaves the set 1200 ms after their last speech.
    expect(talk(core, 4000, 3000, { a: 127, b: 20 })).toEqual([
      [4400, [speaker("b", 0.098), speaker("a", 0.05)]],
      [5200, [speaker("b", 0.1)]],
    ]);
    // a comes back quieter than b (-10 dBov): a second, b still dominant.
    expect(talk(core, 7000, 2000, { a: 20, b: 10 })).toEqual([[7200, [speaker("b", 0.154), speaker("a", 0.05)]]]);
    // a much louder (0 dBov, over 1.5 times b): a becomes dominant.
    expect(talk(core, 9000, 2000, { a: 0, b: 10 })).toEqual([[9600, [speaker("a", 0.662), speaker("b", 0.314)]]]);
    // Silence: both leave together after the hold, and the core stops asking for wake-ups.
    expect(talk(core, 11000, 3000, { a: 127, b: 127 })).toEqual([[12400, []]]);
    expect(drain(core).at).toBe(Infinity);
  });

  it("two speakers at equal levels never flap, even with the levels alternating around each other", () => {
    const core = room("a", "b");
    const heard: Array<[number, Speaker[]]> = [];
    for (let t = 0; t < 10_000; t += 200) heard.push(...talk(core, t, 200, t % 400 === 0 ? { a: 20, b: 21 } : { a: 21, b: 20 }));
    expect(heard).toEqual([[400, [speaker("a", 0.047), speaker("b", 0.047)]]]);
  });

  it("every member of the room hears it, the speakers too", () => {
    const core = room("a", "b");
    core.handle(rtp("a", "a-mic", { now: 0, audioLevel: 10 }));
    expect(drain(core).at).toBe(400);
    expect(step(core, { type: "timeout", now: 400 })).toEqual(
      ["obs", "a", "b"].map((participantId) => ({ type: "signal", participantId, message: { type: "active-speakers", speakers: [speaker("a", 0.158)] } })),
    );
  });

  it("someone who joins while a speaker speaks hears who speaks at once, after joined", () => {
    const core = room("a");
    expect(talk(core, 0, 1000, { a: 20 })).toEqual([[400, [speaker("a", 0.05)]]]);
    const out = step(core, { type: "join", now: 1000, participantId: "late", requestId: "j", room: "r", name: "late", autoSubscribe: false });
    expect(out.filter((o) => o.type === "signal" && o.participantId === "late").map((o) => o.type === "signal" && o.message.type)).toEqual(["joined", "active-speakers"]);
    expect(out).toContainEqual({ type: "signal", participantId: "late", message: { type: "active-speakers", speakers: [speaker("a", 0.05)] } });
  });

  it("clicks are not speech, and silent microphones cost no wake-ups", () => {
    const core = room("a");
    expect(talk(core, 0, 4000, { a: 127 })).toEqual([]);
    expect(drain(core).at).toBe(Infinity);
    // 3 loud packets in an interval of 20: under the 40 % share.
    core.handle(rtp("a", "a-mic", { now: 4000, audioLevel: 0 }));
    core.handle(rtp("a", "a-mic", { now: 4020, audioLevel: 0 }));
    core.handle(rtp("a", "a-mic", { now: 4040, audioLevel: 0 }));
    expect(talk(core, 4060, 2000, { a: 127 })).toEqual([]);
    expect(drain(core).at).toBe(Infinity);
  });

  it("speech after a long silence counts from its first interval, not against the silence before it", () => {
    const core = room("a");
    expect(talk(core, 0, 10_000, { a: 127 })).toEqual([]);
    expect(talk(core, 10_000, 1000, { a: 20 })).toEqual([[10_400, [speaker("a", 0.05)]]]);
  });

  it("a muted track leaves the set at once, and so does a speaker who leaves the room", () => {
    const core = room("a", "b");
    expect(talk(core, 0, 1000, { a: 20, b: 20 })).toEqual([[400, [speaker("a", 0.05), speaker("b", 0.05)]]]);
    step(core, { type: "mute", now: 1000, participantId: "a", requestId: "m", trackId: "a-mic", muted: true });
    // a leaves at the next evaluation (no hold for a mute), though their packets still say speech.
    expect(talk(core, 1000, 2000, { a: 20, b: 20 })).toEqual([[1200, [speaker("b", 0.088)]]]);
    step(core, { type: "leave", now: 3000, participantId: "b" });
    expect(talk(core, 3000, 1000, {})).toEqual([[3200, []]]);
    expect(drain(core).at).toBe(Infinity);
  });
});
