/**
 * Join storm against a relay running in its own process (`pnpm bench`, not part of the tests):
 * one publisher sends audio + video, N participants join at once (each also publishes audio), and we
 * measure time from WebSocket connect to the first media packet, failures, and the relay's memory per
 * connected participant (RSS and CPU from /proc for the relay process only).
 *
 *   tsx bench/join-storm.ts [--n 30] [--rounds 3]
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Pacer, type SentLog, WeriftClient } from "../test/support/werift-client.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg("n", 30);
const ROUNDS = arg("rounds", 3);

function procStats(pid: number): { rssKb: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return { rssKb, cpuTicks: Number(stat[11]) + Number(stat[12]) };
}

async function startRelay(): Promise<{ pid: number; url: string; stop: () => void }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "packages/relay/src/cli.ts"), "--port", "0", "--log-level", "info"], {
    cwd: root, stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /"port":(\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`relay exited ${code}`)));
  });
  return { pid: child.pid!, url: `ws://127.0.0.1:${port}/ws`, stop: () => child.kill("SIGTERM") };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

const results: Array<Record<string, number>> = [];
for (let round = 1; round <= ROUNDS; round++) {
  const relay = await startRelay();
  await new Promise((r) => setTimeout(r, 500));
  const idle = procStats(relay.pid);
  const log: SentLog = new Map();
  const host = new WeriftClient({ name: "host", log });
  await host.connect(relay.url);
  await host.join("storm");
  await host.publish([{ kind: "audio" }, { kind: "video", payloadBytes: 1000 }]);
  const pacer = new Pacer(() => [host], 2);
  pacer.start();
  const joiners = Array.from({ length: N }, (_, i) => new WeriftClient({ name: `j${i}`, log }));
  const cpuBefore = procStats(relay.pid).cpuTicks;
  const settled = await Promise.allSettled(
    joiners.map(async (c) => {
      await c.connect(relay.url);
      await c.join("storm");
      await c.publish([{ kind: "audio", payloadBytes: 80 }]);
      await c.connected(30_000);
    }),
  );
  const hostTracks = host.outgoing.map((t) => t.trackId);
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline && !joiners.every((c) => hostTracks.every((id) => c.received.get(id)))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 2000));
  const loaded = procStats(relay.pid);
  const firstMedia = joiners
    .map((c) => {
      const times = hostTracks.map((id) => c.received.get(id)?.firstPacketAt);
      return times.every((t) => t !== undefined) ? Math.min(...(times as number[])) - c.connectStartedAt : undefined;
    })
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  await pacer.stop();
  const row = {
    round,
    participants: N + 1,
    failed: settled.filter((s) => s.status === "rejected").length + (N - firstMedia.length),
    firstMediaMedianMs: Math.round(quantile(firstMedia, 0.5)),
    firstMediaP95Ms: Math.round(quantile(firstMedia, 0.95)),
    firstMediaMaxMs: Math.round(firstMedia.at(-1) ?? NaN),
    relayRssIdleMb: +(idle.rssKb / 1024).toFixed(1),
    relayRssLoadedMb: +(loaded.rssKb / 1024).toFixed(1),
    rssPerParticipantKb: Math.round((loaded.rssKb - idle.rssKb) / (N + 1)),
    relayCpuSecondsDuringJoin: (loaded.cpuTicks - cpuBefore) / 100,
  };
  results.push(row);
  console.log(JSON.stringify(row));
  await Promise.all([host, ...joiners].map((c) => c.close()));
  relay.stop();
  await new Promise((r) => setTimeout(r, 500));
}

const dir = join(root, "bench", "results");
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
writeFileSync(join(dir, `join-storm-${stamp}.json`), JSON.stringify({ n: N, rounds: results }, null, 2));
const cols = Object.keys(results[0]!);
const table = [`| ${cols.join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`, ...results.map((r) => `| ${cols.map((c) => r[c]).join(" | ")} |`)].join("\n");
writeFileSync(join(dir, `join-storm-${stamp}.md`), `# Join storm, ${N} participants (${new Date().toISOString()})\n\n${table}\n`);
console.log(`\n${table}`);
process.exit(0);
