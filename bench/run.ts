/**
 * The benchmark harness (`pnpm bench`, `pnpm bench --quick`): our relay against Janus VideoRoom on
 * this machine, same load, one run. See bench/README.md for what is measured and how.
 *
 *   node --import tsx bench/run.ts [--quick] [--servers relay,janus] [--scenarios fanout,meeting,join-storm,latency]
 *       [--fanout-steps 10,25,...] [--meeting-steps 2,4,...] [--storm-steps 10,20,...] [--window SECONDS]
 *       [--capacity N] [--profile | --no-profile] [--no-ab] [--relay-experiments LIST] [--out DIR]
 *
 * Layout: this process orchestrates; each server runs in its own process (bench/relay-server.ts, or
 * janus); the load generators are separate processes (bench/lib/worker.ts): one holds the publisher(s)
 * and the latency probe, the others the subscribers. All of it runs in a private network namespace
 * (bench/lib/netns.ts), so no packet leaves the machine or reaches its other addresses.
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describeFixture, loadFixtures } from "./lib/fixture.ts";
import { createJanusRoom } from "./lib/janus-api.ts";
import { ensureJanus } from "./lib/janus-driver.ts";
import { BENCH_ADDRESS, canCreateNamespace, insideBenchNamespace, reexecInNamespace } from "./lib/netns.ts";
import type { FeedId, ServerKind, Target } from "./lib/peers.ts";
import { machineBusy, machineSample, procSample, type ProcSample, tryProcSample } from "./lib/proc.ts";
import { topSelfTime } from "./lib/profile.ts";
import { udpDrops } from "./lib/udp.ts";
import { elapsed, Progress } from "./lib/progress.ts";
import { writeReport } from "./lib/report.ts";
import { type ServerUnderTest, startServer } from "./lib/servers.ts";
import { quantile, round } from "./lib/stats.ts";
import type { LoadStep, RunResult, StormStep } from "./lib/types.ts";
import type { ConnectResult, Snapshot } from "./lib/worker.ts";
import { WorkerHandle } from "./lib/workers.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

// ---------------------------------------------------------------------------------------------
// Arguments and plan
// ---------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const list = (name: string) => opt(name)?.split(",").map((s) => s.trim()).filter(Boolean);
const numbers = (name: string) => list(name)?.map(Number);

if (flag("help")) {
  console.log(readHeader());
  process.exit(0);
}

const quick = flag("quick");
const SCENARIOS = ["fanout", "meeting", "join-storm", "latency"] as const;
type Scenario = (typeof SCENARIOS)[number];
const plan = {
  servers: (list("servers") ?? ["relay", "janus"]) as ServerKind[],
  scenarios: (list("scenarios") ?? [...SCENARIOS]) as Scenario[],
  fanout: numbers("fanout-steps") ?? (quick ? [2, 4] : [10, 25, 35, 50, 75, 100, 150, 200, 250, 300, 400]),
  meeting: numbers("meeting-steps") ?? (quick ? [3] : [2, 4, 6, 8, 10, 12, 14, 16, 20]),
  storm: numbers("storm-steps") ?? (quick ? [5] : [10, 20, 30, 50, 75, 100]),
  latencyShares: [0.25, 0.5, 0.75],
  warmupMs: quick ? 500 : 3000,
  windowMs: Number(opt("window") ?? (quick ? 1 : 8)) * 1000,
  latencyWindowMs: Number(opt("window") ?? (quick ? 1 : 10)) * 1000,
  /** Pauses for a server to settle (after start, after participants leave). */
  settleMs: quick ? 300 : 1500,
  timeoutMs: quick ? 10_000 : 20_000,
  /** Publishers pause before each snapshot until nothing has arrived for this long (at most 5 s). */
  drainMs: quick ? 300 : 1000,
  /**
   * Shared machine: before each window, wait (up to this long) until other users' processes use less
   * than a quarter of all cores. 0: do not wait.
   */
  waitQuietMs: quick || flag("no-wait") ? 0 : 120_000,
  generators: Math.max(2, cpus().length),
  profile: flag("profile") ? "always" : flag("no-profile") || quick ? "never" : "if-missed",
  capacity: opt("capacity") === undefined ? undefined : Number(opt("capacity")),
  /** Candidate relay fixes applied to every relay run (lib/relay-experiments.ts). */
  relayExperiments: list("relay-experiments") ?? [],
  /** After the scenarios: fanout A/B of the relay with each candidate fix. */
  ab: !flag("no-ab"),
  outDir: opt("out") ?? join(root, "bench", "results", ...(quick ? ["quick"] : [])),
};
for (const s of plan.scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}`);
for (const s of plan.servers) if (s !== "relay" && s !== "janus") throw new Error(`unknown server ${s}`);

function readHeader(): string {
  return [
    "pnpm bench [--quick] [--servers relay,janus] [--scenarios fanout,meeting,join-storm,latency]",
    "           [--fanout-steps 10,25,...] [--meeting-steps 2,4,...] [--storm-steps 10,20,...] [--window SECONDS]",
    "           [--capacity N] [--profile | --no-profile] [--no-ab] [--no-wait] [--relay-experiments keyobject-cache,rcvbuf,dedupe] [--out DIR]",
    "Needs root (private network namespace); installs Debian's janus when missing. See bench/README.md.",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Outside the namespace: install what is missing, then re-run inside one
// ---------------------------------------------------------------------------------------------

if (!insideBenchNamespace()) {
  loadFixtures(); // fail early if the fixtures are missing
  if (plan.servers.includes("janus")) ensureJanus((s) => console.log(s));
  if (!canCreateNamespace()) {
    console.error("bench: needs root to create its private network namespace (unshare -n); see bench/README.md");
    process.exit(1);
  }
  process.exit(await reexecInNamespace());
}

// ---------------------------------------------------------------------------------------------
// Inside the namespace
// ---------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = new Progress();
const stamp = new Date().toISOString().replace(/[:.]/g, "-").replace(/-\d+Z$/, "Z");
const rawDir = join(root, "bench", "results", "raw", quick ? "quick" : stamp);
mkdirSync(rawDir, { recursive: true });
const runStarted = performance.now();
const janusVersion = plan.servers.includes("janus") ? ensureJanus(() => undefined) : undefined;

const fixtures = loadFixtures();
const result: RunResult = {
  meta: {
    date: new Date().toISOString(),
    quick,
    commit: git(["rev-parse", "--short", "HEAD"]),
    dirtyFiles: git(["status", "--porcelain"]).split("\n").filter(Boolean).length,
    node: process.version,
    janus: janusVersion,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    loadAverageAtStart: loadavg().map((x) => round(x, 2)),
    fixture: [describeFixture(fixtures.video), describeFixture(fixtures.audio)],
    windowS: plan.windowMs / 1000,
    warmupS: plan.warmupMs / 1000,
    durationS: 0,
    notes: [],
  },
  fanout: [],
  meeting: [],
  joinStorm: [],
  latency: [],
  capacity: {},
  ratios: [],
  overallRatios: [],
  targets: [],
};

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
}

/** The load-generator processes: [0] holds publishers and the latency probe, the rest subscribers. */
const workers: WorkerHandle[] = [];
async function startWorkers(): Promise<void> {
  workers.push(new WorkerHandle("pub", root, rawDir));
  for (let i = 1; i <= plan.generators; i++) workers.push(new WorkerHandle(`gen${i}`, root, rawDir));
  await Promise.all(workers.map((w) => w.ready));
}
const pubWorker = () => workers[0]!;
const genWorkers = () => workers.slice(1);

function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

let roomCounter = 0;
async function newRoom(server: ServerUnderTest, publishers: number): Promise<string> {
  roomCounter++;
  if (server.kind === "relay") return `bench-${roomCounter}`;
  const room = 100_000 + Math.floor(Math.random() * 1_000_000_000);
  await createJanusRoom(server.url, room, Math.max(publishers, 1));
  return String(room);
}

function targetOf(server: ServerUnderTest): Target {
  return { server: server.kind, url: server.url, ...(server.kind === "janus" ? { clientAddress: BENCH_ADDRESS } : {}) };
}

async function closeAll(): Promise<void> {
  await Promise.all(workers.map((w) => w.call({ op: "close-all" }).catch(() => undefined)));
}

async function withServer<T>(
  kind: ServerKind,
  label: string,
  f: (s: ServerUnderTest, idle: ProcSample, idleHeap: { heapUsedMb: number } | undefined) => Promise<T>,
  cpuProfDir?: string,
  experiments = plan.relayExperiments,
): Promise<T> {
  progress.set({ server: kind, step: "", phase: "starting server" });
  const server = await startServer(kind, { rawDir, root, janusIceAddress: BENCH_ADDRESS, experiments, ...(cpuProfDir ? { cpuProfDir } : {}) }, label);
  try {
    await sleep(plan.settleMs);
    const idleHeap = await server.heapAfterGc();
    const idle = procSample(server.pid);
    return await f(server, idle, idleHeap);
  } finally {
    progress.set({ phase: "closing clients" });
    await closeAll();
    progress.set({ phase: "stopping server" });
    await server.stop();
    await sleep(plan.settleMs / 3);
  }
}

// ---------------------------------------------------------------------------------------------
// One measurement window
// ---------------------------------------------------------------------------------------------

interface Window {
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
}

/** The monotonic-clock span (µs) of the last measurement window's sending, for profile filtering. */
let lastWindow: { fromUs: number; toUs: number } | undefined;

async function snapshotAll(): Promise<Snapshot[]> {
  return Promise.all(workers.map((w) => w.call<Snapshot>({ op: "snapshot" })));
}

/**
 * With the publishers paused, waits until nothing arrives any more (no change in received counts for
 * 300 ms; at most 5 s): an overloaded server may still be working through a backlog. Returns the
 * snapshots and whether it got quiet.
 */
async function drained(): Promise<{ snaps: Snapshot[]; quiet: boolean }> {
  const deadline = performance.now() + 5000;
  let snaps = await snapshotAll();
  let stableSince = performance.now();
  for (;;) {
    await sleep(100);
    const next = await snapshotAll();
    if (sumRecv(next) !== sumRecv(snaps)) stableSince = performance.now();
    snaps = next;
    if (performance.now() - stableSince >= plan.drainMs) return { snaps, quiet: true };
    if (performance.now() > deadline) return { snaps, quiet: false };
  }
}

const sumSent = (s: Snapshot[]) => s.reduce((a, x) => a + x.sent.audio + x.sent.video, 0);
const sumRecv = (s: Snapshot[]) => s.reduce((a, x) => a + x.recv.audio + x.recv.video, 0);

/**
 * Publishers pause, packets in flight drain, everything is sampled; publishers run for `windowMs`;
 * they pause again, packets drain, everything is sampled again. Sent and received counts therefore
 * cover exactly the same packets.
 */
/** CPU share of all cores used by processes other than the server, the workers and this harness, over `ms`. */
async function othersBusy(server: ServerUnderTest, ms: number): Promise<number> {
  const pids = [server.pid, process.pid, ...workers.map((w) => w.pid)];
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
async function waitForQuietMachine(server: ServerUnderTest): Promise<number> {
  if (plan.waitQuietMs <= 0) return 0;
  const started = performance.now();
  for (;;) {
    const others = await othersBusy(server, 1000);
    if (others < 0.25) return performance.now() - started;
    if (performance.now() - started > plan.waitQuietMs) return performance.now() - started;
    progress.set({ phase: `waiting for a quieter machine (others use ${Math.round(others * 100)}% of all cores)` });
  }
}

async function measureWindow(server: ServerUnderTest, windowMs: number): Promise<Window> {
  const all = workers;
  const waitedMs = await waitForQuietMachine(server);
  if (waitedMs > 1500) progress.set({ phase: `measuring ${windowMs / 1000} s (waited ${Math.round(waitedMs / 1000)} s for a quieter machine)` });
  await Promise.all(all.map((w) => w.call({ op: "pause" })));
  const { snaps: a, quiet: quietA } = await drained();
  const dropGroups = { server: [server.pid], clients: all.map((w) => w.pid) };
  const dropsA = udpDrops(dropGroups);
  const cpuA = procSample(server.pid);
  const machA = machineSample();
  const genA = all.map((w) => tryProcSample(w.pid));
  await server.eldReset();
  await Promise.all(all.map((w) => w.call({ op: "window-start" })));
  await Promise.all(all.map((w) => w.call({ op: "resume" })));
  const t0 = performance.now();
  const monoFrom = Number(process.hrtime.bigint() / 1000n);
  await sleep(windowMs);
  await Promise.all(all.map((w) => w.call({ op: "pause" })));
  const t1 = performance.now();
  lastWindow = { fromUs: monoFrom, toUs: Number(process.hrtime.bigint() / 1000n) };
  const { snaps: b, quiet: quietB } = await drained();
  const dropsB = udpDrops(dropGroups);
  const cpuB = procSample(server.pid);
  const machB = machineSample();
  const genB = all.map((w) => tryProcSample(w.pid));
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
  };
}

function loadStep(
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
async function retryIfDisturbed(measure: () => Promise<LoadStep>): Promise<LoadStep> {
  const first = await measure();
  const others = first.machineBusyPct - first.benchBusyPct;
  if (!first.stop || others < 25 || plan.waitQuietMs <= 0) return first;
  progress.log(`${describeLoad(first)}\n    (other users took ${others}% of the machine during that window: measuring again)`);
  const second = await measure();
  second.retried = `first window: delivery ${first.deliveryPct}%, ${first.cpuUsPerPacket} µs/pkt, others ${others}% of the machine`;
  return second;
}

/** Why stepping should stop after this step (undefined: go on). */
function stopReason(s: LoadStep): string | undefined {
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

function describeLoad(s: LoadStep): string {
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

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/** Adds subscribers (spread over the generator processes) until `want` receive the publisher. */
async function addSubscribers(server: ServerUnderTest, room: string, feeds: FeedId[], count: number, label: string): Promise<ConnectResult> {
  const shares = split(count, genWorkers().length);
  let done = 0;
  progress.set({ phase: `connecting ${count} subscribers` });
  const results = await Promise.all(
    genWorkers().map(async (w, i) => {
      if (shares[i] === 0) return undefined;
      const r = await w.call<ConnectResult>({
        op: "subscribers", target: targetOf(server), room, count: shares[i]!, name: `${label}-${w.name}`, feeds, concurrency: 8, timeoutMs: plan.timeoutMs,
      });
      done += shares[i]!;
      progress.set({ phase: `connecting subscribers ${done}/${count}` });
      return r;
    }),
  );
  const ok = results.reduce((a, r) => a + (r?.ok ?? 0), 0);
  const failed = results.reduce((a, r) => a + (r?.failed ?? 0), 0);
  return { ok, failed, errors: [...new Set(results.flatMap((r) => r?.errors ?? []))].slice(0, 5), firstMediaMs: [], firstVideoMs: [] };
}

/** 1 publisher, N subscribers; N grows step by step on the same room. */
async function fanout(
  kind: ServerKind, steps: number[], opts: { label: string; windowMs: number; shares?: number[]; cpuProfDir?: string; experiments?: string[]; noStop?: boolean },
): Promise<LoadStep[]> {
  return withServer(kind, opts.label, async (server, idle, idleHeap) => {
    const out: LoadStep[] = [];
    const room = await newRoom(server, 1);
    progress.set({ step: "publisher", phase: "connecting publisher and probe" });
    const { feeds } = await pubWorker().call<{ feeds: FeedId[] }>({
      op: "publishers", target: targetOf(server), room, count: 1, name: `${opts.label}-pub`, probe: true, timeoutMs: plan.timeoutMs,
    });
    let current = 1; // the probe
    const failures = { failed: 0, errors: [] as string[] };
    for (const [i, n] of steps.entries()) {
      progress.set({ step: `N=${n} (${i + 1}/${steps.length})`, phase: "" });
      if (n > current) {
        const r = await addSubscribers(server, room, feeds, n - current, opts.label);
        failures.failed += r.failed;
        failures.errors.push(...r.errors);
        current = n;
      }
      progress.set({ phase: "warm-up" });
      await sleep(plan.warmupMs);
      progress.set({ phase: `measuring ${opts.windowMs / 1000} s` });
      const measure = async () => {
        const w = await measureWindow(server, opts.windowMs);
        const step = loadStep(server, n, n + 1, n, w, idle, { failed: failures.failed, errors: [...new Set(failures.errors)].slice(0, 5) }, idleHeap);
        if (opts.shares) step.capacityShare = opts.shares[i];
        step.stop = opts.shares || opts.noStop ? undefined : stopReason(step);
        return step;
      };
      const step = await retryIfDisturbed(measure);
      out.push(step);
      progress.log(describeLoad(step));
      if (step.stop) break;
    }
    return out;
  }, opts.cpuProfDir, opts.experiments);
}

/** N participants, each publishing audio + video and receiving everyone else; a fresh room per N. */
async function meeting(kind: ServerKind, steps: number[]): Promise<LoadStep[]> {
  return withServer(kind, "meeting", async (server, idle, idleHeap) => {
    const out: LoadStep[] = [];
    for (const [i, n] of steps.entries()) {
      progress.set({ step: `N=${n} (${i + 1}/${steps.length})`, phase: "publishing" });
      const room = await newRoom(server, n);
      const shares = split(n, workers.length);
      const published = await Promise.all(
        workers.map((w, j) =>
          shares[j] === 0
            ? { feeds: [] as FeedId[], failed: 0, errors: [] as string[] }
            : w.call<{ feeds: FeedId[]; failed: number; errors: string[] }>({
                op: "meeting-publish", target: targetOf(server), room, count: shares[j]!, name: `m${n}-${w.name}`, concurrency: 4, timeoutMs: plan.timeoutMs,
              }),
        ),
      );
      const feeds = published.flatMap((p) => p.feeds);
      progress.set({ phase: `everyone receives everyone (${feeds.length} publishers)` });
      const received = await Promise.all(workers.map((w) => w.call<ConnectResult>({ op: "meeting-receive", feeds, concurrency: 4 })));
      const failed = published.reduce((a, p) => a + p.failed, 0) + received.reduce((a, r) => a + r.failed, 0);
      const errors = [...new Set([...published.flatMap((p) => p.errors), ...received.flatMap((r) => r.errors)])].slice(0, 5);
      progress.set({ phase: "warm-up" });
      await sleep(plan.warmupMs);
      progress.set({ phase: `measuring ${plan.windowMs / 1000} s` });
      const step = await retryIfDisturbed(async () => {
        const w = await measureWindow(server, plan.windowMs);
        // Every packet of every publisher is expected at the N - 1 others.
        const s = loadStep(server, n, n, n - 1, w, idle, { failed, errors }, idleHeap);
        s.stop = stopReason(s);
        return s;
      });
      out.push(step);
      progress.log(describeLoad(step));
      progress.set({ phase: "leaving" });
      await closeAll();
      await sleep(plan.settleMs);
      if (step.stop) break;
    }
    return out;
  });
}

/** N participants join at once; time from WebSocket connect to first media packet. */
async function joinStorm(kind: ServerKind, steps: number[]): Promise<StormStep[]> {
  return withServer(kind, "storm", async (server, idle) => {
    const out: StormStep[] = [];
    for (const [i, n] of steps.entries()) {
      progress.set({ step: `N=${n} (${i + 1}/${steps.length})`, phase: "host publishing" });
      const room = await newRoom(server, 1);
      const { feeds } = await pubWorker().call<{ feeds: FeedId[] }>({
        op: "publishers", target: targetOf(server), room, count: 1, name: `storm${n}-host`, probe: false, timeoutMs: plan.timeoutMs,
      });
      await sleep(plan.settleMs);
      await waitForQuietMachine(server);
      progress.set({ phase: `${n} joining at once` });
      const shares = split(n, genWorkers().length);
      const cpuA = procSample(server.pid);
      const machA = machineSample();
      await server.eldReset();
      const t0 = performance.now();
      const results = await Promise.all(
        genWorkers().map((w, j) =>
          shares[j] === 0
            ? undefined
            : w.call<ConnectResult>({ op: "storm", target: targetOf(server), room, count: shares[j]!, name: `storm${n}-${w.name}`, feeds, timeoutMs: plan.timeoutMs }),
        ),
      );
      const stormS = (performance.now() - t0) / 1000;
      const cpuB = procSample(server.pid);
      const machB = machineSample();
      const eld = await server.eld();
      const first = results.flatMap((r) => r?.firstMediaMs ?? []);
      const firstVideo = results.flatMap((r) => r?.firstVideoMs ?? []);
      const connected = results.reduce((a, r) => a + (r?.ok ?? 0), 0);
      const step: StormStep = {
        server: kind,
        n,
        connected,
        failed: n - connected,
        errors: [...new Set(results.flatMap((r) => r?.errors ?? []))].slice(0, 5),
        firstMediaMedianMs: round(quantile(first, 0.5), 0),
        firstMediaP95Ms: round(quantile(first, 0.95), 0),
        firstMediaMaxMs: round(first.length ? Math.max(...first) : NaN, 0),
        firstVideoMedianMs: round(quantile(firstVideo, 0.5), 0),
        firstVideoP95Ms: round(quantile(firstVideo, 0.95), 0),
        serverCpuS: round((cpuB.cpuUs - cpuA.cpuUs) / 1e6, 2),
        stormS: round(stormS, 2),
        rssMb: round(cpuB.rssKb / 1024, 1),
        rssPerParticipantKb: round((cpuB.rssKb - idle.rssKb) / (n + 1), 0),
        machineBusyPct: round(machineBusy(machA, machB) * 100, 0),
      };
      if (eld) step.eldP99Ms = round(Math.max(0, eld.p99Ms - 10), 1);
      if (step.failed > 0) step.stop = `${step.failed} of ${n} did not get media within ${plan.timeoutMs / 1000} s`;
      out.push(step);
      progress.log(
        `  ${kind.padEnd(5)} N=${String(n).padStart(3)} · connected ${connected}/${n} · first media median/p95/max ` +
          `${step.firstMediaMedianMs}/${step.firstMediaP95Ms}/${step.firstMediaMaxMs} ms · first video p95 ${step.firstVideoP95Ms} ms · ` +
          `server CPU ${step.serverCpuS} s in ${step.stormS} s · RSS ${step.rssMb} MB${step.stop ? ` -> stop: ${step.stop}` : ""}`,
      );
      progress.set({ phase: "leaving" });
      await closeAll();
      await sleep(plan.settleMs);
      if (step.stop) break;
    }
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------

function capacityOf(kind: ServerKind): { n: number; limitedBy: string } | undefined {
  const steps = result.fanout.filter((s) => s.server === kind);
  if (!steps.length) return undefined;
  const good = steps.filter((s) => s.deliveryPct >= 99 && !s.backlog && s.benchBusyPct < 90 && s.generatorCpuPct < 95);
  const last = steps.at(-1)!;
  const n = good.length ? Math.max(...good.map((s) => s.n)) : steps[0]!.n;
  return { n, limitedBy: last.stop ?? `largest step tried (N=${last.n}); capacity is at least this` };
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress.stop();
    console.error(`\nbench: ${signal}, stopping`);
    process.exit(130); // the exit hooks kill Janus; workers and the relay exit when their IPC channel closes
  });
}
progress.start();
console.log(`sfu-room bench${quick ? " --quick" : ""}: ${plan.servers.join(" vs ")}; ${plan.scenarios.join(", ")}; window ${plan.windowMs / 1000} s`);
console.log(`  ${result.meta.fixture.join("\n  ")}`);
console.log(`  raw logs: ${rawDir}`);
try {
  await startWorkers();
  for (const scenario of plan.scenarios) {
    progress.set({ scenario, server: "", step: "", phase: "" });
    progress.log(`${scenario}:`);
    for (const kind of plan.servers) {
      try {
        if (scenario === "fanout") result.fanout.push(...(await fanout(kind, plan.fanout, { label: "fanout", windowMs: plan.windowMs })));
        if (scenario === "meeting") result.meeting.push(...(await meeting(kind, plan.meeting)));
        if (scenario === "join-storm") result.joinStorm.push(...(await joinStorm(kind, plan.storm)));
        if (scenario === "latency") {
          if (kind === plan.servers[0] && !result.baselineLatency) {
            progress.set({ server: "werift only", step: "baseline", phase: "sender -> receiver, no server" });
            const b = await pubWorker().call<{ p50: number; p99: number; count: number }>({ op: "baseline", ms: plan.latencyWindowMs });
            result.baselineLatency = { p50Ms: round(b.p50, 2), p99Ms: round(b.p99, 2), samples: b.count };
            progress.log(`  werift alone (no server): one-way delay p50/p99 ${result.baselineLatency.p50Ms}/${result.baselineLatency.p99Ms} ms`);
          }
          const cap = plan.capacity ?? capacityOf(kind)?.n ?? Math.max(...plan.fanout);
          const ns = [...new Set(plan.latencyShares.map((s) => Math.max(1, Math.round(s * cap))))];
          const shares = ns.map((n) => round(n / cap, 2));
          result.latency.push(...(await fanout(kind, ns, { label: "latency", windowMs: plan.latencyWindowMs, shares })));
        }
      } catch (e) {
        const message = `${scenario} on ${kind} failed: ${(e as Error).stack ?? e}`;
        result.meta.notes.push(message.split("\n")[0]!);
        progress.log(`  ERROR ${message}`);
      }
    }
  }
  for (const kind of plan.servers) {
    const c = capacityOf(kind);
    if (c) result.capacity[kind] = c;
  }
  computeRatiosAndTargets();
  const missed = result.targets.some((t) => t.pass === false);
  if (plan.servers.includes("relay") && (plan.profile === "always" || (plan.profile === "if-missed" && missed))) {
    await profileRelay();
  }
  if (plan.servers.includes("relay") && plan.ab) await abRelayFixes();
} finally {
  progress.stop();
  await Promise.all(workers.map((w) => w.stop()));
}
result.meta.durationS = round((performance.now() - runStarted) / 1000, 0);
const files = writeReport(result, plan.outDir, quick ? "latest" : stamp, relative(plan.outDir, join(root, "bench", "README.md")));
console.log(`\nDone in ${elapsed()}. Results:\n  ${files.join("\n  ")}`);
process.exit(0);

function computeRatiosAndTargets(): void {
  for (const [scenario, steps] of [["fanout", result.fanout], ["meeting", result.meeting]] as const) {
    const relay = steps.filter((s) => s.server === "relay");
    const janus = steps.filter((s) => s.server === "janus");
    let relayCpu = 0;
    let relayPkts = 0;
    let janusCpu = 0;
    let janusPkts = 0;
    const pairs = relay
      .map((r) => ({ r, j: janus.find((s) => s.n === r.n) }))
      .filter((p): p is { r: LoadStep; j: LoadStep } => p.j !== undefined && p.r.cpuUsPerPacket > 0 && p.j.cpuUsPerPacket > 0);
    const ok = (s: LoadStep) => s.deliveryPct >= 99 && !s.backlog;
    for (const { r, j } of pairs) {
      result.ratios.push({
        scenario, n: r.n, relayUsPerPacket: r.cpuUsPerPacket, janusUsPerPacket: j.cpuUsPerPacket, ratio: round(r.cpuUsPerPacket / j.cpuUsPerPacket, 2),
        bothDelivered: ok(r) && ok(j),
      });
    }
    // Overall: total CPU / total packets over the N where both delivered >= 99% (else every common N).
    const valid = pairs.filter((p) => ok(p.r) && ok(p.j));
    const basis = valid.length ? valid : pairs;
    for (const { r, j } of basis) {
      relayCpu += r.cpuUsPerPacket * r.delivered;
      relayPkts += r.delivered;
      janusCpu += j.cpuUsPerPacket * j.delivered;
      janusPkts += j.delivered;
    }
    if (relayPkts > 0 && janusPkts > 0) {
      const ratio = round(relayCpu / relayPkts / (janusCpu / janusPkts), 2);
      const ns = basis.map((p) => p.r.n).join(", ");
      result.overallRatios.push({
        scenario, ratio,
        basis: `total CPU / total packets over N = ${ns} (${valid.length ? "every N where both delivered >= 99%" : "no N where both delivered >= 99%: every common N"})`,
      });
      result.targets.push({ target: `${scenario}: relay/Janus CPU per forwarded packet <= 1.0`, value: `${ratio} (N = ${ns})`, pass: ratio <= 1.0 });
    }
  }
  const storm30 = result.joinStorm.find((s) => s.server === "relay" && s.n === 30);
  if (storm30) {
    result.targets.push({
      target: "join storm of 30 (relay): all connected, first media p95 < 1.5 s",
      value: `${storm30.connected}/30 connected, p95 ${storm30.firstMediaP95Ms} ms`,
      pass: storm30.failed === 0 && storm30.firstMediaP95Ms < 1500,
    });
  }
  const lat50 = result.latency.find((s) => s.server === "relay" && s.capacityShare !== undefined && Math.abs(s.capacityShare - 0.5) < 0.13);
  if (lat50?.latencyP99Ms !== undefined) {
    result.targets.push({
      target: "added latency p99 < 5 ms at 50% of capacity (relay)",
      value: `p99 ${lat50.latencyP99Ms} ms at N=${lat50.n} (werift alone: p99 ${result.baselineLatency?.p99Ms ?? "?"} ms)`,
      pass: lat50.latencyP99Ms < 5,
    });
  }
  const relayFanout = result.fanout.filter((s) => s.server === "relay");
  const capN = result.capacity.relay?.n;
  const biggest = relayFanout.find((s) => s.n === capN) ?? relayFanout.at(-1);
  if (biggest) {
    result.targets.push({
      target: "RSS per connected participant < 2 MB (relay, fanout at its capacity)",
      value: `${biggest.rssPerParticipantKb} kB at N=${biggest.n} (V8 heap after GC: ${biggest.heapPerParticipantKb ?? "?"} kB per participant)`,
      pass: biggest.rssPerParticipantKb < 2048,
    });
  }
}

/** The relay under `node --cpu-prof`, fanout at 75% of its capacity: self time per function. */
async function profileRelay(): Promise<void> {
  const cap = result.capacity.relay?.n ?? plan.capacity ?? 50;
  const n = Math.max(1, Math.round(cap * 0.75));
  const dir = join(rawDir, "profile");
  rmSync(dir, { recursive: true, force: true });
  progress.set({ scenario: "profile", server: "relay", step: `N=${n}` });
  progress.log(`profile (relay under --cpu-prof, fanout N=${n}):`);
  try {
    await fanout("relay", [n], { label: "profile", windowMs: plan.windowMs, shares: [0.75], cpuProfDir: dir });
    const file = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    if (!file) throw new Error("no .cpuprofile written");
    const { totalMs, top } = topSelfTime(file, 10, lastWindow);
    result.profile = { file: file.slice(root.length + 1), n, totalMs, top };
    for (const t of top) progress.log(`  ${String(t.selfPct).padStart(5)}%  ${t.functionName}  ${t.location}`);
  } catch (e) {
    result.meta.notes.push(`profile failed: ${(e as Error).message}`);
    progress.log(`  profile failed: ${(e as Error).message}`);
  }
}

/**
 * The candidate fixes of lib/relay-experiments.ts, measured: the relay's fanout at its capacity and
 * twice that, as it is and with each fix, one after the other in this run.
 */
async function abRelayFixes(): Promise<void> {
  const cap = result.capacity.relay?.n ?? plan.capacity ?? 50;
  const ns = quick ? [cap] : [cap, cap * 2];
  const variants = quick
    ? [[], ["keyobject-cache", "rcvbuf", "dedupe"]]
    : [[], ["keyobject-cache"], ["rcvbuf"], ["dedupe"], ["keyobject-cache", "rcvbuf", "dedupe"]];
  progress.set({ scenario: "fixes A/B", server: "relay" });
  progress.log(`fixes A/B (relay fanout at N=${ns.join(", ")}, as it is and with each candidate fix):`);
  result.experiments = [];
  for (const variant of variants) {
    const name = variant.length ? variant.join(" + ") : "as it is";
    progress.log(` ${name}:`);
    try {
      const steps = await fanout("relay", ns, { label: `ab-${variant.join("-") || "none"}`, windowMs: plan.windowMs, experiments: variant, noStop: true });
      result.experiments.push({ variant: name, steps });
    } catch (e) {
      result.meta.notes.push(`A/B ${name} failed: ${(e as Error).message}`);
    }
  }
}
