/** Meeting: N participants, each publishing audio + video and receiving everyone else; a fresh room per N. */
import { type Bench, sleep, split } from "../lib/bench.ts";
import type { FeedId, ServerKind } from "../lib/peers.ts";
import type { LoadStep } from "../lib/types.ts";
import { describeLoad, loadStep, measureWindow, retryIfDisturbed, stopReason } from "../lib/window.ts";
import type { ConnectResult } from "../lib/worker.ts";

export async function meeting(bench: Bench, kind: ServerKind, steps: number[]): Promise<LoadStep[]> {
  return bench.withServer(kind, "meeting", async (server, idle, idleHeap) => {
    const out: LoadStep[] = [];
    for (const [i, n] of steps.entries()) {
      bench.progress.set({ step: `N=${n} (${i + 1}/${steps.length})`, phase: "publishing" });
      const room = await bench.newRoom(server, n);
      const shares = split(n, bench.allWorkers.length);
      const published = await Promise.all(
        bench.allWorkers.map((w, j) =>
          shares[j] === 0
            ? { feeds: [] as FeedId[], failed: 0, errors: [] as string[] }
            : w.call<{ feeds: FeedId[]; failed: number; errors: string[] }>({
                op: "meeting-publish", target: bench.targetOf(server, j), room, count: shares[j]!, name: `m${n}-${w.name}`, concurrency: 4, timeoutMs: bench.plan.timeoutMs,
              }),
        ),
      );
      const feeds = published.flatMap((p) => p.feeds);
      bench.progress.set({ phase: `everyone receives everyone (${feeds.length} publishers)` });
      const received = await Promise.all(bench.allWorkers.map((w) => w.call<ConnectResult>({ op: "meeting-receive", feeds, concurrency: 4 })));
      const failed = published.reduce((a, p) => a + p.failed, 0) + received.reduce((a, r) => a + r.failed, 0);
      const errors = [...new Set([...published.flatMap((p) => p.errors), ...received.flatMap((r) => r.errors)])].slice(0, 5);
      bench.progress.set({ phase: "warm-up" });
      await sleep(bench.plan.warmupMs);
      bench.progress.set({ phase: `measuring ${bench.plan.windowMs / 1000} s` });
      const step = await retryIfDisturbed(bench, async () => {
        const w = await measureWindow(bench, server, bench.plan.windowMs);
        // Every packet of every publisher is expected at the N - 1 others.
        const s = loadStep(server, n, n, n - 1, w, idle, { failed, errors }, idleHeap);
        s.stop = stopReason(s);
        return s;
      });
      out.push(step);
      bench.progress.log(describeLoad(step));
      bench.progress.set({ phase: "leaving" });
      await bench.closeAll();
      await sleep(bench.plan.settleMs);
      if (step.stop) break;
    }
    return out;
  });
}
