/**
 * Issue 12's table, measured: each link condition through the relay and as a direct browser-to-browser
 * call over the same forwarder (one call per condition: `--clean` seconds clean, then `--seconds` under
 * the condition), printed as a Markdown table, with every phase in detail before it and as JSON in
 * test/artifacts/impaired-table.json. Needs root (network namespaces; see rig.ts).
 *
 *   npm run bench:impaired -- [--seconds 60] [--clean 15] [--rows down500,up500] [--only relay|direct]
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CONDITIONS } from "./conditions.ts";
import { describePhase, measurePhase, type PhaseResult } from "./measure.ts";
import { enterRigNamespace, startRig } from "./rig.ts";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "60" }, clean: { type: "string", default: "15" }, rows: { type: "string" }, only: { type: "string" } },
});
const seconds = Number(values.seconds);
const clean = Number(values.clean);
const rows = values.rows ? CONDITIONS.filter((c) => values.rows!.split(",").includes(c.id)) : CONDITIONS;
const kinds = (values.only ? [values.only] : ["relay", "direct"]) as Array<"relay" | "direct">;
if (!(seconds > 0) || !(clean >= 0) || rows.length === 0 || kinds.some((k) => k !== "relay" && k !== "direct")) {
  console.error(`bench:impaired: --seconds and --clean take seconds, --rows ids from ${CONDITIONS.map((c) => c.id).join(",")}, --only relay or direct`);
  process.exit(2);
}
if (!(await enterRigNamespace())) {
  console.error("bench:impaired: needs root (network namespaces for the browsers and the impairment forwarder)");
  process.exit(1);
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`# impaired links: ${seconds} s per condition after ${clean} s clean; load average at start ${load()}`);
const results: Array<{ id: string; kind: string; clean: PhaseResult; impaired: PhaseResult }> = [];
const rig = await startRig();
try {
  let n = 0;
  for (const row of rows) {
    for (const kind of kinds) {
      const call = kind === "relay" ? await rig.relayCall(`impaired-${n++}`) : await rig.directCall();
      try {
        const before = await measurePhase(rig, call, `${kind} clean`, clean);
        await rig.impair(row.side, row.direction, row.conditions);
        const during = await measurePhase(rig, call, `${kind} ${row.name}`, seconds, row);
        await rig.restore();
        await call.verifyRoute(); // a figure from media that bypassed the link would mean nothing
        console.log(`${describePhase(before)}\n${describePhase(during)}`);
        results.push({ id: row.id, kind, clean: before, impaired: during });
      } finally {
        await rig.restore();
        await call.close();
      }
    }
  }
} finally {
  await rig.close();
}

const cell = (r: PhaseResult | undefined) =>
  r ? `${r.fps.toFixed(1)} fps, ${r.stalledS.toFixed(1)} s stalled, ${r.height}p${r.minHeight !== r.height ? ` (min ${r.minHeight}p)` : ""}` : "";
const offered = (r: PhaseResult | undefined) => (r?.link ? `${r.link.offeredKbps.toFixed(0)} kbit/s, ${r.link.droppedPct.toFixed(0)}% dropped` : "");
console.log(`\nload average at the end ${load()}\n`);
console.log("| condition | through the relay | direct call | into the link: relay / direct |");
console.log("|---|---|---|---|");
for (const row of rows) {
  const of = (kind: string) => results.find((r) => r.id === row.id && r.kind === kind)?.impaired;
  console.log(`| ${row.name} | ${cell(of("relay"))} | ${cell(of("direct"))} | ${offered(of("relay"))} / ${offered(of("direct"))} |`);
}
writeFileSync(fileURLToPath(new URL("../../artifacts/impaired-table.json", import.meta.url)), JSON.stringify({ seconds, clean, results }, null, 1));
