/** Self time per function from a V8 .cpuprofile (node --cpu-prof). */
import { readFileSync } from "node:fs";
import type { ProfileEntry } from "./types.ts";

interface CpuProfile {
  startTime: number;
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(.*)$/.exec(url);
  if (m) return m[1]!;
  const r = /\/(packages\/.*|bench\/.*|test\/.*)$/.exec(url);
  if (r) return r[1]!;
  return url.replace(/^file:\/\//, "") || "(native)";
}

/**
 * The `limit` functions with the most self time, excluding idle time; percentages of busy time.
 * `window`: only samples taken in [fromUs, toUs] of the monotonic clock (process.hrtime's; V8's
 * profile timestamps use it too), e.g. one measurement window and not the start-up.
 */
export function topSelfTime(file: string, limit = 10, window?: { fromUs: number; toUs: number }): { totalMs: number; top: ProfileEntry[] } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { ms: number; name: string; location: string }>();
  let totalUs = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") continue;
    totalUs += dt;
    const name = functionName || "(anonymous)";
    const location = url ? `${shortUrl(url)}:${lineNumber + 1}` : "";
    const key = `${name}@${location}`;
    const e = self.get(key) ?? { ms: 0, name, location };
    e.ms += dt / 1000;
    self.set(key, e);
  }
  const totalMs = totalUs / 1000;
  const top = [...self.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, limit)
    .map((e) => ({ selfMs: Math.round(e.ms), selfPct: Math.round((e.ms / totalMs) * 1000) / 10, functionName: e.name, location: e.location }));
  return { totalMs: Math.round(totalMs), top };
}
