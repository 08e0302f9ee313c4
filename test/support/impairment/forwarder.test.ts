/**
 * The impairment forwarder does to real UDP traffic what its conditions say (loopback sockets, the
 * forwarder's worker in between): a 500 kbit/s cap carries about 500 kbit/s and drops the excess at
 * its queue, loss takes its share, delay and jitter bound every datagram's transit, each direction on
 * its own, and a change applies while traffic flows. Bounds are statistical, wide enough for a busy
 * 2-core machine, tight enough that a forwarder ignoring a condition fails.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSocket, type Socket } from "node:dgram";
import { type Forwarder, startForwarder } from "./forwarder.ts";

const HOST = "127.0.0.1";
const DATAGRAM = 1200;

interface Arrival {
  seq: number;
  at: number;
  transitMs: number;
}

/** A socket bound on loopback that records what arrives (sequence number and send time in the first 12 bytes). */
async function endpoint(): Promise<{ socket: Socket; port: number; arrivals: Arrival[] }> {
  const socket = createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, HOST, r));
  const arrivals: Arrival[] = [];
  socket.on("message", (data) => {
    const at = performance.now();
    arrivals.push({ seq: data.readUInt32BE(0), at, transitMs: at - data.readDoubleBE(4) });
  });
  return { socket, port: socket.address().port, arrivals };
}

/** The 95th percentile: upper bounds on transit times ignore the few datagrams that a busy machine's event loops delayed. */
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;

function datagram(seq: number): Buffer {
  const data = Buffer.alloc(DATAGRAM);
  data.writeUInt32BE(seq, 0);
  data.writeDoubleBE(performance.now(), 4);
  return data;
}

/** Sends `count` datagrams, `perTick` every 10 ms, from `from` to `to`'s port on loopback. */
async function send(from: Socket, port: number, count: number, perTick: number): Promise<void> {
  for (let seq = 0; seq < count; ) {
    for (let i = 0; i < perTick && seq < count; i++) from.send(datagram(seq++), port, HOST);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 400)); // what is still queued or delayed comes out
}

describe("the impairment forwarder", () => {
  let forwarder: Forwarder;
  let client: Awaited<ReturnType<typeof endpoint>>;
  let server: Awaited<ReturnType<typeof endpoint>>;
  let port: number;
  /** The client's link is keyed by its address and port (both ends share 127.0.0.1 here). */
  let clientKey: string;

  beforeEach(async () => {
    forwarder = await startForwarder();
    client = await endpoint();
    server = await endpoint();
    port = await forwarder.route({ address: HOST, port: 0 }, { address: HOST, port: server.port });
    clientKey = `${HOST}:${client.port}`;
    // The server answers every datagram with the same bytes, back through the forwarder.
    server.socket.on("message", (data, from) => server.socket.send(data, from.port, from.address));
  });

  afterEach(async () => {
    await forwarder.close();
    client.socket.close();
    server.socket.close();
  });

  it("a clean link carries everything both ways", async () => {
    await send(client.socket, port, 200, 4);
    expect(server.arrivals).toHaveLength(200);
    expect(client.arrivals).toHaveLength(200);
  });

  it("an uplink capped at 500 kbit/s carries about 500 kbit/s of a 1.9 Mbit/s stream and drops the rest at its queue; the downlink stays clean", async () => {
    await forwarder.set(clientKey, "up", { rateBps: 500_000, queueMs: 80 });
    await send(client.socket, port, 600, 2); // 2 x 1200 bytes per 10 ms: 1.92 Mbit/s for 3 s
    const a = server.arrivals;
    const seconds = (a.at(-1)!.at - a[0]!.at) / 1000;
    const kbps = ((a.length - 1) * DATAGRAM * 8) / seconds / 1000;
    expect(kbps).toBeGreaterThan(450);
    expect(kbps).toBeLessThan(550);
    // Delivered share near 500/1920; the queue (80 ms at 500 kbit/s = 4 datagrams) bounds the transit.
    expect(a.length).toBeGreaterThan(600 * 0.2);
    expect(a.length).toBeLessThan(600 * 0.33);
    expect(p95(a.map((x) => x.transitMs))).toBeLessThan(80 + 19 + 40);
    const link = (await forwarder.counters())[clientKey]!;
    expect(link.up.queueDrops).toBe(600 - a.length);
    // Every echo of what passed comes back: the downlink has no cap.
    expect(client.arrivals).toHaveLength(a.length);
  });

  it("20% loss on the downlink drops about a fifth of what comes back, and nothing on the way up", async () => {
    await forwarder.set(clientKey, "down", { loss: 0.2 });
    await send(client.socket, port, 1000, 5);
    expect(server.arrivals).toHaveLength(1000);
    expect(client.arrivals.length).toBeGreaterThan(1000 * 0.74);
    expect(client.arrivals.length).toBeLessThan(1000 * 0.86);
    expect((await forwarder.counters())[clientKey]!.down.lost).toBe(1000 - client.arrivals.length);
  });

  it("100 ms +- 30 ms on the uplink delays every datagram by 70-130 ms, spread over that range", async () => {
    await forwarder.set(clientKey, "up", { delayMs: 100, jitterMs: 30 });
    await send(client.socket, port, 200, 2);
    const transit = server.arrivals.map((x) => x.transitMs);
    expect(transit).toHaveLength(200);
    expect(Math.min(...transit)).toBeGreaterThanOrEqual(70 - 1); // Node's timers count whole milliseconds of a loop clock: up to 1 ms early
    expect(p95(transit)).toBeLessThan(130 + 40);
    expect(p95(transit) - Math.min(...transit)).toBeGreaterThan(30);
  });

  it("a cap set while traffic flows applies from then on, and lifting it restores the full rate", async () => {
    const sending = send(client.socket, port, 900, 2); // 4.5 s at 1.92 Mbit/s
    await new Promise((r) => setTimeout(r, 1500));
    await forwarder.set(clientKey, "up", { rateBps: 300_000 });
    await new Promise((r) => setTimeout(r, 1500));
    await forwarder.set(clientKey, "up", {});
    await sending;
    const a = server.arrivals;
    const t0 = a[0]!.at;
    const kbpsBetween = (from: number, to: number) => (a.filter((x) => x.at - t0 >= from && x.at - t0 < to).length * DATAGRAM * 8) / (to - from);
    expect(kbpsBetween(200, 1300)).toBeGreaterThan(1000); // the sender's own pace (its timers run late): well above the cap
    expect(kbpsBetween(1800, 2800)).toBeLessThan(400);
    expect(kbpsBetween(3300, 4300)).toBeGreaterThan(1000);
  });

  it("refuses impossible conditions with a message that names them", async () => {
    await expect(forwarder.set(clientKey, "up", { loss: 2 })).rejects.toThrow(/impossible link conditions: \{"loss":2\}/);
  });
});
