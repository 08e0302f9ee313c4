/**
 * Runs test/aiortc/client.py (an sfu-room client on aiortc, Debian `python3-aiortc`; installed with
 * `python3-websockets` when missing and root) and reads what it reports: one JSON object a line on its
 * stdout. aiortc offers no loopback candidates, so relay and client must share a network namespace
 * with an address (docs/interop.md).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ensureDebianPackage } from "../browser/support/browsers.mjs";
import { type ChildEvent, readEventLines } from "./event-lines.ts";

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

export type AiortcEvent = ChildEvent;

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
  const child = spawn(PYTHON, [CLIENT, "--url", options.url, "--room", options.room, "--name", options.name], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines = readEventLines(child, {
    name: "the aiortc client",
    failed: (e) => e.event === "fatal",
    context: () => `last stats: ${JSON.stringify(latest())}`,
  });
  const latest = () => lines.events.findLast((e) => e.event === "stats") as AiortcStats | undefined;
  return {
    events: lines.events,
    stats: latest,
    next: lines.next,
    sendData(message) {
      child.stdin!.write(`${JSON.stringify(message)}\n`);
    },
    leave() {
      child.stdin!.end();
      return lines.exit();
    },
    stderr: lines.stderr,
  };
}
