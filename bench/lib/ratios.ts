/** Relay/Janus CPU per forwarded packet, per N both servers ran and overall, for fanout and meeting. */
import { round } from "./stats.ts";
import type { LoadStep, RunResult } from "./types.ts";

const delivered = (s: LoadStep) => s.deliveryPct >= 99 && !s.backlog;

export function cpuRatios(run: Pick<RunResult, "fanout" | "meeting">): Pick<RunResult, "ratios" | "overallRatios"> {
  const out: Pick<RunResult, "ratios" | "overallRatios"> = { ratios: [], overallRatios: [] };
  for (const [scenario, steps] of [["fanout", run.fanout], ["meeting", run.meeting]] as const) {
    const relay = steps.filter((s) => s.server === "relay");
    const janus = steps.filter((s) => s.server === "janus");
    const pairs = relay
      .map((r) => ({ r, j: janus.find((s) => s.n === r.n) }))
      .filter((p): p is { r: LoadStep; j: LoadStep } => p.j !== undefined && p.r.cpuUsPerPacket > 0 && p.j.cpuUsPerPacket > 0);
    for (const { r, j } of pairs) {
      out.ratios.push({
        scenario, n: r.n, relayUsPerPacket: r.cpuUsPerPacket, janusUsPerPacket: j.cpuUsPerPacket, ratio: round(r.cpuUsPerPacket / j.cpuUsPerPacket, 2),
        bothDelivered: delivered(r) && delivered(j),
      });
    }
    // Overall: total CPU / total packets over the N where both delivered >= 99% (else every common N).
    const valid = pairs.filter((p) => delivered(p.r) && delivered(p.j));
    const basis = valid.length ? valid : pairs;
    let relayCpu = 0;
    let relayPkts = 0;
    let janusCpu = 0;
    let janusPkts = 0;
    for (const { r, j } of basis) {
      relayCpu += r.cpuUsPerPacket * r.delivered;
      relayPkts += r.delivered;
      janusCpu += j.cpuUsPerPacket * j.delivered;
      janusPkts += j.delivered;
    }
    if (relayPkts > 0 && janusPkts > 0) {
      const ns = basis.map((p) => p.r.n);
      out.overallRatios.push({
        scenario,
        ratio: round(relayCpu / relayPkts / (janusCpu / janusPkts), 2),
        ns,
        basis: `total CPU / total packets over N = ${ns.join(", ")} (${valid.length ? "every N where both delivered >= 99%" : "no N where both delivered >= 99%: every common N"})`,
      });
    }
  }
  return out;
}
