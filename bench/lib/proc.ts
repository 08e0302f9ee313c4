/** CPU and memory of processes and of the machine, from /proc (Linux). */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second for /proc/<pid>/stat times (getconf CLK_TCK: 100 on Linux). */
export const CLK_TCK = 100;

export interface ProcSample {
  /** user + system time of every thread of the process, in microseconds. */
  cpuUs: number;
  rssKb: number;
  threads: number;
  at: number;
}

/** One process (all its threads): /proc/PID/stat utime + stime, /proc/PID/status VmRSS. */
export function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm) ": state is field 3, utime 14, stime 15, num_threads 20 (1-based).
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const threads = Number(rest[17]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuUs: ((utime + stime) * 1e6) / CLK_TCK, rssKb, threads, at: performance.now() };
}

export function tryProcSample(pid: number): ProcSample | undefined {
  try {
    return procSample(pid);
  } catch {
    return undefined;
  }
}

/** `pid` and every process below it (a browser's renderer, GPU and utility processes). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** procSample summed over processTree(pid); undefined when `pid` is gone. */
export function tryTreeSample(pid: number): ProcSample | undefined {
  const tree = processTree(pid).map(tryProcSample);
  if (tree[0] === undefined) return undefined;
  return tree.reduce<ProcSample>((a, x) => (x ? { cpuUs: a.cpuUs + x.cpuUs, rssKb: a.rssKb + x.rssKb, threads: a.threads + x.threads, at: a.at } : a), { cpuUs: 0, rssKb: 0, threads: 0, at: tree[0].at });
}

export interface MachineSample {
  busy: number;
  total: number;
}

/** The machine's aggregate CPU line of /proc/stat (ticks). */
export function machineSample(): MachineSample {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // without guest (already in user)
  return { busy: total - idle, total };
}

/** Busy share of all cores between two samples, 0..1. */
export function machineBusy(a: MachineSample, b: MachineSample): number {
  const total = b.total - a.total;
  return total > 0 ? (b.busy - a.busy) / total : 0;
}

export function cpuCount(): number {
  return readFileSync("/proc/stat", "utf8").split("\n").filter((l) => /^cpu\d+ /.test(l)).length;
}

/** Several processes as one (a relay's primary and workers, two nodes): CPU and RSS added up; `at` of the first. */
export function procSampleAll(pids: readonly number[]): ProcSample {
  const samples = pids.map(procSample);
  return {
    cpuUs: samples.reduce((a, s) => a + s.cpuUs, 0),
    rssKb: samples.reduce((a, s) => a + s.rssKb, 0),
    threads: samples.reduce((a, s) => a + s.threads, 0),
    at: samples[0]!.at,
  };
}
