/**
 * ArrivalStamper: packets a stalled event loop reads together get back the spacing they arrived with,
 * so the publisher's estimator does not see the relay's own stall as a queue on its uplink.
 */
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { ArrivalStamper, spreadBatch } from "../../src/rtc/arrival-stamper.ts";

describe("spreadBatch", () => {
  it("keeps packets read as they came at their read times", () => {
    expect(spreadBatch(1000, true, [1000, 1000.2, 1000.4])).toEqual([1000, 1000.2, 1000.4]);
    expect(spreadBatch(1000, true, [1000])).toEqual([1000]);
  });
  it("spreads packets queued behind a stall evenly from the one that woke the loop to the last read", () => {
    // 1000: read, then the loop is busy 40 ms; four more packets wait and are read at once.
    expect(spreadBatch(1000, true, [1000, 1040, 1040, 1040, 1040])).toEqual([1000, 1010, 1020, 1030, 1040]);
  });
  it("spreads a batch that was queued from its start from the read before it", () => {
    expect(spreadBatch(960, false, [1000, 1000, 1000, 1000])).toEqual([970, 980, 990, 1000]);
    expect(spreadBatch(960, false, [1000])).toEqual([1000]);
  });
  it("never stamps a packet after its read, nor out of order, nor more than 100 ms early", () => {
    expect(spreadBatch(1000, true, [1000, 1000.5, 1080, 1080])).toEqual([1000, 1000.5, 1053.3333333333333, 1080]);
    expect(spreadBatch(0, false, [1000, 1000])).toEqual([950, 1000]);
  });
});

/**
 * A child process sending one datagram every `intervalMs` to `port` (its own event loop: our stall does
 * not stop it), each with its index and its send time on the monotonic clock both processes share.
 */
const SENDER = `
const dgram = require("node:dgram");
const [port, count, intervalMs] = process.argv.slice(1).map(Number);
const s = dgram.createSocket("udp4");
let i = 0;
const t = setInterval(() => {
  const b = Buffer.alloc(12); b.writeUInt32BE(i); b.writeDoubleBE(Number(process.hrtime.bigint()) / 1e6, 4);
  s.send(b, port, "127.0.0.1");
  if (++i === count) { clearInterval(t); setTimeout(() => s.close(), 50); }
}, intervalMs);
`;

describe("ArrivalStamper on a real socket", () => {
  it("turns a stalled loop's burst back into steady arrivals", async () => {
    const COUNT = 60;
    const INTERVAL_MS = 5;
    const STALL_MS = 80;
    const socket = createSocket("udp4");
    socket.bind(0, "127.0.0.1");
    await once(socket, "listening");
    const sentAt = new Map<number, number>(); // on this process's performance.now() clock
    const toPerformanceClock = performance.now() - Number(process.hrtime.bigint()) / 1e6;
    const raw = new Map<number, number>();
    const stamped = new Map<number, number>();
    const stamper = new ArrivalStamper((seq, at) => stamped.set(seq, at));
    let stalled = false;
    socket.on("message", (msg) => {
      const seq = msg.readUInt32BE(0);
      sentAt.set(seq, msg.readDoubleBE(4) + toPerformanceClock);
      raw.set(seq, performance.now());
      stamper.arrived(seq);
      if (seq === COUNT / 2 && !stalled) {
        stalled = true;
        // The relay busy for STALL_MS: datagrams wait in the socket's buffer meanwhile.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, STALL_MS);
      }
    });
    const sender = spawn(process.execPath, ["-e", SENDER, String((socket.address() as { port: number }).port), String(COUNT), String(INTERVAL_MS)], { stdio: "inherit" });
    await once(sender, "exit");
    await new Promise((r) => setTimeout(r, 100));
    socket.close();
    expect(raw.size).toBe(COUNT);
    expect(stamped.size).toBe(COUNT);

    // The largest rise of one-way delay between consecutive packets (arrival gap minus send gap, ms),
    // what a delay-based estimator reads as a queue: raw, the stall makes a packet read STALL_MS late;
    // stamped, only ordinary scheduling jitter is left.
    const worstJump = (times: Map<number, number>): number => {
      let worst = 0;
      for (let i = 1; i < COUNT; i++) worst = Math.max(worst, times.get(i)! - times.get(i - 1)! - (sentAt.get(i)! - sentAt.get(i - 1)!));
      return worst;
    };
    const rawJump = worstJump(raw);
    const stampedJump = worstJump(stamped);
    expect(rawJump, "the stall must show in the raw read times").toBeGreaterThanOrEqual(STALL_MS / 2);
    expect(stampedJump, `worst delay jump: stamped ${stampedJump.toFixed(1)} ms, raw ${rawJump.toFixed(1)} ms`).toBeLessThan(rawJump / 2);
    // Order is kept: arrival times never go backwards.
    for (let i = 1; i < COUNT; i++) expect(stamped.get(i)!).toBeGreaterThanOrEqual(stamped.get(i - 1)!);
  });
});
