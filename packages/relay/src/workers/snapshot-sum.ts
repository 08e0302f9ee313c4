/** The workers' snapshots added up into the one the relay's /health and /metrics report. */
import type { SnapshotSum, WorkerSnapshot } from "./ipc-protocol.ts";

type Numbers = { [key: string]: number | Numbers };

/** Every number of `source` set to 0 in place. */
function zero(source: Numbers): void {
  for (const [key, value] of Object.entries(source)) {
    if (typeof value === "number") source[key] = 0;
    else zero(value);
  }
}

/** Adds every number of `source` into the same place of `target` (same shape: plain objects of numbers). */
function addInto(target: Numbers, source: Numbers): void {
  for (const [key, value] of Object.entries(source)) {
    if (typeof value === "number") target[key] = ((target[key] as number | undefined) ?? 0) + value;
    else addInto((target[key] ??= {}) as Numbers, value);
  }
}

/**
 * The sum of `snapshots`; `shape` is any snapshot, whose fields (at 0) the sum starts from, so that
 * no workers at all (all of them restarting) still reads as every field 0.
 */
export function sumSnapshots(shape: SnapshotSum, snapshots: readonly WorkerSnapshot[]): SnapshotSum {
  const { stats, media, kindCounts } = structuredClone({ stats: shape.stats, media: shape.media, kindCounts: shape.kindCounts });
  for (const numbers of [stats, media, kindCounts]) zero(numbers as unknown as Numbers);
  const states = new Map<string, number>();
  for (const s of snapshots) {
    addInto(stats as unknown as Numbers, s.stats as unknown as Numbers);
    addInto(media as unknown as Numbers, s.media as unknown as Numbers);
    addInto(kindCounts as unknown as Numbers, s.kindCounts as unknown as Numbers);
    for (const [state, n] of s.connectionStates) states.set(state, (states.get(state) ?? 0) + n);
  }
  return { stats, media, kindCounts, connectionStates: [...states] };
}
