/**
 * Fanout from a browser: Chromium publishes its fake camera and microphone, N werift subscribers
 * receive it. Measured as fanout is (window.ts), with Chromium pausing and resuming its encodings, so
 * the SRTP profile and the packets a browser sends (its own sizes, RTX, its bandwidth estimate's rate)
 * are measured too, on the relay and on Janus.
 */
import type { Bench } from "../lib/bench.ts";
import { BrowserPublisher } from "../lib/browser-publisher.ts";
import type { ServerKind } from "../lib/peers.ts";
import type { BrowserRun } from "../lib/types.ts";
import { describeLoad, loadStep, measureWindow, retryIfDisturbed, stopReason } from "../lib/window.ts";
import { addSubscribers } from "./fanout.ts";

export async function browserFanout(bench: Bench, kind: ServerKind, steps: number[]): Promise<BrowserRun> {
  const { plan, progress } = bench;
  return bench.withServer(kind, "browser", async (server, idle, idleHeap) => {
    const room = await bench.newRoom(server, 1);
    progress.set({ step: "publisher", phase: "starting Chromium and publishing" });
    const publisher = await BrowserPublisher.start(bench.targetOf(server), room, plan.timeoutMs);
    bench.addSource(publisher);
    try {
      const out: BrowserRun = { server: kind, steps: [], srtpCipher: "", frame: "" };
      const failures = { failed: 0, errors: [] as string[] };
      let current = 0;
      for (const [i, n] of steps.entries()) {
        progress.set({ step: `N=${n} (${i + 1}/${steps.length})`, phase: "" });
        if (n > current) {
          const r = await addSubscribers(bench, server, room, [publisher.feedId!], n - current, "browser");
          failures.failed += r.failed;
          failures.errors.push(...r.errors);
          current = n;
        }
        progress.set({ phase: "warm-up" });
        await new Promise((r) => setTimeout(r, plan.warmupMs));
        progress.set({ phase: `measuring ${plan.windowMs / 1000} s` });
        const step = await retryIfDisturbed(bench, async () => {
          const w = await measureWindow(bench, server, plan.windowMs);
          const s = loadStep(server, n, n + 1, n, w, idle, { failed: failures.failed, errors: [...new Set(failures.errors)].slice(0, 5) }, idleHeap);
          s.stop = stopReason(s);
          return s;
        });
        out.steps.push(step);
        progress.log(describeLoad(step));
        if (step.stop) break;
      }
      const stats = await publisher.stats();
      out.srtpCipher = stats.srtpCipher;
      out.frame = `${stats.width}x${stats.height}`;
      progress.log(`  ${kind}: Chromium's publisher connection: SRTP ${out.srtpCipher || "?"}, video ${out.frame}`);
      return out;
    } finally {
      bench.removeSource(publisher);
      await publisher.close();
    }
  });
}
