/** Self and inclusive time per function from a V8 .cpuprofile (node --cpu-prof). */
import { readFileSync } from "node:fs";
import type { ProfileEntry } from "./types.ts";

interface CpuProfile {
  startTime: number;
  endTime: number;
  nodes: Array<{ id: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

type ProfileNode = CpuProfile["nodes"][number];

/**
 * Each non-idle sample of `profile` in `window` (µs of the monotonic clock), with its leaf node and the
 * time it stands for (µs): the walk both tops share.
 */
function forEachSample(profile: CpuProfile, window: { fromUs: number; toUs: number } | undefined, visit: (leaf: ProfileNode, dtUs: number) => void): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(profile.samples[i]!);
    if (!leaf || leaf.callFrame.functionName === "(idle)") continue;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    visit(leaf, profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0);
  }
}

/** A function's name and "file:line", as the tables show them. */
function describe(node: ProfileNode): { name: string; location: string } {
  const { functionName, url, lineNumber } = node.callFrame;
  return { name: functionName || "(anonymous)", location: url ? `${shortUrl(url)}:${lineNumber + 1}` : "" };
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
  const self = new Map<string, { ms: number; name: string; location: string }>();
  let totalUs = 0;
  forEachSample(profile, window, (leaf, dt) => {
    totalUs += dt;
    const { name, location } = describe(leaf);
    const key = `${name}@${location}`;
    const e = self.get(key) ?? { ms: 0, name, location };
    e.ms += dt / 1000;
    self.set(key, e);
  });
  const totalMs = totalUs / 1000;
  const top = [...self.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, limit)
    .map((e) => ({ selfMs: Math.round(e.ms), selfPct: Math.round((e.ms / totalMs) * 1000) / 10, functionName: e.name, location: e.location }));
  return { totalMs: Math.round(totalMs), top };
}

/** Where a profile's span is: its samples' monotonic clock, from start to end (µs). */
export function profileSpan(file: string): { startUs: number; endUs: number } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  return { startUs: profile.startTime, endUs: profile.endTime };
}

/**
 * Inclusive time (the function and everything it called) of the `limit` functions with the most,
 * excluding idle time, as % of busy time; `match` keeps only functions whose "name location" matches
 * (e.g. the join path: /signal\/|createOffer|handleHandshakes/). Where self time says what is slow,
 * this says which caller the time belongs to (a join's signaling against the media it then forwards).
 */
export function topInclusiveTime(file: string, limit = 30, opts: { match?: RegExp; window?: { fromUs: number; toUs: number } } = {}): { totalMs: number; top: Array<{ inclusiveMs: number; inclusivePct: number; functionName: string; location: string }> } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, { ms: number; name: string; location: string }>();
  let totalUs = 0;
  forEachSample(profile, opts.window, (leaf, dt) => {
    totalUs += dt;
    const seen = new Set<string>(); // a recursive function counts once per sample
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const { name, location } = describe(byId.get(id)!);
      const key = `${name}@${location}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const e = inclusive.get(key) ?? { ms: 0, name, location };
      e.ms += dt / 1000;
      inclusive.set(key, e);
    }
  });
  const totalMs = totalUs / 1000;
  const top = [...inclusive.values()]
    .filter((e) => e.name !== "(root)" && (!opts.match || opts.match.test(`${e.name} ${e.location}`)))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, limit)
    .map((e) => ({ inclusiveMs: Math.round(e.ms), inclusivePct: Math.round((e.ms / totalMs) * 1000) / 10, functionName: e.name, location: e.location }));
  return { totalMs: Math.round(totalMs), top };
}
