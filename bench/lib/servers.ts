/**
 * The servers under test, each in its own process(es): the relay (bench/relay-server.ts; with
 * `--workers 2` its worker processes too; as two nodes, two relay processes and their Redis) and Janus.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { V8_FLAGS } from "@sfu-room/relay";
import { startJanus } from "./janus-driver.ts";
import { procSampleAll, type ProcSample } from "./proc.ts";
import { startRedisServer } from "./redis-server.ts";
import type { ServerKind } from "./peers.ts";

export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface ServerUnderTest {
  kind: ServerKind;
  /** The main process (the relay's primary, the first node). */
  pid: number;
  /** Where the publishers join (the first node of relay-2n). */
  url: string;
  /** Every way in: [url], or each node's (subscribers are spread over them). */
  entryUrls: string[];
  /** Every process of the server (a relay's workers, both nodes and their Redis): CPU and RSS are theirs, added up. */
  pids(): number[];
  sample(): ProcSample;
  /** Event-loop delay (relay only). */
  eldReset(): Promise<void>;
  eld(): Promise<EventLoopDelay | undefined>;
  /** Relay only: heap used after a full garbage collection (MB), and V8's external memory. */
  heapAfterGc(): Promise<{ heapUsedMb: number; externalMb: number } | undefined>;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Where logs (and Janus's config folder) go. */
  rawDir: string;
  /** Run the relay under `node --cpu-prof`, profiles written here. */
  cpuProfDir?: string;
  root: string;
  /** The address Janus gathers ICE candidates on (a veth address in the bench's network namespace). */
  janusIceAddress: string;
}

export async function startServer(kind: ServerKind, o: ServerOptions, label: string): Promise<ServerUnderTest> {
  mkdirSync(o.rawDir, { recursive: true });
  switch (kind) {
    case "relay":
      return startRelayProcess(o, label, []);
    case "relay-2w":
      return startRelayProcess(o, `${label}-2w`, ["--workers", "2"], "relay-2w");
    case "relay-2n":
      return startTwoNodes(o, label, "relay-2n");
    case "relay-2s":
      return startTwoNodes(o, label, "relay-2s");
    case "janus":
      return startJanusProcess(o, label);
  }
}

/**
 * Two relay nodes (one process each) sharing a Redis. relay-2n: the room is held by the node its first
 * participant (the publisher) joins through, and subscribers joining through the other are proxied to
 * it; relay-2s (--cluster-rooms span): each subscriber stays on the node it joined through, and the
 * publisher's node pipes the track once to the other (docs/scale.md). Measured as one server: both
 * nodes' and Redis's CPU, the first node's event loop.
 */
async function startTwoNodes(o: ServerOptions, label: string, kind: "relay-2n" | "relay-2s"): Promise<ServerUnderTest> {
  const redis = await startRedisServer();
  const rooms = kind === "relay-2s" ? ["--cluster-rooms", "span"] : [];
  try {
    const a = await startRelayProcess(o, `${label}-${kind}-node-a`, ["--redis", redis.url, "--node-id", "bench-a", ...rooms]);
    const b = await startRelayProcess(o, `${label}-${kind}-node-b`, ["--redis", redis.url, "--node-id", "bench-b", ...rooms]).catch(async (e) => {
      await a.stop();
      throw e;
    });
    const pids = () => [...a.pids(), ...b.pids(), redis.pid];
    return {
      ...a,
      kind,
      entryUrls: [a.url, b.url],
      pids,
      sample: () => procSampleAll(pids()),
      async stop() {
        await Promise.all([a.stop(), b.stop()]);
        await redis.stop();
      },
    };
  } catch (e) {
    await redis.stop();
    throw e;
  }
}

async function startRelayProcess(o: ServerOptions, label: string, args: string[], kind: ServerKind = "relay"): Promise<ServerUnderTest> {
  const log = openSync(join(o.rawDir, `relay-${label}.log`), "w");
  // Node's type stripping, as `sfu-relay` runs the relay (no tsx in the measured process).
  // The relay's own V8 flags, as `sfu-relay` runs it; RELAY_NODE_FLAGS after them (a later flag wins).
  const execArgv = ["--expose-gc", ...V8_FLAGS, ...(process.env.RELAY_NODE_FLAGS ? process.env.RELAY_NODE_FLAGS.trim().split(/\s+/) : [])];
  if (o.cpuProfDir) {
    mkdirSync(o.cpuProfDir, { recursive: true });
    execArgv.push("--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`, `--cpu-prof-name=relay-${label}.cpuprofile`);
  }
  const child = fork(
    join(o.root, "bench", "relay-server.ts"),
    [
      "--host", "127.0.0.1", "--rtc-bind", "127.0.0.1", "--port", "0", "--log-level", "info", "--max-participants", "10000",
      // Every load generator connects from 127.0.0.1, hundreds at once: lift the per-address and pending caps.
      "--max-sessions-per-ip", "100000", "--max-pending-sessions", "100000",
      ...args,
    ],
    { cwd: o.root, execArgv, stdio: ["ignore", log, log, "ipc"] },
  );
  const next = (type: string, timeoutMs = 10_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => { child.off("message", on); reject(new Error(`relay: no ${type} reply`)); }, timeoutMs);
      const on = (m: Record<string, unknown>) => {
        if (m.type !== type) return;
        clearTimeout(timer);
        child.off("message", on);
        resolve(m);
      };
      child.on("message", on);
    });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = await Promise.race([next("ready", 30_000), exited.then(() => { throw new Error(`relay exited at start; see ${o.rawDir}/relay-${label}.log`); })]);
  const url = `ws://127.0.0.1:${ready.port as number}/ws`;
  // With workers: their pids, from /health (a worker is replaced only when one dies).
  const health = (await (await fetch(`http://127.0.0.1:${ready.port as number}/health`)).json()) as { workers?: Array<{ pid: number }> };
  const pids = [ready.pid as number, ...(health.workers ?? []).map((w) => w.pid)];
  return {
    kind,
    pid: ready.pid as number,
    url,
    entryUrls: [url],
    pids: () => pids,
    sample: () => procSampleAll(pids),
    async eldReset() {
      const r = next("eld-reset");
      child.send({ op: "eld-reset" });
      await r;
    },
    async eld() {
      const r = next("eld");
      child.send({ op: "eld" });
      return (await r) as unknown as EventLoopDelay;
    },
    async heapAfterGc() {
      const r = next("memory");
      child.send({ op: "memory" });
      const m = await r;
      return { heapUsedMb: m.heapUsedMb as number, externalMb: m.externalMb as number };
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ op: "stop" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function startJanusProcess(o: ServerOptions, label: string): Promise<ServerUnderTest> {
  const janus = await startJanus(join(o.rawDir, `janus-${label}`), o.janusIceAddress);
  return {
    kind: "janus",
    pid: janus.pid,
    url: janus.url,
    entryUrls: [janus.url],
    pids: () => [janus.pid],
    sample: () => procSampleAll([janus.pid]),
    eldReset: async () => undefined,
    eld: async () => undefined,
    heapAfterGc: async () => undefined,
    stop: () => janus.stop(),
  };
}

export type { ChildProcess };
