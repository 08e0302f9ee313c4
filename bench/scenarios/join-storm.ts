/** Join storm: N participants join at once while 1 publisher sends; time from WebSocket connect to first media packet. */
import { type Bench, sleep, split } from "../lib/bench.ts";
import type { FeedId, ServerKind } from "../lib/peers.ts";
import { machineBusy, machineSample, procSample } from "../lib/proc.ts";
import { quantile, round } from "../lib/stats.ts";
import type { StormStep } from "../lib/types.ts";
import { waitForQuietMachine } from "../lib/window.ts";
import type { ConnectResult } from "../lib/worker.ts";

export async function joinStorm(bench: Bench, kind: ServerKind, steps: number[]): Promise<StormStep[]> {
  return bench.withServer(kind, "storm", async (server, idle) => {
    const out: StormStep[] = [];
    for (const [i, n] of steps.entries()) {
      bench.progress.set({ step: `N=${n} (${i + 1}/${steps.length})`, phase: "host publishing" });
      const room = await bench.newRoom(server, 1);
      const { feeds } = await bench.pubWorker.call<{ feeds: FeedId[] }>({
        op: "publishers", target: bench.targetOf(server), room, count: 1, name: `storm${n}-host`, probe: false, timeoutMs: bench.plan.timeoutMs,
      });
      await sleep(bench.plan.settleMs);
      await waitForQuietMachine(bench, server);
      bench.progress.set({ phase: `${n} joining at once` });
      const shares = split(n, bench.genWorkers.length);
      const cpuA = procSample(server.pid);
      const machA = machineSample();
      await server.eldReset();
      const t0 = performance.now();
      const results = await Promise.all(
        bench.genWorkers.map((w, j) =>
          shares[j] === 0
            ? undefined
            : w.call<ConnectResult>({ op: "storm", target: bench.targetOf(server), room, count: shares[j]!, name: `storm${n}-${w.name}`, feeds, timeoutMs: bench.plan.timeoutMs }),
        ),
      );
      const stormS = (performance.now() - t0) / 1000;
      const cpuB = procSample(server.pid);
      const machB = machineSample();
      const eld = await server.eld();
      const first = results.flatMap((r) => r?.firstMediaMs ?? []);
      const firstVideo = results.flatMap((r) => r?.firstVideoMs ?? []);
      const connected = results.reduce((a, r) => a + (r?.ok ?? 0), 0);
      const step: StormStep = {
        server: kind,
        n,
        connected,
        failed: n - connected,
        errors: [...new Set(results.flatMap((r) => r?.errors ?? []))].slice(0, 5),
        firstMediaMedianMs: round(quantile(first, 0.5), 0),
        firstMediaP95Ms: round(quantile(first, 0.95), 0),
        firstMediaMaxMs: round(first.length ? Math.max(...first) : NaN, 0),
        firstVideoMedianMs: round(quantile(firstVideo, 0.5), 0),
        firstVideoP95Ms: round(quantile(firstVideo, 0.95), 0),
        serverCpuS: round((cpuB.cpuUs - cpuA.cpuUs) / 1e6, 2),
        stormS: round(stormS, 2),
        rssMb: round(cpuB.rssKb / 1024, 1),
        rssPerParticipantKb: round((cpuB.rssKb - idle.rssKb) / (n + 1), 0),
        machineBusyPct: round(machineBusy(machA, machB) * 100, 0),
      };
      if (eld) step.eldP99Ms = round(Math.max(0, eld.p99Ms - 10), 1);
      if (step.failed > 0) step.stop = `${step.failed} of ${n} did not get media within ${bench.plan.timeoutMs / 1000} s`;
      out.push(step);
      bench.progress.log(
        `  ${kind.padEnd(5)} N=${String(n).padStart(3)} · connected ${connected}/${n} · first media median/p95/max ` +
          `${step.firstMediaMedianMs}/${step.firstMediaP95Ms}/${step.firstMediaMaxMs} ms · first video p95 ${step.firstVideoP95Ms} ms · ` +
          `server CPU ${step.serverCpuS} s in ${step.stormS} s · RSS ${step.rssMb} MB${step.stop ? ` -> stop: ${step.stop}` : ""}`,
      );
      bench.progress.set({ phase: "leaving" });
      await bench.closeAll();
      await sleep(bench.plan.settleMs);
      if (step.stop) break;
    }
    return out;
  });
}
