/**
 * Small reliable data messages between two werift clients through the relay (relay in-process is
 * enough here: the figure is the relay path's rate and latency, not its CPU). Sender and receiver share
 * one clock, so the send time travels in the payload.
 *
 *   tsx bench/data-latency.ts [--messages 5000] [--bytes 64] [--pace 16384]
 */
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, startRelay } from "@sfu-room/relay";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const MESSAGES = arg("messages", 5000);
const BYTES = arg("bytes", 64);
/** Keep at most this much queued on the sender (werift SCTP stalls on long bursts: see the note). */
const PACE_BYTES = arg("pace", 16 * 1024);

const relay = await startRelay(
  // One process: a latency between two clients in one room, which one worker would hold anyway.
  { ...DEFAULT_RELAY_CONFIG, port: 0, workers: 1, core: { ...DEFAULT_RELAY_CONFIG.core, dataMessagesPerSecond: 100_000, dataBytesPerSecond: 1024 ** 3 } },
  pino({ level: "warn" }),
);
const log: SentLog = new Map();
const [a, b] = [new WeriftClient({ name: "a", log }), new WeriftClient({ name: "b", log })];
for (const c of [a, b]) {
  await c.connect(relay.signalUrl);
  await c.join("data-bench");
}
await Promise.all([a.dataReady(), b.dataReady()]);

// 1. Latency: one message at a time (no queueing), 500 round trips of send -> arrival.
const latencies: number[] = [];
for (let i = 0; i < 500; i++) {
  const payload = new Uint8Array(BYTES);
  new DataView(payload.buffer).setFloat64(0, performance.now());
  const before = b.data.length;
  a.sendData(payload, { topic: "lat" });
  while (b.data.length === before) await new Promise((r) => setImmediate(r));
  latencies.push(performance.now() - new DataView(b.data.at(-1)!.frame.payload.buffer, b.data.at(-1)!.frame.payload.byteOffset).getFloat64(0));
}
latencies.sort((x, y) => x - y);

// 2. Throughput: MESSAGES sent as fast as the channel takes them; time until the last arrives.
b.data.length = 0;
const start = performance.now();
for (let i = 0; i < MESSAGES; i++) {
  a.sendData(new Uint8Array(BYTES), { topic: "rate" });
  while (a.reliableChannel!.bufferedAmount > PACE_BYTES) await new Promise((r) => setTimeout(r, 1));
}
while (b.data.length < MESSAGES) {
  if (performance.now() - start > 20_000) break;
  await new Promise((r) => setTimeout(r, 5));
}
const seconds = (performance.now() - start) / 1000;

const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2);
console.log(`reliable data, ${BYTES}-byte messages, werift -> relay -> werift on loopback`);
console.log(`latency (one at a time, n=${latencies.length}): median ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`);
console.log(`throughput: ${b.data.length}/${MESSAGES} delivered in ${seconds.toFixed(2)} s = ${Math.round(b.data.length / seconds)} messages/s`);
await Promise.all([a.close(), b.close()]);
await relay.close();
process.exit(0);
