/** Writes a run's JSON, markdown tables and one SVG chart per scenario. */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SERVER_KINDS, type ServerKind } from "./peers.ts";
import { CAPACITY_P99_MS } from "../targets.ts";
import { chart, type Panel, type Series } from "./svg.ts";
import type { LoadStep, RunResult, StormStep } from "./types.ts";

const COLORS: Record<ServerKind, string> = { relay: "#1f77b4", "relay-2w": "#2ca02c", "relay-2n": "#9467bd", "relay-2s": "#d62728", janus: "#e8710a" };
const LABEL: Record<ServerKind, string> = {
  relay: "relay (sfu-room)", "relay-2w": "relay, 2 workers", "relay-2n": "relay, 2 nodes (Redis)", "relay-2s": "relay, 2 nodes, room spanning them", janus: "Janus VideoRoom",
};

function servers<T extends { server: ServerKind }>(steps: T[]): ServerKind[] {
  return SERVER_KINDS.filter((k) => steps.some((s) => s.server === k));
}

function series<T extends { server: ServerKind; n: number }>(steps: T[], y: (s: T) => number | undefined, suffix = "", dashed = false): Series[] {
  return servers(steps).map((k) => ({
    name: `${LABEL[k]}${suffix}`,
    color: dashed ? lighten(COLORS[k]) : COLORS[k],
    points: steps.filter((s) => s.server === k).map((s) => ({ x: s.n, y: y(s) })),
  }));
}

function lighten(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c: number) => Math.round(c + (255 - c) * 0.5);
  return `#${[(n >> 16) & 255, (n >> 8) & 255, n & 255].map(mix).map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

function deliveryPanel<T extends LoadStep>(steps: T[], xLabel: string): Panel {
  const min = Math.min(98, ...steps.map((s) => s.deliveryPct).filter(Number.isFinite));
  return {
    title: "Delivery %", xLabel, yLabel: "% of expected packets delivered",
    series: series(steps, (s) => s.deliveryPct), yMin: Math.floor(min), yMax: 100.5, reference: { y: 99, label: "99%" },
  };
}

function loadCharts(title: string, steps: LoadStep[], xLabel: string): string {
  return chart(title, [
    { title: "Server CPU µs per forwarded packet", xLabel, yLabel: "µs per packet (user + system)", series: series(steps, (s) => s.cpuUsPerPacket) },
    deliveryPanel(steps, xLabel),
    { title: "Server CPU % of one core", xLabel, yLabel: "% of one core", series: series(steps, (s) => s.serverCpuPct) },
  ]);
}

function stormChart(title: string, steps: StormStep[]): string {
  return chart(title, [
    {
      title: "Connect to first media (ms)", xLabel: "participants joining at once", yLabel: "ms",
      series: [...series(steps, (s) => s.firstMediaP95Ms, " p95"), ...series(steps, (s) => s.firstMediaMedianMs, " median", true)],
    },
    {
      title: "Joined with media %", xLabel: "participants joining at once", yLabel: "%",
      series: series(steps, (s) => (s.connected / s.n) * 100), yMin: 0, yMax: 101,
    },
    { title: "Server CPU seconds for the storm", xLabel: "participants joining at once", yLabel: "CPU s", series: series(steps, (s) => s.serverCpuS) },
  ]);
}

function latencyChart(title: string, steps: LoadStep[]): string {
  return chart(title, [
    {
      title: "One-way delay via the server (ms)", xLabel: "subscribers (25/50/75% of capacity)", yLabel: "ms",
      series: [...series(steps, (s) => s.latencyP99Ms, " p99"), ...series(steps, (s) => s.latencyP50Ms, " p50", true)],
      reference: { y: CAPACITY_P99_MS, label: `capacity bound: p99 ${CAPACITY_P99_MS} ms` },
    },
    deliveryPanel(steps, "subscribers"),
    { title: "Server CPU µs per forwarded packet", xLabel: "subscribers", yLabel: "µs per packet", series: series(steps, (s) => s.cpuUsPerPacket) },
  ]);
}

const f = (v: number | undefined, suffix = "") => (v === undefined || !Number.isFinite(v) ? "–" : `${v}${suffix}`);

function loadTable(steps: LoadStep[], withLatency: boolean): string {
  const head = [
    "server", "N", "participants", "sent pkt/s", "delivered pkt/s", "delivery %", "server CPU %", "CPU µs/pkt",
    "RSS MB", "RSS/participant kB", "heap after GC MB", "heap/participant kB", "ELD p99 ms", ...(withLatency ? ["latency p50 ms", "latency p99 ms"] : []),
    "machine busy % (bench)", "generator CPU %", "UDP drops server/clients", "duplicates", "failed", "note",
  ];
  const rows = steps.map((s) => [
    s.server, s.n + (s.capacityShare !== undefined ? ` (${Math.round(s.capacityShare * 100)}%)` : ""), s.participants, s.sentPps, s.deliveredPps,
    f(s.deliveryPct), f(s.serverCpuPct), f(s.cpuUsPerPacket), f(s.rssMb), f(s.rssPerParticipantKb), f(s.heapAfterGcMb), f(s.heapPerParticipantKb), f(s.eldP99Ms),
    ...(withLatency ? [f(s.latencyP50Ms), f(s.latencyP99Ms)] : []),
    `${s.machineBusyPct} (${s.benchBusyPct})`, s.generatorCpuPct, `${s.udpDropsServer}/${s.udpDropsClients}`, s.duplicates, s.connectFailed,
    [s.backlog ? "backlog: still delivering 5 s after pause" : "", s.stop ?? "", s.retried ? `measured twice (${s.retried})` : ""].filter(Boolean).join("; "),
  ]);
  return table(head, rows);
}

function stormTable(steps: StormStep[]): string {
  const head = [
    "server", "N", "connected", "failed", "first media median ms", "p95 ms", "max ms", "first video median ms", "first video p95 ms",
    "server CPU s", "storm s", "RSS MB", "RSS/participant kB", "ELD p99 ms", "machine busy %", "note",
  ];
  const rows = steps.map((s) => [
    s.server, s.n, s.connected, s.failed, f(s.firstMediaMedianMs), f(s.firstMediaP95Ms), f(s.firstMediaMaxMs), f(s.firstVideoMedianMs),
    f(s.firstVideoP95Ms), s.serverCpuS, s.stormS, s.rssMb, s.rssPerParticipantKb, f(s.eldP99Ms), s.machineBusyPct,
    [s.stop, ...s.errors].filter(Boolean).join("; "),
  ]);
  return table(head, rows);
}

function table(head: string[], rows: Array<Array<string | number>>): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map((c) => String(c).replace(/\|/g, "\\|")).join(" | ")} |`)].join("\n");
}

export function markdown(r: RunResult, prefix: string, readme: string): string {
  const m = r.meta;
  const out: string[] = [];
  out.push(`# Relay vs Janus VideoRoom: ${m.quick ? "quick run" : "benchmark run"} of ${m.date}`);
  out.push("");
  out.push(
    `Machine: ${m.cpus} × ${m.cpuModel} (shared; load average at start ${m.loadAverageAtStart.join(", ")}). Node ${m.node}, Janus ${m.janus ?? "–"}, ` +
      `relay send path ${m.relaySendPath ?? "–"}, ` +
      `commit ${m.commit}${m.dirtyFiles ? ` + ${m.dirtyFiles} uncommitted files` : ""}. Run took ${Math.round(m.durationS / 60)} min.`,
  );
  out.push(`Media per publisher: ${m.fixture.join("; ")}.`);
  out.push(`Each step: ${m.warmupS} s warm-up, then a ${m.windowS} s window (publishers paused and packets drained at both ends, so sent and received counts cover the same packets).`);
  out.push(`How it is measured: [bench/README.md](${readme}). Compare the two servers by ratios from this one run, not absolute figures across runs.`);
  out.push("");
  out.push("## Summary");
  out.push("");
  if (r.targets.length) out.push(table(["target", "value", "met"], r.targets.map((t) => [t.target, t.value, t.pass === undefined ? "–" : t.pass ? "yes" : "**no**"])));
  out.push("");
  if (r.overallRatios.length) {
    out.push("Relay/Janus CPU per forwarded packet:");
    out.push("");
    out.push(table(["scenario", "N", "relay µs/pkt", "Janus µs/pkt", "relay/Janus", "both delivered ≥ 99%"], [
      ...r.ratios.map((x) => [x.scenario, x.n, x.relayUsPerPacket, x.janusUsPerPacket, x.ratio, x.bothDelivered ? "yes" : "no"]),
      ...r.overallRatios.map((x) => [`**${x.scenario} overall**`, "", "", "", `**${x.ratio}**`, x.basis]),
    ]));
    out.push("");
  }
  if (r.scale?.length) {
    out.push("Scale-out (issue 17): the relay with 2 workers (`--workers 2`), as 2 nodes sharing a Redis (`--redis`; the publisher joins through one, the subscribers through both and are proxied to the room's node), and as 2 nodes with the room spanning them (`--cluster-rooms span`; each subscriber on the node it joined through, the track piped once to the other), against the relay in one process, same run; CPU of all their processes:");
    out.push("");
    out.push(table(["variant", "scenario", "CPU per forwarded packet, variant/relay", "over", "fanout capacity, variant/relay"], r.scale.map((x) => [
      LABEL[x.variant], x.scenario, x.cpuRatio, x.basis, x.capacity ? `${x.capacity.ratio} (N=${x.capacity.variant} vs N=${x.capacity.relay})` : "–",
    ])));
    out.push("");
  }
  const caps = Object.entries(r.capacity).map(([k, c]) => `${LABEL[k as ServerKind]}: N=${c.n} (${c.limitedBy})`);
  if (caps.length) out.push(`Fanout capacity (largest N with ≥ 99% delivery, added latency p99 ≤ ${CAPACITY_P99_MS} ms, machine not saturated): ${caps.join("; ")}.`);
  if (r.baselineLatency) out.push(`One-way delay of werift alone (sender and receiver in one process, no server): p50 ${r.baselineLatency.p50Ms} ms, p99 ${r.baselineLatency.p99Ms} ms; the latency figures below include it.`);
  for (const n of m.notes) out.push(`- ${n}`);
  out.push("");
  if (r.fanout.length) {
    out.push("## Fanout: 1 publisher (audio + video), N subscribers");
    out.push("");
    out.push(`![fanout](${prefix}-fanout.svg)`);
    out.push("");
    out.push(loadTable(r.fanout, true));
    out.push("");
  }
  if (r.meeting.length) {
    out.push("## Meeting: N participants, each publishing audio + video and receiving all others");
    out.push("");
    out.push(`![meeting](${prefix}-meeting.svg)`);
    out.push("");
    out.push(loadTable(r.meeting, false));
    out.push("");
  }
  if (r.joinStorm.length) {
    out.push("## Join storm: N participants join at once while 1 publisher sends audio + video");
    out.push("");
    out.push("Time from opening the WebSocket to the first media packet (any track; first video separately). RSS per participant counts the host.");
    out.push("");
    out.push(`![join storm](${prefix}-join-storm.svg)`);
    out.push("");
    out.push(stormTable(r.joinStorm));
    out.push("");
  }
  if (r.browser?.length) {
    out.push("## Fanout from Chromium: a browser publishes (fake camera 1280x720 at 30 fps, microphone), N werift subscribers");
    out.push("");
    out.push(`What Chromium negotiated and sent: ${r.browser.map((b) => `${LABEL[b.server]}: SRTP ${b.srtpCipher || "?"}, video ${b.frame}`).join("; ")}. Its rate is its own bandwidth estimate's, so the servers' packet rates differ; compare CPU per packet.`);
    out.push("");
    out.push(loadTable(r.browser.flatMap((b) => b.steps), false));
    out.push("");
  }
  if (r.latency.length) {
    out.push("## Latency: one-way delay through the server at 25%, 50%, 75% of its fanout capacity");
    out.push("");
    out.push("Publisher and probe subscriber in one process (one clock); the send time travels in the payload.");
    out.push("");
    out.push(`![latency](${prefix}-latency.svg)`);
    out.push("");
    out.push(loadTable(r.latency, true));
    out.push("");
  }
  if (r.profile) {
    out.push(`## Relay profile: fanout N=${r.profile.n} under \`node --cpu-prof\``);
    out.push("");
    out.push(`Samples of the measurement window only (${r.profile.totalMs} ms busy; the whole profile, start-up included, is \`${r.profile.file}\`, not committed). The 10 functions with the most self time, as % of busy time:`);
    out.push("");
    out.push(table(["self %", "self ms", "function", "where"], r.profile.top.map((t) => [t.selfPct, t.selfMs, `\`${t.functionName}\``, t.location])));
    out.push("");
  }
  return out.join("\n");
}

/** Writes PREFIX.json, PREFIX.md and PREFIX-<scenario>.svg into `dir`; full runs also latest.md. */
export function writeReport(r: RunResult, dir: string, prefix: string, readmeLink: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    files.push(join(dir, name));
  };
  write(`${prefix}.json`, `${JSON.stringify(r, null, 2)}\n`);
  if (r.fanout.length) write(`${prefix}-fanout.svg`, loadCharts(`Fanout, ${r.meta.date}`, r.fanout, "subscribers N"));
  if (r.meeting.length) write(`${prefix}-meeting.svg`, loadCharts(`Meeting, ${r.meta.date}`, r.meeting, "participants N"));
  if (r.joinStorm.length) write(`${prefix}-join-storm.svg`, stormChart(`Join storm, ${r.meta.date}`, r.joinStorm));
  if (r.latency.length) write(`${prefix}-latency.svg`, latencyChart(`Latency, ${r.meta.date}`, r.latency));
  write(`${prefix}.md`, `${markdown(r, prefix, readmeLink)}\n`);
  if (!r.meta.quick && prefix !== "latest") {
    copyFileSync(join(dir, `${prefix}.md`), join(dir, "latest.md"));
    files.push(join(dir, "latest.md"));
  }
  return files;
}
