/**
 * Data messages through the relay between real werift peers: routing (broadcast, targeted, topics,
 * sender stamped by the relay), integrity and order, limits with specific errors, and the two channels
 * really behaving as promised under loss: reliable = all, in order; lossy = some, never twice.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ServerMessage } from "@sfu-room/protocol";
import type { RelayConfig, RunningRelay } from "@sfu-room/relay";
import { DEFAULT_RELAY_CONFIG } from "@sfu-room/relay";
import { eventually, joinClient, sleep, startTestRelay } from "../support/relay-harness.ts";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";

/** The part of werift's SCTP association the loss test looks at (not public API). */
interface SctpInternals {
  receiveDataChunk(chunk: { streamId: number; flags: number }): void;
}
const SCTP_UNORDERED = 0x04;

const text = (c: WeriftClient) => c.data.map((d) => new TextDecoder().decode(d.frame.payload));

describe("data messages", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  const log: SentLog = new Map();
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
    relay = undefined;
  });

  async function room(names: string[], overrides: Partial<RelayConfig> = {}, options: Record<string, { inboundLoss?: number }> = {}) {
    relay ??= await startTestRelay(overrides);
    const joined: WeriftClient[] = [];
    for (const name of names) {
      const c = new WeriftClient({ name, log, ...options[name] });
      await c.connect(relay.signalUrl);
      await c.join("data");
      joined.push(c);
      clients.push(c);
    }
    await Promise.all(joined.map((c) => c.dataReady()));
    return joined;
  }

  it("broadcast reaches everyone else, with the topic, stamped with the real sender", async () => {
    const [a, b, c] = await room(["a", "b", "c"]);
    a!.sendData("hello", { topic: "chat", from: "someone-else" } as never);
    await eventually("b and c receive it", () => b!.data.length === 1 && c!.data.length === 1);
    await sleep(200);
    expect(a!.data).toEqual([]);
    for (const r of [b!, c!]) {
      const [d] = r.data;
      expect(d!.reliable).toBe(true);
      expect(d!.frame.text).toBe(true);
      expect(d!.frame.header).toEqual({ topic: "chat", from: a!.participantId });
      expect(text(r)).toEqual(["hello"]);
    }
  });

  it("a message to listed participants reaches exactly them; an unknown target delivers to nobody", async () => {
    const [a, b, c, d] = await room(["a", "b", "c", "d"]);
    a!.sendData("for b and d", { to: [b!.participantId, d!.participantId], topic: "dm" });
    await eventually("b and d receive it", () => b!.data.length === 1 && d!.data.length === 1);
    await sleep(200);
    expect(c!.data).toEqual([]);
    expect(text(b!)).toEqual(["for b and d"]);

    const error = a!.waitFor((m) => m.type === "error");
    a!.sendData("to a ghost", { to: [c!.participantId, "Pghost"], id: "m-ghost" });
    expect(await error).toMatchObject({ type: "error", id: "m-ghost", code: "unknown-participant" });
    expect(((await error) as { message: string }).message).toMatch(/"Pghost" is not another participant/);
    await sleep(200);
    expect(c!.data).toEqual([]);
  });

  it("1,000 reliable messages arrive complete and in order; binary payloads arrive byte for byte", async () => {
    const [a, b] = await room(["a", "b"]);
    for (let i = 0; i < 1000; i++) {
      a!.sendData(`msg ${i}`, { topic: "seq" });
      if (i % 100 === 99) await sleep(100); // 1,000/s: within the default limit (500/s, bursts of 1,000)
    }
    await eventually("1000 messages", () => b!.data.length === 1000);
    expect(text(b!)).toEqual(Array.from({ length: 1000 }, (_, i) => `msg ${i}`));

    b!.data.length = 0;
    const payloads = [0, 1, 255, 4096, 16_000].map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff));
    for (const p of payloads) a!.sendData(p, { topic: "bin" });
    await eventually("5 binary messages", () => b!.data.length === 5);
    expect(b!.data.map((d) => d.frame.text)).toEqual([false, false, false, false, false]);
    expect(b!.data.map((d) => Buffer.from(d.frame.payload).equals(Buffer.from(payloads[b!.data.indexOf(d)]!)))).toEqual([true, true, true, true, true]);
  });

  it("a frame over the limit gets data-too-large and the channel keeps working; a bad frame gets bad-data", async () => {
    const [a, b] = await room(["a", "b"], { core: { ...DEFAULT_RELAY_CONFIG.core, maxDataFrameBytes: 2000 } });
    const tooLarge = a!.waitFor((m) => m.type === "error");
    a!.sendData(new Uint8Array(3000), { id: "big-1" });
    expect(await tooLarge).toMatchObject({ type: "error", id: "big-1", code: "data-too-large" });
    const bad = a!.waitFor((m) => m.type === "error" && m.code === "bad-data");
    a!.sendRawData(Uint8Array.from([9, 0, 0, 0]));
    expect(((await bad) as { message: string }).message).toMatch(/version 9/);
    a!.sendData("still works");
    await eventually("b receives the next message", () => b!.data.length === 1);
    expect(text(b!)).toEqual(["still works"]);
  });

  it("a flood beyond the rate limit is limited for that participant only", async () => {
    const [flooder, calm, listener] = await room(["flooder", "calm", "listener"], {
      core: { ...DEFAULT_RELAY_CONFIG.core, dataMessagesPerSecond: 50 },
    });
    const errors: ServerMessage[] = [];
    flooder!.ws.on("message", (d) => {
      const m = JSON.parse(d.toString()) as ServerMessage;
      if (m.type === "error") errors.push(m);
    });
    for (let i = 0; i < 400; i++) flooder!.sendData(`flood ${i}`, { topic: "flood" });
    for (let i = 0; i < 20; i++) {
      calm!.sendData(`calm ${i}`, { topic: "calm" });
      await sleep(25);
    }
    await eventually("all calm messages arrive", () => listener!.data.filter((d) => d.frame.header.topic === "calm").length === 20);
    const flooded = listener!.data.filter((d) => d.frame.header.topic === "flood").length;
    expect(flooded).toBeGreaterThanOrEqual(100); // the burst (2 s worth) got through
    expect(flooded).toBeLessThan(400);
    await eventually("the flooder was told", () => errors.filter((e) => e.type === "error" && e.code === "rate-limited").length === 400 - flooded);
    expect(calm!.errors).toEqual([]);
  });

  it("under loss on the relay's path, reliable messages all arrive in order; lossy ones partly and never twice", async () => {
    const [sender, lossyReceiver] = await room(["sender", "receiver"], {}, { receiver: { inboundLoss: 0.15 } });
    // Watch the SCTP DATA chunks the receiver gets: the lossy stream must carry the U (unordered) bit.
    const sctp = (lossyReceiver!.subscriber as unknown as { sctpTransport: { sctp: SctpInternals } }).sctpTransport.sctp;
    const flagsByStream = new Map<number, Set<number>>();
    const receiveDataChunk = sctp.receiveDataChunk.bind(sctp);
    sctp.receiveDataChunk = (chunk) => {
      if (!flagsByStream.has(chunk.streamId)) flagsByStream.set(chunk.streamId, new Set());
      flagsByStream.get(chunk.streamId)!.add(chunk.flags & SCTP_UNORDERED);
      receiveDataChunk(chunk);
    };
    const N = 150;
    for (let i = 0; i < N; i++) {
      sender!.sendData(`r${i}`, { topic: "reliable" }, true);
      sender!.sendData(`l${i}`, { topic: "lossy" }, false);
      if (i % 10 === 9) await sleep(20);
    }
    await eventually("every reliable message arrives", () => lossyReceiver!.data.filter((d) => d.reliable).length === N, 90_000);
    await sleep(1500); // anything lossy still in flight
    const reliable = lossyReceiver!.data.filter((d) => d.reliable).map((d) => new TextDecoder().decode(d.frame.payload));
    const lossy = lossyReceiver!.data.filter((d) => !d.reliable).map((d) => new TextDecoder().decode(d.frame.payload));
    expect(reliable).toEqual(Array.from({ length: N }, (_, i) => `r${i}`));
    expect(lossy.length).toBeGreaterThan(N * 0.3); // most got through
    expect(lossy.length).toBeLessThan(N * 0.95); // but not all: the lost ones were not retransmitted
    expect(new Set(lossy).size).toBe(lossy.length); // none twice
    expect(lossy.every((m) => /^l\d+$/.test(m))).toBe(true);
    expect(flagsByStream.get(0)).toEqual(new Set([0])); // reliable: ordered
    expect(flagsByStream.get(1)).toEqual(new Set([SCTP_UNORDERED])); // lossy: unordered
  });
});
