/** Fanout: 1 publisher (audio + video), N subscribers added step by step on one room. */
import { type Bench, sleep, split } from "../lib/bench.ts";
import type { FeedId, ServerKind } from "../lib/peers.ts";
import type { ServerUnderTest } from "../lib/servers.ts";
import type { LoadStep } from "../lib/types.ts";
import { CAPACITY_P99_MS } from "../targets.ts";
import { describeLoad, loadStep, measureWindow, retryIfDisturbed, stopReason, type Window } from "../lib/window.ts";
import type { ConnectResult } from "../lib/worker.ts";

export interface FanoutOptions {
  /** Names the server's log and the participants. */
  label: string;
  windowMs: number;
  /** Latency scenario: each step's share of the capacity (recorded; stepping never stops early). */
  shares?: number[];
  /** Run the relay under `node --cpu-prof`, profiles written here. */
  cpuProfDir?: string;
  /** Called with every measurement window (the profile keeps the last one's span). */
  onWindow?: (w: Window) => void;
}

export async function fanout(bench: Bench, kind: ServerKind, steps: number[], opts: FanoutOptions): Promise<LoadStep[]> {
  const { plan, progress } = bench;
  return bench.withServer(kind, opts.label, async (server, idle, idleHeap) => {
    const out: LoadStep[] = [];
    const room = await bench.newRoom(server, 1);
    progress.set({ step: "publisher", phase: "connecting publisher and probe" });
    const { feeds } = await bench.pubWorker.call<{ feeds: FeedId[] }>({
      op: "publishers", target: bench.targetOf(server), room, count: 1, name: `${opts.label}-pub`, probe: true, timeoutMs: plan.timeoutMs,
    });
    let current = 1; // the probe
    const failures = { failed: 0, errors: [] as string[] };
    for (const [i, n] of steps.entries()) {
      progress.set({ step: `N=${n} (${i + 1}/${steps.length})`, phase: "" });
      if (n > current) {
        const r = await addSubscribers(bench, server, room, feeds, n - current, opts.label);
        failures.failed += r.failed;
        failures.errors.push(...r.errors);
        current = n;
      }
      progress.set({ phase: "warm-up" });
      await sleep(plan.warmupMs);
      progress.set({ phase: `measuring ${opts.windowMs / 1000} s` });
      const step = await retryIfDisturbed(bench, async () => {
        const w = await measureWindow(bench, server, opts.windowMs);
        opts.onWindow?.(w);
        const s = loadStep(server, n, n + 1, n, w, idle, { failed: failures.failed, errors: [...new Set(failures.errors)].slice(0, 5) }, idleHeap);
        if (opts.shares) s.capacityShare = opts.shares[i];
        s.stop = opts.shares ? undefined : stopReason(s);
        return s;
      });
      out.push(step);
      progress.log(describeLoad(step));
      if (step.stop) break;
    }
    return out;
  }, opts.cpuProfDir);
}

/**
 * Largest fanout N that a server serves: >= 99% delivered, no backlog, the added latency's p99 within
 * CAPACITY_P99_MS (a server that delivers everything a second late is not keeping up), the machine not
 * saturated; and what ended the stepping or the first step past it.
 */
export function fanoutCapacity(steps: readonly LoadStep[], kind: ServerKind): { n: number; limitedBy: string } | undefined {
  const mine = steps.filter((s) => s.server === kind);
  if (!mine.length) return undefined;
  const served = (s: LoadStep) => s.deliveryPct >= 99 && !s.backlog && s.benchBusyPct < 90 && s.generatorCpuPct < 95 && (s.latencyP99Ms ?? 0) <= CAPACITY_P99_MS;
  const good = mine.filter(served);
  const last = mine.at(-1)!;
  const n = good.length ? Math.max(...good.map((s) => s.n)) : mine[0]!.n;
  const past = mine.find((s) => s.n > n && !served(s) && !s.stop);
  const limitedBy = past !== undefined && (past.latencyP99Ms ?? 0) > CAPACITY_P99_MS
    ? `latency p99 ${past.latencyP99Ms} ms > ${CAPACITY_P99_MS} ms at N=${past.n}${last.stop ? `; stepping stopped at N=${last.n}: ${last.stop}` : ""}`
    : (last.stop ?? `largest step tried (N=${last.n}); capacity is at least this`);
  return { n, limitedBy };
}

/** Adds `count` subscribers of `feeds`, spread over the generator processes. */
export async function addSubscribers(bench: Bench, server: ServerUnderTest, room: string, feeds: FeedId[], count: number, label: string): Promise<ConnectResult> {
  const shares = split(count, bench.genWorkers.length);
  let done = 0;
  bench.progress.set({ phase: `connecting ${count} subscribers` });
  const results = await Promise.all(
    bench.genWorkers.map(async (w, i) => {
      if (shares[i] === 0) return undefined;
      const r = await w.call<ConnectResult>({
        // Generator i joins through way in i (relay-2n: the nodes in turn; else the one server).
        op: "subscribers", target: bench.targetOf(server, i), room, count: shares[i]!, name: `${label}-${w.name}`, feeds, concurrency: 8, timeoutMs: bench.plan.timeoutMs,
      });
      done += shares[i]!;
      bench.progress.set({ phase: `connecting subscribers ${done}/${count}` });
      return r;
    }),
  );
  const ok = results.reduce((a, r) => a + (r?.ok ?? 0), 0);
  const failed = results.reduce((a, r) => a + (r?.failed ?? 0), 0);
  return { ok, failed, errors: [...new Set(results.flatMap((r) => r?.errors ?? []))].slice(0, 5), firstMediaMs: [], firstVideoMs: [] };
}
