/**
 * One measurement window and the figures of a load step made from it (fanout, meeting, latency), and
 * the rules for when stepping stops.
 */
import { cpus } from "node:os";
import { type Bench, sleep } from "./bench.ts";
import { machineBusy, machineSample, processTree, procSample, type ProcSample, tryProcSample, tryTreeSample } from "./proc.ts";
import type { ServerUnderTest } from "./servers.ts";
import { round } from "./stats.ts";
import type { LoadStep } from "./types.ts";
import { udpDrops } from "./udp.ts";
import type { Snapshot } from "./worker.ts";

export interface Window {
  sentDelta: number;
  /** Distinct packets received (by SSRC and sequence number) during the window. */
  recvDelta: number;
  /** Packets received again (retransmissions) during the window. */
  duplicates: number;
  wallS: number;
  sendS: number;
  cpuUs: number;
  rssKb: number;
  eld: { p99Ms: number; maxMs: number } | undefined;
  latency: Snapshot["latency"];
  machineBusy: number;
  /** CPU of the server and the load generators together, share of all cores. */
  benchBusy: number;
  generatorCpu: number;
  /** Receive-buffer drops during the window: at the server's sockets, at the load generators'. */
  serverDrops: number;
  clientDrops: number;
  /** Packets stopped arriving within 5 s of pausing the publishers, at both ends of the window. */
  quiet: boolean;
  /** Relay: heap after a full GC, at the end of the window. */
  heap: { heapUsedMb: number; externalMb: number } | undefined;
  /** The monotonic-clock span (µs) of the window's sending, to pick a CPU profile's samples. */
  span: { fromUs: number; toUs: number };
}

async function snapshotAll(bench: Bench): Promise<Snapshot[]> {
  return Promise.all(bench.windowSources.map((w) => w.call<Snapshot>({ op: "snapshot" })));
}

/**
 * With the publishers paused, waits until nothing arrives any more (no change in received counts for
 * 300 ms; at most 5 s): an overloaded server may still be working through a backlog. Returns the
 * snapshots and whether it got quiet.
 */
async function drained(bench: Bench): Promise<{ snaps: Snapshot[]; quiet: boolean }> {
  const deadline = performance.now() + 5000;
  let snaps = await snapshotAll(bench);
  let stableSince = performance.now();
  for (;;) {
    await sleep(100);
    const next = await snapshotAll(bench);
    if (sumRecv(next) !== sumRecv(snaps)) stableSince = performance.now();
    snaps = next;
    if (performance.now() - stableSince >= bench.plan.drainMs) return { snaps, quiet: true };
    if (performance.now() > deadline) return { snaps, quiet: false };
  }
}

const sumSent = (s: Snapshot[]) => s.reduce((a, x) => a + x.sent.audio + x.sent.video, 0);
const sumRecv = (s: Snapshot[]) => s.reduce((a, x) => a + x.recv.audio + x.recv.video, 0);

/** CPU share of all cores used by processes other than the server, the workers and this harness, over `ms`. */
async function othersBusy(bench: Bench, server: ServerUnderTest, ms: number): Promise<number> {
  const pids = [...server.pids(), process.pid, ...bench.windowSources.flatMap((w) => processTree(w.pid))];
  const a = pids.map(tryProcSample);
  const ma = machineSample();
  await sleep(ms);
  const b = pids.map(tryProcSample);
  const mb = machineSample();
  let ours = 0;
  a.forEach((x, i) => {
    const y = b[i];
    if (x && y) ours += y.cpuUs - x.cpuUs;
  });
  const wallUs = ((b[0]?.at ?? 0) - (a[0]?.at ?? 0)) * 1000;
  return Math.max(0, machineBusy(ma, mb) - (wallUs > 0 ? ours / (wallUs * cpus().length) : 0));
}

/** Waits until other users' load is low (see plan.waitQuietMs); returns how long it waited (ms). */
export async function waitForQuietMachine(bench: Bench, server: ServerUnderTest): Promise<number> {
  if (bench.plan.waitQuietMs <= 0) return 0;
  const started = performance.now();
  for (;;) {
    const others = await othersBusy(bench, server, 1000);
    if (others < 0.25) return performance.now() - started;
    if (performance.now() - started > bench.plan.waitQuietMs) return performance.now() - started;
    bench.progress.set({ phase: `waiting for a quieter machine (others use ${Math.round(others * 100)}% of all cores)` });
  }
}

/**
 * Publishers pause, packets in flight drain, everything is sampled; publishers run for `windowMs`;
 * they pause again, packets drain, everything is sampled again. Sent and received counts therefore
 * cover exactly the same packets.
 */
export async function measureWindow(bench: Bench, server: ServerUnderTest, windowMs: number): Promise<Window> {
  const all = bench.windowSources;
  const waitedMs = await waitForQuietMachine(bench, server);
  if (waitedMs > 1500) bench.progress.set({ phase: `measuring ${windowMs / 1000} s (waited ${Math.round(waitedMs / 1000)} s for a quieter machine)` });
  await Promise.all(all.map((w) => w.call({ op: "pause" })));
  const { snaps: a, quiet: quietA } = await drained(bench);
  const dropGroups = { server: server.pids(), clients: all.flatMap((w) => processTree(w.pid)) };
  const dropsA = udpDrops(dropGroups);
  const cpuA = server.sample();
  const machA = machineSample();
  const genA = all.map((w) => tryTreeSample(w.pid));
  await server.eldReset();
  await Promise.all(all.map((w) => w.call({ op: "window-start" })));
  await Promise.all(all.map((w) => w.call({ op: "resume" })));
  const t0 = performance.now();
  const monoFrom = Number(process.hrtime.bigint() / 1000n);
  await sleep(windowMs);
  await Promise.all(all.map((w) => w.call({ op: "pause" })));
  const t1 = performance.now();
  const span = { fromUs: monoFrom, toUs: Number(process.hrtime.bigint() / 1000n) };
  const { snaps: b, quiet: quietB } = await drained(bench);
  const dropsB = udpDrops(dropGroups);
  const cpuB = server.sample();
  const machB = machineSample();
  const genB = all.map((w) => tryTreeSample(w.pid));
  const eld = await server.eld();
  const heap = await server.heapAfterGc();
  await Promise.all(all.map((w) => w.call({ op: "resume" })));
  const wallS = (cpuB.at - cpuA.at) / 1000;
  let generatorCpu = 0;
  let benchCpuUs = cpuB.cpuUs - cpuA.cpuUs;
  genA.forEach((ga, i) => {
    const gb = genB[i];
    if (!ga || !gb) return;
    generatorCpu = Math.max(generatorCpu, (gb.cpuUs - ga.cpuUs) / ((gb.at - ga.at) * 1000));
    benchCpuUs += gb.cpuUs - ga.cpuUs;
  });
  return {
    sentDelta: sumSent(b) - sumSent(a),
    recvDelta: sumRecv(b) - sumRecv(a),
    duplicates: b.reduce((x, s) => x + s.recv.duplicates, 0) - a.reduce((x, s) => x + s.recv.duplicates, 0),
    wallS,
    sendS: (t1 - t0) / 1000,
    cpuUs: cpuB.cpuUs - cpuA.cpuUs,
    rssKb: cpuB.rssKb,
    // monitorEventLoopDelay reports whole sampling intervals: subtract the 10 ms interval.
    eld: eld ? { p99Ms: Math.max(0, eld.p99Ms - 10), maxMs: Math.max(0, eld.maxMs - 10) } : undefined,
    latency: b.find((s) => s.latency && s.latency.count > 0)?.latency,
    machineBusy: machineBusy(machA, machB),
    benchBusy: benchCpuUs / (wallS * 1e6 * cpus().length),
    generatorCpu,
    serverDrops: dropsB.server! - dropsA.server!,
    clientDrops: dropsB.clients! - dropsA.clients!,
    quiet: quietA && quietB,
    heap,
    span,
  };
}

/** A step's figures from one window (`receiversPerPacket`: how many subscribers each sent packet should reach). */
export function loadStep(
  server: ServerUnderTest, n: number, participants: number, receiversPerPacket: number, w: Window, idle: ProcSample, connect: { failed: number; errors: string[] },
  idleHeap?: { heapUsedMb: number },
): LoadStep {
  const expected = w.sentDelta * receiversPerPacket;
  const step: LoadStep = {
    server: server.kind,
    n,
    participants,
    connectFailed: connect.failed,
    errors: connect.errors,
    windowS: round(w.sendS, 2),
    sentPps: round(w.sentDelta / w.sendS, 0),
    expected,
    delivered: w.recvDelta,
    deliveredPps: round(w.recvDelta / w.sendS, 0),
    deliveryPct: expected > 0 ? round((w.recvDelta / expected) * 100, 2) : NaN,
    serverCpuPct: round((w.cpuUs / (w.wallS * 1e6)) * 100, 1),
    cpuUsPerPacket: w.recvDelta > 0 ? round(w.cpuUs / w.recvDelta, 1) : NaN,
    rssMb: round(w.rssKb / 1024, 1),
    rssPerParticipantKb: round((w.rssKb - idle.rssKb) / participants, 0),
    machineBusyPct: round(w.machineBusy * 100, 0),
    benchBusyPct: round(w.benchBusy * 100, 0),
    generatorCpuPct: round(w.generatorCpu * 100, 0),
    udpDropsServer: w.serverDrops,
    udpDropsClients: w.clientDrops,
    duplicates: w.duplicates,
  };
  if (!w.quiet) step.backlog = true;
  if (w.heap) {
    step.heapAfterGcMb = round(w.heap.heapUsedMb, 1);
    if (idleHeap) step.heapPerParticipantKb = round(((w.heap.heapUsedMb - idleHeap.heapUsedMb) * 1024) / participants, 0);
  }
  if (w.eld) {
    step.eldP99Ms = round(w.eld.p99Ms, 1);
    step.eldMaxMs = round(w.eld.maxMs, 1);
  }
  if (w.latency && w.latency.count > 0) {
    step.latencyP50Ms = round(w.latency.p50, 2);
    step.latencyP99Ms = round(w.latency.p99, 2);
    step.latencySamples = w.latency.count;
  }
  return step;
}

/**
 * Measures once more when a step would end the stepping while other users' processes took more than
 * a quarter of the machine during its window (a shared machine); the retry is what counts.
 */
export async function retryIfDisturbed(bench: Bench, measure: () => Promise<LoadStep>): Promise<LoadStep> {
  const first = await measure();
  const others = first.machineBusyPct - first.benchBusyPct;
  if (!first.stop || others < 25 || bench.plan.waitQuietMs <= 0) return first;
  bench.progress.log(`${describeLoad(first)}\n    (other users took ${others}% of the machine during that window: measuring again)`);
  const second = await measure();
  second.retried = `first window: delivery ${first.deliveryPct}%, ${first.cpuUsPerPacket} µs/pkt, others ${others}% of the machine`;
  return second;
}

/** Why stepping should stop after this step (undefined: go on). */
export function stopReason(s: LoadStep): string | undefined {
  // Saturation by the benchmark itself; other users' load is reported (machine busy %) but does not stop.
  if (s.benchBusyPct >= 90) return `machine saturated (server + load generators use ${s.benchBusyPct}% of all cores)`;
  if (s.generatorCpuPct >= 95) return `a load generator saturated (${s.generatorCpuPct}% of a core)`;
  if (!(s.deliveryPct >= 99)) {
    const missing = s.expected - s.delivered;
    // Lost at the load generators' own sockets: the generators, not the server, were the limit.
    if (s.udpDropsClients > s.udpDropsServer && s.udpDropsClients >= missing * 0.5) {
      return `delivery ${s.deliveryPct}% < 99%, lost at the load generators' sockets (${s.udpDropsClients} datagrams): the machine, not the server, was the limit`;
    }
    return `delivery ${s.deliveryPct}% < 99%`;
  }
  if (s.backlog) return "server still delivering 5 s after the publishers paused (backlog)";
  return undefined;
}

export function describeLoad(s: LoadStep): string {
  const parts = [
    `${s.server.padEnd(5)} N=${String(s.n).padStart(3)}`,
    `${String(s.deliveredPps).padStart(6)} pkt/s`,
    `delivery ${s.deliveryPct}%`,
    `CPU ${s.serverCpuPct}% = ${s.cpuUsPerPacket} us/pkt`,
    `RSS ${s.rssMb} MB (${s.rssPerParticipantKb} kB/participant)`,
  ];
  if (s.heapAfterGcMb !== undefined) parts.push(`heap after GC ${s.heapAfterGcMb} MB (${s.heapPerParticipantKb} kB/participant)`);
  if (s.duplicates) parts.push(`${s.duplicates} duplicates`);
  if (s.eldP99Ms !== undefined) parts.push(`ELD p99 ${s.eldP99Ms} ms`);
  if (s.latencyP99Ms !== undefined) parts.push(`latency p50/p99 ${s.latencyP50Ms}/${s.latencyP99Ms} ms`);
  parts.push(`machine ${s.machineBusyPct}% (bench ${s.benchBusyPct}%)`);
  if (s.udpDropsServer || s.udpDropsClients) parts.push(`UDP drops server/clients ${s.udpDropsServer}/${s.udpDropsClients}`);
  if (s.connectFailed) parts.push(`${s.connectFailed} failed to connect`);
  if (s.backlog) parts.push("still delivering 5 s after the publishers paused");
  if (s.stop) parts.push(`-> stop: ${s.stop}`);
  return `  ${parts.join(" · ")}`;
}
