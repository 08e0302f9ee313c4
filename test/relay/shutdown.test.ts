/**
 * Graceful shutdown of the real `sfu-relay` process: on SIGTERM every participant's WebSocket is closed
 * with 1001 "going away" and a reason that says to reconnect (the SDK reconnects on it, rather than
 * giving up as it does on a policy close), and the process exits 0. A client that never answers the
 * close does not keep it alive past the drain time. The relay runs its default worker count (one per
 * core): every worker process is gone once the relay has exited, and also after the relay is killed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Pacer, WeriftClient } from "@sfu-room/test-peer";

const BIN = fileURLToPath(new URL("../../packages/relay/bin/sfu-relay.mjs", import.meta.url));
const DRAIN_MS = 3000;

interface RelayProcess {
  child: ChildProcess;
  signalUrl: string;
  /** Its log lines (JSON) so far. */
  log: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the relay on a free port (--port 0) and reads the port from its "relay listening" log line. */
async function startRelayProcess(args: string[] = []): Promise<RelayProcess> {
  const child = spawn(process.execPath, [BIN, "--port", "0", "--drain", String(DRAIN_MS), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const log: string[] = [];
  let partial = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop()!;
    log.push(...lines.filter((line) => line.startsWith("{")));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", () => {
      const listening = log.map((line) => JSON.parse(line) as { msg: string; port?: number }).find((l) => l.msg === "relay listening");
      if (listening?.port !== undefined) resolve(listening.port);
    });
    child.once("exit", (code) => reject(new Error(`the relay exited (${code}) before listening:\n${log.join("\n")}`)));
  });
  return { child, signalUrl: `ws://127.0.0.1:${port}/ws`, log, exited };
}

/** The worker processes /health lists (none when the relay runs in one process). */
async function workerPids(signalUrl: string): Promise<number[]> {
  const health = (await (await fetch(signalUrl.replace(/^ws/, "http").replace(/\/ws$/, "/health"))).json()) as { workers?: Array<{ pid: number }> };
  return (health.workers ?? []).map((w) => w.pid);
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw e;
  }
}

/** Resolves once none of `pids` is alive (polled: they are not our children, so there is no exit event). */
async function allGone(pids: number[]): Promise<void> {
  while (pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** Waits for `p` at most `ms` (a liveness limit: the test fails instead of hanging). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for: ${what}`)), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

describe("SIGTERM", () => {
  let relay: RelayProcess | undefined;
  let clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    relay?.child.kill("SIGKILL");
    relay = undefined;
  });

  it("tells both participants to reconnect, closes their connections and exits 0", async () => {
    relay = await startRelayProcess();
    for (const name of ["alice", "bob"]) {
      const client = new WeriftClient({ name, log: new Map() });
      await client.connect(relay.signalUrl);
      await client.join("shutdown");
      await client.publish([{ kind: "audio" }]);
      clients.push(client);
    }
    const pacer = new Pacer(() => clients);
    pacer.start();
    await Promise.all(clients.map((c) => c.connected()));
    const closes = clients.map((c) => closeOf(c.ws));
    const workers = await workerPids(relay.signalUrl);
    expect(workers).toHaveLength(availableParallelism() > 1 ? availableParallelism() : 0);

    relay.child.kill("SIGTERM");
    for (const close of await within(Promise.all(closes), DRAIN_MS, "both clients told")) {
      expect(close).toEqual({ code: 1001, reason: "the relay is shutting down; reconnect" });
    }
    expect(await within(relay.exited, DRAIN_MS + 5000, "the relay exiting")).toEqual({ code: 0, signal: null });
    await pacer.stop();
    // It said so, and released the participants (and their peer connections) before exiting.
    const lines = relay.log.map((line) => JSON.parse(line) as { msg: string; participants?: number });
    expect(lines.find((l) => l.msg.startsWith("shutting down"))).toMatchObject({ participants: 2 });
    expect(lines.filter((l) => l.msg === "participant left")).toHaveLength(2);
    expect(lines.at(-1)?.msg).toBe("relay stopped");
    // It stopped its workers before it exited: none is left behind.
    expect(workers.filter(alive)).toEqual([]);
  });

  it("exits 0 after the drain time when a client never answers the close", async () => {
    relay = await startRelayProcess();
    const ws = new WebSocket(relay.signalUrl);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const joined = new Promise((resolve) => ws.once("message", resolve));
    ws.send(JSON.stringify({ type: "join", id: "j", room: "shutdown", name: "deaf" }));
    expect(JSON.parse(String(await joined))).toMatchObject({ type: "joined" });
    // The client stops reading: it never sees the close frame, so never answers it.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const signalledAt = performance.now();
    relay.child.kill("SIGTERM");
    expect(await within(relay.exited, DRAIN_MS + 5000, "the relay exiting")).toEqual({ code: 0, signal: null });
    // It waited for the client (the drain), rather than cutting it off at once.
    expect(performance.now() - signalledAt).toBeGreaterThanOrEqual(DRAIN_MS - 100);
    ws.terminate();
  });

  it("a killed relay (SIGKILL: no drain, no goodbye) leaves no worker process behind", async () => {
    relay = await startRelayProcess(["--workers", "2"]);
    const workers = await workerPids(relay.signalUrl);
    expect(workers).toHaveLength(2);
    expect(workers.filter(alive)).toHaveLength(2);
    relay.child.kill("SIGKILL");
    await relay.exited;
    // Each worker exits when its IPC channel to the relay closes (worker-main.ts).
    await within(allGone(workers), 10_000, "the workers exiting");
  });
});
