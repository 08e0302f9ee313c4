/**
 * The targets the relay is measured against (the summary table of every report), as data: each has
 * its limit once, and reads its figure from a finished run. A target whose figure the run did not
 * measure (e.g. --quick has no join storm of 30) is left out of the table.
 */
import type { LoadStep, RunResult } from "./lib/types.ts";

export interface Target {
  target: string;
  /** The figure and whether it meets the limit; undefined when the run has no such figure. */
  check(run: RunResult): { value: string; pass: boolean } | undefined;
}

/** The limits, also drawn as reference lines in the charts (lib/report.ts). */
export const LIMITS = {
  /** relay/Janus CPU per forwarded packet, overall (lib/ratios.ts). */
  cpuRatio: 1.0,
  joinStorm: { n: 30, firstMediaP95Ms: 1500 },
  latency: { capacityShare: 0.5, p99Ms: 5 },
  rssPerParticipantKb: 2048,
} as const;

function cpuRatio(scenario: "fanout" | "meeting"): Target {
  return {
    target: `${scenario}: relay/Janus CPU per forwarded packet <= ${LIMITS.cpuRatio.toFixed(1)}`,
    check(run) {
      const r = run.overallRatios.find((x) => x.scenario === scenario);
      if (!r) return undefined;
      return { value: `${r.ratio} (N = ${r.ns.join(", ")})`, pass: r.ratio <= LIMITS.cpuRatio };
    },
  };
}

const { n: STORM_N, firstMediaP95Ms } = LIMITS.joinStorm;

export const TARGETS: readonly Target[] = [
  cpuRatio("fanout"),
  cpuRatio("meeting"),
  {
    target: `join storm of ${STORM_N} (relay): all connected, first media p95 < ${firstMediaP95Ms / 1000} s`,
    check(run) {
      const s = run.joinStorm.find((x) => x.server === "relay" && x.n === STORM_N);
      if (!s) return undefined;
      return { value: `${s.connected}/${STORM_N} connected, p95 ${s.firstMediaP95Ms} ms`, pass: s.failed === 0 && s.firstMediaP95Ms < firstMediaP95Ms };
    },
  },
  {
    target: `added latency p99 < ${LIMITS.latency.p99Ms} ms at ${LIMITS.latency.capacityShare * 100}% of capacity (relay)`,
    check(run) {
      const s = run.latency.find((x) => x.server === "relay" && x.capacityShare !== undefined && Math.abs(x.capacityShare - LIMITS.latency.capacityShare) < 0.13);
      if (s?.latencyP99Ms === undefined) return undefined;
      return {
        value: `p99 ${s.latencyP99Ms} ms at N=${s.n} (werift alone: p99 ${run.baselineLatency?.p99Ms ?? "?"} ms)`,
        pass: s.latencyP99Ms < LIMITS.latency.p99Ms,
      };
    },
  },
  {
    target: `RSS per connected participant < ${LIMITS.rssPerParticipantKb / 1024} MB (relay, fanout at its capacity)`,
    check(run) {
      const fanout = run.fanout.filter((x) => x.server === "relay");
      const s: LoadStep | undefined = fanout.find((x) => x.n === run.capacity.relay?.n) ?? fanout.at(-1);
      if (!s) return undefined;
      return {
        value: `${s.rssPerParticipantKb} kB at N=${s.n} (V8 heap after GC: ${s.heapPerParticipantKb ?? "?"} kB per participant)`,
        pass: s.rssPerParticipantKb < LIMITS.rssPerParticipantKb,
      };
    },
  },
];

/** The summary table of a run: every target the run measured. */
export function evaluateTargets(run: RunResult): RunResult["targets"] {
  return TARGETS.flatMap((t) => {
    const r = t.check(run);
    return r ? [{ target: t.target, ...r }] : [];
  });
}
