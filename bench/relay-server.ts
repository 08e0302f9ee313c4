/**
 * The relay as the benchmark runs it: `startRelay` from @sfu-room/relay (the same code as the CLI) in
 * a process of its own, plus what the relay does not expose yet: event-loop delay
 * (perf_hooks.monitorEventLoopDelay, 10 ms resolution). Talks to the harness over the IPC channel of
 * child_process.fork:
 *   -> { op: "eld-reset" } | { op: "eld" } | { op: "memory" } | { op: "stats" } | { op: "stop" }
 *   <- { type: "ready", port, pid } | { type: "eld", p50Ms, p99Ms, maxMs, meanMs } | { type: "stats", ... }
 * Arguments are relay CLI flags (see `sfu-relay --help`).
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseConfig, startRelay } from "@sfu-room/relay";

// One process unless the run asks for workers (a later --workers wins): the harness measures this process.
const parsed = parseConfig(["--workers", "1", ...process.argv.slice(2)], process.env);
if (!parsed.ok || parsed.help) {
  console.error(`relay-server: ${parsed.ok ? "no --help here" : parsed.error}`);
  process.exit(2);
}
const relay = await startRelay(parsed.config);
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();

const send = (m: object) => process.send?.(m);
const ms = (ns: number) => ns / 1e6;

process.on("message", (m: { op: string }) => {
  switch (m.op) {
    case "eld-reset":
      eld.reset();
      send({ type: "eld-reset" });
      break;
    case "eld":
      send({ type: "eld", p50Ms: ms(eld.percentile(50)), p99Ms: ms(eld.percentile(99)), maxMs: ms(eld.max), meanMs: ms(eld.mean) });
      break;
    case "memory": {
      // After a full collection (the harness starts this process with --expose-gc): what is retained.
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      const mem = process.memoryUsage();
      send({ type: "memory", rssMb: mem.rss / 2 ** 20, heapUsedMb: mem.heapUsed / 2 ** 20, externalMb: mem.external / 2 ** 20, afterGc: gc !== undefined });
      break;
    }
    case "stats":
      send({ type: "stats", ...relay.stats() });
      break;
    case "stop":
      eld.disable();
      // A normal exit lets --cpu-prof write its profile.
      relay.close().finally(() => process.exit(0));
      setTimeout(() => process.exit(0), 5000).unref();
      break;
  }
});
process.on("disconnect", () => {
  relay.close().finally(() => process.exit(0));
});
send({ type: "ready", port: relay.port, pid: process.pid });
