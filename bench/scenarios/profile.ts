/** The relay under `node --cpu-prof`, fanout at 75% of its capacity: self time per function during the window. */
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Bench } from "../lib/bench.ts";
import { topSelfTime } from "../lib/profile.ts";
import type { RunResult } from "../lib/types.ts";
import type { Window } from "../lib/window.ts";
import { fanout } from "./fanout.ts";

export async function profileRelay(bench: Bench, capacity: number): Promise<NonNullable<RunResult["profile"]>> {
  const n = Math.max(1, Math.round(capacity * 0.75));
  const dir = join(bench.rawDir, "profile");
  rmSync(dir, { recursive: true, force: true });
  bench.progress.set({ scenario: "profile", server: "relay", step: `N=${n}` });
  bench.progress.log(`profile (relay under --cpu-prof, fanout N=${n}):`);
  let last: Window | undefined;
  await fanout(bench, "relay", [n], { label: "profile", windowMs: bench.plan.windowMs, shares: [0.75], cpuProfDir: dir, onWindow: (w) => (last = w) });
  const file = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!file) throw new Error("no .cpuprofile written");
  const { totalMs, top } = topSelfTime(file, 10, last?.span);
  for (const t of top) bench.progress.log(`  ${String(t.selfPct).padStart(5)}%  ${t.functionName}  ${t.location}`);
  return { file: file.slice(bench.root.length + 1), n, totalMs, top };
}
