/**
 * A worker's log lines, written by the primary's logger: a worker logs JSON lines over IPC (worker-main.ts)
 * and the primary writes each again through its own logger, so there is one writer of the relay's log (no
 * lines of two processes torn into each other, one --log-format applied in one place), and a logger given
 * to startRelay gets every worker's lines too, as it gets them from a relay in one process.
 */
import type { Level, Logger } from "pino";

/** The fields of the worker's own process that the primary's logger sets for itself (time: when written). */
const OWN_FIELDS = new Set(["level", "msg", "time", "pid", "hostname"]);

export function relogWorkerLine(log: Logger, line: string): void {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return; // pino writes JSON: anything else is not a line of its
  }
  const label = typeof entry.level === "number" ? (log.levels.labels[entry.level] as Level | undefined) : undefined;
  if (label === undefined) return;
  const fields = Object.fromEntries(Object.entries(entry).filter(([key]) => !OWN_FIELDS.has(key)));
  if (fields.err !== undefined) fields.err = revivedError(fields.err);
  log[label](fields, typeof entry.msg === "string" ? entry.msg : "");
}

/**
 * pino's `err` serializer, given the worker's serialized error (a plain object), would name its type
 * "Object": an Error of a class named as the worker's was serializes back to what the worker wrote.
 */
function revivedError(serialized: unknown): unknown {
  if (typeof serialized !== "object" || serialized === null) return serialized;
  const { type, message, ...rest } = serialized as Record<string, unknown>;
  if (typeof type !== "string" || typeof message !== "string") return serialized;
  const Named = { [type]: class extends Error {} }[type]!;
  return Object.assign(new Named(message), rest);
}
