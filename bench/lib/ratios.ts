/**
 * CPU per forwarded packet as ratios from one run: relay/Janus per N both servers ran and overall, for
 * fanout, meeting and fanout from a Chromium publisher; and each scale-out variant of the relay (2 workers, 2 nodes) against the relay in
 * one process (issue 17's comparison).
 */
import type { ServerKind } from "./peers.ts";
import { round } from "./stats.ts";
import type { LoadStep, RunResult, ScaleRatio } from "./types.ts";

const delivered = (s: LoadStep) => s.deliveryPct >= 99 && !s.backlog;

interface Pair {
  a: LoadStep;
  b: LoadStep;
}

/** Steps of `a` and `b` at the same N, both with a CPU figure. */
function pairUp(steps: readonly LoadStep[], a: ServerKind, b: ServerKind): Pair[] {
  const of = (k: ServerKind) => steps.filter((s) => s.server === k);
  const bs = of(b);
  return of(a)
    .map((x) => ({ a: x, b: bs.find((s) => s.n === x.n) }))
    .filter((p): p is Pair => p.b !== undefined && p.a.cpuUsPerPacket > 0 && p.b.cpuUsPerPacket > 0);
}

/** Total CPU / total packets of a over that of b, over the N where both delivered >= 99% (else every common N). */
function overall(pairs: readonly Pair[]): { ratio: number; ns: number[]; basis: string } | undefined {
  const valid = pairs.filter((p) => delivered(p.a) && delivered(p.b));
  const basis = valid.length ? valid : pairs;
  let aCpu = 0, aPkts = 0, bCpu = 0, bPkts = 0;
  for (const { a, b } of basis) {
    aCpu += a.cpuUsPerPacket * a.delivered;
    aPkts += a.delivered;
    bCpu += b.cpuUsPerPacket * b.delivered;
    bPkts += b.delivered;
  }
  if (aPkts === 0 || bPkts === 0) return undefined;
  const ns = basis.map((p) => p.a.n);
  return {
    ratio: round(aCpu / aPkts / (bCpu / bPkts), 2),
    ns,
    basis: `total CPU / total packets over N = ${ns.join(", ")} (${valid.length ? "every N where both delivered >= 99%" : "no N where both delivered >= 99%: every common N"})`,
  };
}

export function cpuRatios(run: Pick<RunResult, "fanout" | "meeting"> & Partial<Pick<RunResult, "browser">>): Pick<RunResult, "ratios" | "overallRatios"> {
  const out: Pick<RunResult, "ratios" | "overallRatios"> = { ratios: [], overallRatios: [] };
  const browser = (run.browser ?? []).flatMap((b) => b.steps);
  for (const [scenario, steps] of [["fanout", run.fanout], ["meeting", run.meeting], ["fanout from Chromium", browser]] as const) {
    const pairs = pairUp(steps, "relay", "janus");
    for (const { a: r, b: j } of pairs) {
      out.ratios.push({
        scenario, n: r.n, relayUsPerPacket: r.cpuUsPerPacket, janusUsPerPacket: j.cpuUsPerPacket, ratio: round(r.cpuUsPerPacket / j.cpuUsPerPacket, 2),
        bothDelivered: delivered(r) && delivered(j),
      });
    }
    const o = overall(pairs);
    if (o) out.overallRatios.push({ scenario, ...o });
  }
  return out;
}

/** Each scale-out variant (relay-2w, relay-2n, relay-2s) against the relay in one process: CPU per forwarded packet and fanout capacity. */
export function scaleRatios(run: Pick<RunResult, "fanout" | "meeting" | "capacity">): ScaleRatio[] {
  const out: ScaleRatio[] = [];
  for (const variant of ["relay-2w", "relay-2n", "relay-2s"] as const) {
    for (const [scenario, steps] of [["fanout", run.fanout], ["meeting", run.meeting]] as const) {
      const o = overall(pairUp(steps, variant, "relay"));
      if (!o) continue;
      const capacity = scenario === "fanout" && run.capacity[variant] && run.capacity.relay
        ? { variant: run.capacity[variant]!.n, relay: run.capacity.relay.n, ratio: round(run.capacity[variant]!.n / run.capacity.relay.n, 2) }
        : undefined;
      out.push({ variant, scenario, cpuRatio: o.ratio, ns: o.ns, basis: o.basis, ...(capacity ? { capacity } : {}) });
    }
  }
  return out;
}
