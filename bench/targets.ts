/**
 * The targets the relay is measured against (the summary table of every report), as data: each has
 * its limit once, and reads its figure from a finished run. They are ratios against Janus VideoRoom
 * from the same run where a ratio is meaningful (a shared machine's speed varies from run to run; the
 * two servers in one run share it). A target whose figure the run did not measure (e.g. --quick has no
 * join storm of 100) is left out of the table.
 */
import type { LoadStep, RunResult } from "./lib/types.ts";

export interface Target {
  target: string;
  /** The figure and whether it meets the limit; undefined when the run has no such figure. */
  check(run: RunResult): { value: string; pass: boolean } | undefined;
}

/**
 * Fanout capacity counts a step only when the added latency's p99 is within this (and >= 99% arrived):
 * a server that delivers everything but a second late is not keeping up.
 */
export const CAPACITY_P99_MS = 100;

/** The limits (issue 14's table), also drawn as reference lines in the charts (lib/report.ts). */
export const LIMITS = {
  /** relay/Janus CPU per forwarded packet, overall (lib/ratios.ts), by the relay's send path. */
  cpuRatio: { fanout: { native: 0.35, javascript: 0.7 }, meeting: { native: 0.5, javascript: 1.0 } },
  /** relay/Janus fanout capacity (CAPACITY_P99_MS). */
  capacityRatio: 1.5,
  /** relay/Janus added latency p99 at this share of each server's own capacity. */
  latency: { capacityShare: 0.5, ratio: 1.0 },
  rssPerParticipantKb: 1024,
  /** relay/Janus time to first media, p95, of a storm of `n` joining at once. */
  joinStorm: { n: 100, firstMediaP95Ratio: 1.0 },
} as const;

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

function cpuRatio(scenario: "fanout" | "meeting"): Target {
  return {
    target: `${scenario}: relay/Janus CPU per forwarded packet <= ${LIMITS.cpuRatio[scenario].native} (native send path), <= ${LIMITS.cpuRatio[scenario].javascript} (JavaScript)`,
    check(run) {
      const r = run.overallRatios.find((x) => x.scenario === scenario);
      if (!r) return undefined;
      const path = run.meta.relaySendPath ?? "javascript";
      return { value: `${r.ratio} (N = ${r.ns.join(", ")}; ${path} send path)`, pass: r.ratio <= LIMITS.cpuRatio[scenario][path] };
    },
  };
}

/** A server's latency step nearest the share of its capacity. */
function latencyAt(run: RunResult, server: "relay" | "janus"): LoadStep | undefined {
  return run.latency.find((x) => x.server === server && x.capacityShare !== undefined && Math.abs(x.capacityShare - LIMITS.latency.capacityShare) < 0.13);
}

const { n: STORM_N } = LIMITS.joinStorm;

export const TARGETS: readonly Target[] = [
  cpuRatio("fanout"),
  cpuRatio("meeting"),
  {
    target: `fanout capacity (>= 99% delivered, added latency p99 <= ${CAPACITY_P99_MS} ms), relay/Janus >= ${LIMITS.capacityRatio}`,
    check(run) {
      const { relay, janus } = run.capacity;
      if (!relay || !janus) return undefined;
      const r = ratio(relay.n, janus.n);
      return { value: `${r} (relay N=${relay.n}, Janus N=${janus.n})`, pass: r >= LIMITS.capacityRatio };
    },
  },
  {
    target: `added latency p99 at ${LIMITS.latency.capacityShare * 100}% of each server's capacity, relay/Janus <= ${LIMITS.latency.ratio}`,
    check(run) {
      const relay = latencyAt(run, "relay");
      const janus = latencyAt(run, "janus");
      if (relay?.latencyP99Ms === undefined || janus?.latencyP99Ms === undefined) return undefined;
      const r = ratio(relay.latencyP99Ms, janus.latencyP99Ms);
      return { value: `${r} (relay ${relay.latencyP99Ms} ms at N=${relay.n}, Janus ${janus.latencyP99Ms} ms at N=${janus.n})`, pass: r <= LIMITS.latency.ratio };
    },
  },
  {
    target: `RSS per connected participant <= ${LIMITS.rssPerParticipantKb / 1024} MB (relay, fanout at its capacity)`,
    check(run) {
      const fanout = run.fanout.filter((x) => x.server === "relay");
      const s: LoadStep | undefined = fanout.find((x) => x.n === run.capacity.relay?.n) ?? fanout.at(-1);
      if (!s) return undefined;
      return {
        value: `${s.rssPerParticipantKb} kB at N=${s.n} (V8 heap after GC: ${s.heapPerParticipantKb ?? "?"} kB per participant)`,
        pass: s.rssPerParticipantKb <= LIMITS.rssPerParticipantKb,
      };
    },
  },
  {
    target: `join storm of ${STORM_N}: first media p95, relay/Janus <= ${LIMITS.joinStorm.firstMediaP95Ratio} (and all connected)`,
    check(run) {
      const relay = run.joinStorm.find((x) => x.server === "relay" && x.n === STORM_N);
      const janus = run.joinStorm.find((x) => x.server === "janus" && x.n === STORM_N);
      if (!relay || !janus) return undefined;
      const r = ratio(relay.firstMediaP95Ms, janus.firstMediaP95Ms);
      return {
        value: `${r} (relay ${relay.connected}/${STORM_N} connected, p95 ${relay.firstMediaP95Ms} ms; Janus ${janus.firstMediaP95Ms} ms)`,
        pass: relay.failed === 0 && r <= LIMITS.joinStorm.firstMediaP95Ratio,
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
