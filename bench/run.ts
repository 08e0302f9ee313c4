/**
 * The benchmark harness (`pnpm bench`, `pnpm bench --quick`): our relay against Janus VideoRoom on
 * this machine, same load, one run. See bench/README.md for what is measured and how; `--help` for
 * the options (lib/plan.ts).
 *
 * Layout: this process orchestrates; each server runs in its own process (bench/relay-server.ts, or
 * janus); the load generators are separate processes (bench/lib/worker.ts): one holds the publisher(s)
 * and the latency probe, the others the subscribers. All of it runs in a private network namespace
 * (@sfu-room/netns), so no packet leaves the machine or reaches its other addresses. The scenarios are
 * bench/scenarios/*.ts, the targets they are judged by bench/targets.ts.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { canCreateNamespace, insideNamespace, type NamespaceSpec, reexecInNamespace } from "@sfu-room/netns";
import { nativeAcceleratorFor, parseConfig } from "@sfu-room/relay";
import { CHROMIUM_PATH, ensureBrowser } from "../test/browser/support/browsers.mjs";
import { Bench } from "./lib/bench.ts";
import { describeFixture, loadFixtures } from "./lib/fixture.ts";
import { ensureJanus } from "./lib/janus-driver.ts";
import { ensureRedis } from "./lib/redis-server.ts";
import type { ServerKind } from "./lib/peers.ts";
import { type Plan, parsePlan, type Scenario, USAGE } from "./lib/plan.ts";
import { elapsed, Progress } from "./lib/progress.ts";
import { cpuRatios, scaleRatios } from "./lib/ratios.ts";
import { writeReport } from "./lib/report.ts";
import { round } from "./lib/stats.ts";
import type { RunResult } from "./lib/types.ts";
import { browserFanout } from "./scenarios/browser.ts";
import { fanout, fanoutCapacity } from "./scenarios/fanout.ts";
import { joinStorm } from "./scenarios/join-storm.ts";
import { latency, weriftBaseline } from "./scenarios/latency.ts";
import { meeting } from "./scenarios/meeting.ts";
import { profileRelay } from "./scenarios/profile.ts";
import { evaluateTargets } from "./targets.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * lo (127.0.0.1: the relay and its clients) and a veth pair with one address (Janus and its clients:
 * Janus never gathers loopback candidates). No default route: nothing here needs one.
 */
const BENCH_NAMESPACE: NamespaceSpec = { marker: "SFU_BENCH_NETNS", address: "10.213.0.1", veth: ["bench0", "bench1"] };

/** Outside the namespace: install what is missing, fail early on what cannot work, re-run inside one. */
async function prepareAndReexec(plan: Plan): Promise<number> {
  loadFixtures(); // fails early if the fixtures are missing
  if (plan.servers.includes("janus")) ensureJanus((s) => console.log(s));
  if (plan.servers.includes("relay-2n") || plan.servers.includes("relay-2s")) ensureRedis((s) => console.log(s));
  if (plan.scenarios.includes("browser")) ensureBrowser(CHROMIUM_PATH, "chromium");
  if (!canCreateNamespace()) {
    console.error("bench: needs root to create its private network namespace (unshare -n); see bench/README.md");
    return 1;
  }
  return reexecInNamespace(BENCH_NAMESPACE);
}

/** Inside the namespace: every scenario on every server, then capacity, ratios, targets, profile, report. */
async function runBench(plan: Plan): Promise<number> {
  const started = performance.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").replace(/-\d+Z$/, "Z");
  const rawDir = join(root, "bench", "results", "raw", plan.quick ? "quick" : stamp);
  mkdirSync(rawDir, { recursive: true });
  const progress = new Progress();
  const bench = new Bench({ plan, root, rawDir, progress, janusAddress: BENCH_NAMESPACE.address });
  const fixtures = loadFixtures();
  const result: RunResult = {
    meta: {
      date: new Date().toISOString(),
      quick: plan.quick,
      commit: git(["rev-parse", "--short", "HEAD"]),
      dirtyFiles: git(["status", "--porcelain"]).split("\n").filter(Boolean).length,
      node: process.version,
      janus: plan.servers.includes("janus") ? ensureJanus(() => undefined) : undefined,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "?",
      loadAverageAtStart: loadavg().map((x) => round(x, 2)),
      fixture: [describeFixture(fixtures.video), describeFixture(fixtures.audio)],
      windowS: plan.windowMs / 1000,
      warmupS: plan.warmupMs / 1000,
      durationS: 0,
      notes: [],
      relaySendPath: plan.servers.includes("relay") ? relaySendPath() : undefined,
    },
    fanout: [],
    meeting: [],
    joinStorm: [],
    latency: [],
    browser: [],
    capacity: {},
    ratios: [],
    overallRatios: [],
    scale: [],
    targets: [],
  };

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      progress.stop();
      console.error(`\nbench: ${signal}, stopping`);
      process.exit(130); // the exit hooks kill Janus; workers and the relay exit when their IPC channel closes
    });
  }
  progress.start();
  console.log(`sfu-room bench${plan.quick ? " --quick" : ""}: ${plan.servers.join(" vs ")}; ${plan.scenarios.join(", ")}; window ${plan.windowMs / 1000} s`);
  console.log(`  ${result.meta.fixture.join("\n  ")}`);
  console.log(`  raw logs: ${rawDir}`);
  try {
    await bench.startWorkers();
    for (const scenario of plan.scenarios) {
      progress.set({ scenario, server: "", step: "", phase: "" });
      progress.log(`${scenario}:`);
      for (const kind of plan.servers) {
        try {
          await runScenario(bench, scenario, kind, result);
        } catch (e) {
          const message = `${scenario} on ${kind} failed: ${(e as Error).stack ?? e}`;
          result.meta.notes.push(message.split("\n")[0]!);
          progress.log(`  ERROR ${message}`);
        }
      }
    }
    for (const kind of plan.servers) {
      const c = fanoutCapacity(result.fanout, kind);
      if (c) result.capacity[kind] = c;
    }
    Object.assign(result, cpuRatios(result));
    result.scale = scaleRatios(result);
    result.targets = evaluateTargets(result);
    const missed = result.targets.some((t) => !t.pass);
    if (plan.servers.includes("relay") && (plan.profile === "always" || (plan.profile === "if-missed" && missed))) {
      try {
        result.profile = await profileRelay(bench, result.capacity.relay?.n ?? plan.capacity ?? 50);
      } catch (e) {
        result.meta.notes.push(`profile failed: ${(e as Error).message}`);
        progress.log(`  profile failed: ${(e as Error).message}`);
      }
    }
  } finally {
    progress.stop();
    await bench.stopWorkers();
  }
  result.meta.durationS = round((performance.now() - started) / 1000, 0);
  const files = writeReport(result, plan.outDir, plan.quick ? "latest" : stamp, relative(plan.outDir, join(root, "bench", "README.md")));
  console.log(`\nDone in ${elapsed()}. Results:\n  ${files.join("\n  ")}`);
  return 0;
}

/** The relay's scale-out variants run the scenarios of issue 17's comparison only: fanout and meeting with 2 workers, fanout on 2 nodes. */
const VARIANT_SCENARIOS: Partial<Record<ServerKind, readonly Scenario[]>> = { "relay-2w": ["fanout", "meeting"], "relay-2n": ["fanout"], "relay-2s": ["fanout"] };

async function runScenario(bench: Bench, scenario: Scenario, kind: ServerKind, result: RunResult): Promise<void> {
  const { plan } = bench;
  if (VARIANT_SCENARIOS[kind]?.includes(scenario) === false) return;
  switch (scenario) {
    case "fanout":
      result.fanout.push(...(await fanout(bench, kind, plan.fanout, { label: "fanout", windowMs: plan.windowMs })));
      return;
    case "meeting":
      result.meeting.push(...(await meeting(bench, kind, plan.meeting)));
      return;
    case "join-storm":
      result.joinStorm.push(...(await joinStorm(bench, kind, plan.storm)));
      return;
    case "browser":
      if (kind === "relay" || kind === "janus") result.browser.push(await browserFanout(bench, kind, plan.browser));
      return;
    case "latency": {
      result.baselineLatency ??= await weriftBaseline(bench);
      const capacity = plan.capacity ?? fanoutCapacity(result.fanout, kind)?.n ?? Math.max(...plan.fanout);
      result.latency.push(...(await latency(bench, kind, capacity)));
      return;
    }
  }
}

/** The send path the relay runs here: what its --native-send (SFU_NATIVE_SEND, default auto) picks on this machine. */
function relaySendPath(): "native" | "javascript" {
  const parsed = parseConfig(["--workers", "1"], process.env);
  if (!parsed.ok) return "javascript";
  try {
    return nativeAcceleratorFor(parsed.config.nativeSend) !== undefined ? "native" : "javascript";
  } catch {
    return "javascript"; // "on" without the module: the relay itself will refuse to start and say why
  }
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
}

async function main(): Promise<number> {
  const parsed = parsePlan(process.argv.slice(2), root);
  if (!parsed.ok) {
    console.error(`bench: ${parsed.error}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  return insideNamespace(BENCH_NAMESPACE) ? runBench(parsed.plan) : prepareAndReexec(parsed.plan);
}

// The one exit: workers' IPC channels and Janus's exit hooks must not keep a finished run alive.
process.exit(await main());
