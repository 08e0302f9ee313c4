/**
 * Latency: one-way delay publisher -> server -> probe subscriber at shares (25%, 50%, 75%) of the
 * server's fanout capacity; and werift alone (no server) as the floor.
 */
import type { Bench } from "../lib/bench.ts";
import type { ServerKind } from "../lib/peers.ts";
import { round } from "../lib/stats.ts";
import type { LoadStep, RunResult } from "../lib/types.ts";
import { fanout } from "./fanout.ts";

/** Fanout at each of `plan.latencyShares` of `capacity` subscribers. */
export async function latency(bench: Bench, kind: ServerKind, capacity: number): Promise<LoadStep[]> {
  const ns = [...new Set(bench.plan.latencyShares.map((s) => Math.max(1, Math.round(s * capacity))))];
  const shares = ns.map((n) => round(n / capacity, 2));
  return fanout(bench, kind, ns, { label: "latency", windowMs: bench.plan.latencyWindowMs, shares });
}

/** A sender and a receiver connection in one process, no server: what werift alone adds. */
export async function weriftBaseline(bench: Bench): Promise<NonNullable<RunResult["baselineLatency"]>> {
  bench.progress.set({ server: "werift only", step: "baseline", phase: "sender -> receiver, no server" });
  const b = await bench.pubWorker.call<{ p50: number; p99: number; count: number }>({ op: "baseline", ms: bench.plan.latencyWindowMs });
  const baseline = { p50Ms: round(b.p50, 2), p99Ms: round(b.p99, 2), samples: b.count };
  bench.progress.log(`  werift alone (no server): one-way delay p50/p99 ${baseline.p50Ms}/${baseline.p99Ms} ms`);
  return baseline;
}
