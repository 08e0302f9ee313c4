/**
 * Runs test/aiortc/client.py (an sfu-room client on aiortc, Debian `python3-aiortc`; installed with
 * `python3-websockets` when missing and root) and reads what it reports: one JSON object a line on its
 * stdout. aiortc offers no loopback candidates, so relay and client must share a network namespace
 * with an address (docs/interop.md).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ensureDebianPackage } from "../browser/support/browsers.mjs";

const PYTHON = "/usr/bin/python3";
const CLIENT = fileURLToPath(new URL("../aiortc/client.py", import.meta.url));

/** What the client decoded of one remote track (its "stats" line). */
export interface AiortcTrack {
  mid: string;
  trackId: string;
  participantId: string;
  kind: "audio" | "video";
  frames: number;
  ended: boolean;
  width?: number;
  height?: number;
  sampleRate?: number;
  /** Audio: the loudest decoded sample so far, of 32768. */
  peak?: number;
}

export interface AiortcStats {
  event: "stats";
  connection: string;
  channels: string[];
  tracks: AiortcTrack[];
}

export type AiortcEvent = { event: string; [field: string]: unknown };

export interface AiortcClient {
  /** Every line it printed, in order. */
  readonly events: readonly AiortcEvent[];
  /** Its latest "stats" line. */
  stats(): AiortcStats | undefined;
  /** Resolves with the first event (already printed or to come) that `match` accepts. */
  next(what: string, match: (e: AiortcEvent) => boolean, timeoutMs?: number): Promise<AiortcEvent>;
  /** Has it send a data message (section 7.5 of docs/protocol.md): `text` or `hex` payload; `reliable` true by default. */
  sendData(message: { text?: string; hex?: string; topic?: string; to?: string[]; reliable?: boolean }): void;
  /** Closes its stdin, so it sends `leave`; resolves with its exit code. */
  leave(): Promise<number>;
  /** What it wrote to stderr (aiortc's tracebacks). */
  stderr(): string;
}

export function ensureAiortc(): void {
  ensureDebianPackage("/usr/lib/python3/dist-packages/aiortc/__init__.py", "python3-aiortc");
  ensureDebianPackage("/usr/lib/python3/dist-packages/websockets/__init__.py", "python3-websockets");
}

export function startAiortc(options: { url: string; room: string; name: string }): AiortcClient {
  ensureAiortc();
  const child: ChildProcess = spawn(PYTHON, [CLIENT, "--url", options.url, "--room", options.room, "--name", options.name], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const events: AiortcEvent[] = [];
  let latest: AiortcStats | undefined;
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stderr!.on("data", (d) => (stderr += d));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const event = JSON.parse(line) as AiortcEvent;
    events.push(event);
    if (event.event === "stats") latest = event as unknown as AiortcStats;
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number>((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  exited.then(() => {
    for (const wake of waiters) wake();
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return {
    events,
    stats: () => latest,
    next(what, match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          const fatal = events.find((e) => e.event === "fatal");
          if (found || fatal || child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            if (found) resolve(found);
            else reject(new Error(`the aiortc client ${fatal ? `failed (${String(fatal.message)})` : "exited"} before: ${what}\n${stderr.slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for the aiortc client: ${what}\nlast stats: ${JSON.stringify(latest)}\n${stderr.slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    sendData(message) {
      child.stdin!.write(`${JSON.stringify(message)}\n`);
    },
    async leave() {
      child.stdin!.end();
      const timeout = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timeout);
      process.off("exit", killOnExit);
      return code;
    },
    stderr: () => stderr,
  };
}
