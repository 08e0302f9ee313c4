import { describe, expect, it } from "vitest";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import type { DataInput } from "../../src/core/index.ts";
import { newCore, step } from "./harness.ts";

function roomOf(names: string[], room = "r", core: SfuCore = newCore({ maxDataFrameBytes: 1000, dataMessagesPerSecond: 10, dataBytesPerSecond: 5000 })) {
  for (const n of names) step(core, { type: "join", now: 0, participantId: n, requestId: "j", room, name: n, autoSubscribe: true });
  return core;
}

const data = (participantId: string, fields: Partial<DataInput> = {}): DataInput => ({
  type: "data", now: 0, participantId, reliable: true, malformed: undefined, to: undefined, size: 100, messageId: undefined, ...fields,
});

describe("data routing", () => {
  it("broadcast goes to everyone else in the room, in join order, on the channel it came on", () => {
    const core = roomOf(["a", "b", "c"]);
    roomOf(["x"], "elsewhere", core);
    expect(step(core, data("b"))).toEqual([{ type: "deliver-data", from: "b", recipients: ["a", "c"], reliable: true }]);
    expect(step(core, data("a", { reliable: false }))).toEqual([{ type: "deliver-data", from: "a", recipients: ["b", "c"], reliable: false }]);
  });

  it("a lone participant's broadcast delivers nothing and is no error", () => {
    expect(step(roomOf(["solo"]), data("solo"))).toEqual([]);
  });

  it("targeted goes to exactly the listed participants, each once", () => {
    const core = roomOf(["a", "b", "c", "d"]);
    expect(step(core, data("a", { to: ["d", "b", "d"] }))).toEqual([{ type: "deliver-data", from: "a", recipients: ["d", "b"], reliable: true }]);
  });

  it("a target outside the room, or the sender itself, delivers to nobody with unknown-participant", () => {
    const core = roomOf(["a", "b"]);
    roomOf(["x"], "elsewhere", core);
    const out = step(core, data("a", { to: ["b", "x", "a"], messageId: "m1" }));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: "signal", participantId: "a", message: { type: "error", id: "m1", code: "unknown-participant" } });
    expect(JSON.stringify(out[0])).toMatch(/\\"x\\", \\"a\\" are not another participant of room \\"r\\"/);
  });

  it("a frame over the size limit gets data-too-large with the message id", () => {
    const core = roomOf(["a", "b"]);
    expect(step(core, data("a", { size: 1001, messageId: "big" }))).toEqual([
      {
        type: "signal", participantId: "a",
        message: { type: "error", id: "big", code: "data-too-large", message: "a data frame of 1001 bytes is over the limit of 1000; split the message into parts" },
      },
    ]);
    expect(step(core, data("a", { size: 1000 }))[0]).toMatchObject({ type: "deliver-data" });
  });

  it("rate limits count frames and bytes per sender, refill with time, and never touch others", () => {
    const core = roomOf(["a", "b"]);
    const kinds = (n: number, from: string, now: number, size = 10) =>
      Array.from({ length: n }, () => step(core, data(from, { now, size }))[0]).map((o) => (o?.type === "deliver-data" ? "ok" : o?.type === "signal" && o.message.type === "error" ? o.message.code : "?"));
    // 10 frames/s, bursts of 20.
    expect(kinds(22, "a", 0)).toEqual([...Array(20).fill("ok"), "rate-limited", "rate-limited"]);
    expect(kinds(3, "b", 0)).toEqual(["ok", "ok", "ok"]); // b has its own bucket
    expect(kinds(2, "a", 100)).toEqual(["ok", "rate-limited"]); // 100 ms later: one frame earned
    // 5000 bytes/s, bursts of 10000: after 2 s idle, two 1000-byte frames... up to 10 of them.
    expect(kinds(11, "b", 2000, 1000)).toEqual([...Array(10).fill("ok"), "rate-limited"]);
  });

  it("frames from participants that are not joined are ignored", () => {
    expect(step(roomOf(["a"]), data("ghost"))).toEqual([]);
  });
});
