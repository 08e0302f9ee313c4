/**
 * A child process that reports one JSON object a line on its stdout (test/aiortc/client.py,
 * test/gstreamer/whip-publish.py): its events in order, a wait for the one a test needs (failing at
 * once when the child reports a failure or exits), and its exit.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export type ChildEvent = { event: string; [field: string]: unknown };

export interface EventLines {
  /** Every line it printed, in order. */
  readonly events: readonly ChildEvent[];
  /** Resolves with the first event (already printed or to come) that `match` accepts; rejects if it fails or exits first. */
  next(what: string, match: (e: ChildEvent) => boolean, timeoutMs?: number): Promise<ChildEvent>;
  /** After the caller asked it to end: resolves with its exit code (SIGKILL after 10 s). */
  exit(): Promise<number>;
  /** What it wrote to stderr (tracebacks, library warnings). */
  stderr(): string;
}

export interface EventLinesOptions {
  /** What it is, for errors ("the aiortc client"). */
  name: string;
  /** An event that means it failed. */
  failed: (e: ChildEvent) => boolean;
  /** More to say in a timeout's error (e.g. its latest stats). */
  context?: () => string;
}

export function readEventLines(child: ChildProcess, options: EventLinesOptions): EventLines {
  const { name, failed } = options;
  const events: ChildEvent[] = [];
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stderr!.on("data", (d) => (stderr += d));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    events.push(JSON.parse(line) as ChildEvent);
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
    next(what, match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          const failure = events.find(failed);
          if (found || failure || child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            if (found) resolve(found);
            else reject(new Error(`${name} ${failure ? `failed: ${JSON.stringify(failure)}` : "exited"} before: ${what}\n${stderr.slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${name}: ${what}\n${options.context?.() ?? `its events: ${JSON.stringify(events.slice(-10))}`}\n${stderr.slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async exit() {
      const timeout = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timeout);
      process.off("exit", killOnExit);
      return code;
    },
    stderr: () => stderr,
  };
}
