/**
 * The top of a V8 CPU profile, for profiles the bench does not read itself (a join storm or a meeting
 * run under `RELAY_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR"`, see bench/README.md):
 *
 *   node --import tsx bench/profile-top.ts FILE.cpuprofile [--inclusive] [--match REGEX] [--window 0.45-0.85] [--limit N]
 *
 * Self time per function by default; `--inclusive`: time including callees; `--match`: only functions
 * whose "name location" matches; `--window A-B`: only samples between those shares of the profile's
 * span (skip the start-up and the stop).
 */
import { parseArgs } from "node:util";
import { profileSpan, topInclusiveTime, topSelfTime } from "./lib/profile.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { inclusive: { type: "boolean" }, match: { type: "string" }, window: { type: "string" }, limit: { type: "string" } },
});
const file = positionals[0];
if (file === undefined) {
  console.error("profile-top: give a .cpuprofile file: node --import tsx bench/profile-top.ts FILE [--inclusive] [--match REGEX] [--window 0.45-0.85] [--limit N]");
  process.exit(2);
}
const limit = values.limit === undefined ? 30 : Number(values.limit);
let window: { fromUs: number; toUs: number } | undefined;
if (values.window !== undefined) {
  const m = /^(0?\.\d+|0|1)-(0?\.\d+|1)$/.exec(values.window);
  if (!m || Number(m[1]) >= Number(m[2])) {
    console.error(`profile-top: --window "${values.window}" is not two shares of the span like 0.45-0.85`);
    process.exit(2);
  }
  const { startUs, endUs } = profileSpan(file);
  window = { fromUs: startUs + (endUs - startUs) * Number(m[1]), toUs: startUs + (endUs - startUs) * Number(m[2]) };
}
if (values.inclusive) {
  const r = topInclusiveTime(file, limit, { match: values.match === undefined ? undefined : new RegExp(values.match), window });
  console.log(`busy ${r.totalMs} ms; inclusive time:`);
  for (const e of r.top) console.log(`${e.inclusivePct.toFixed(1).padStart(6)}% ${String(e.inclusiveMs).padStart(7)} ms  ${e.functionName}  ${e.location}`);
} else {
  const r = topSelfTime(file, limit, window);
  const shown = values.match === undefined ? r.top : r.top.filter((e) => new RegExp(values.match!).test(`${e.functionName} ${e.location}`));
  console.log(`busy ${r.totalMs} ms; self time:`);
  for (const e of shown) console.log(`${e.selfPct.toFixed(1).padStart(6)}% ${String(e.selfMs).padStart(7)} ms  ${e.functionName}  ${e.location}`);
}
