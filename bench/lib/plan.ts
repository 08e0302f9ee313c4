/** What one benchmark run does: the command line read into a plan (`pnpm bench --help`). */
import { cpus } from "node:os";
import { join } from "node:path";
import { SERVER_KINDS, type ServerKind } from "./peers.ts";

export const SCENARIOS = ["fanout", "meeting", "join-storm", "latency", "browser"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const USAGE = [
  "pnpm bench [--quick] [--servers relay,relay-2w,relay-2n,relay-2s,janus] [--scenarios fanout,meeting,join-storm,latency,browser]",
  "           [--fanout-steps 10,25,...] [--meeting-steps 2,4,...] [--storm-steps 10,20,...] [--browser-steps 10,25,50]",
  "           [--window SECONDS] [--capacity N] [--profile | --no-profile] [--no-wait] [--out DIR]",
  "Needs root (private network namespace); installs Debian's janus when missing. See bench/README.md.",
].join("\n");

export interface Plan {
  quick: boolean;
  servers: ServerKind[];
  scenarios: Scenario[];
  /** Steps of N per scenario. */
  fanout: number[];
  meeting: number[];
  storm: number[];
  /** Subscribers of the Chromium publisher (the browser scenario). */
  browser: number[];
  /** The latency scenario's N, as shares of the fanout capacity. */
  latencyShares: number[];
  warmupMs: number;
  windowMs: number;
  latencyWindowMs: number;
  /** Pauses for a server to settle (after start, after participants leave). */
  settleMs: number;
  timeoutMs: number;
  /** Publishers pause before each snapshot until nothing has arrived for this long (at most 5 s). */
  drainMs: number;
  /**
   * Shared machine: before each window, wait (up to this long) until other users' processes use less
   * than a quarter of all cores. 0: do not wait.
   */
  waitQuietMs: number;
  /** Load-generator processes holding subscribers (besides the one holding publishers). */
  generators: number;
  profile: "always" | "never" | "if-missed";
  /** Fanout capacity for the latency scenario when fanout is not run. */
  capacity: number | undefined;
  outDir: string;
}

export type PlanResult = { ok: true; help: boolean; plan: Plan } | { ok: false; error: string };

const FLAGS = ["quick", "help", "profile", "no-profile", "no-wait"];
const OPTIONS = ["servers", "scenarios", "fanout-steps", "meeting-steps", "storm-steps", "browser-steps", "window", "capacity", "out"];

export function parsePlan(argv: readonly string[], root: string): PlanResult {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!.replace(/^--/, "");
    if (FLAGS.includes(name)) flags.add(name);
    else if (OPTIONS.includes(name) && argv[i + 1] !== undefined) values.set(name, argv[++i]!);
    else return { ok: false, error: `unknown or incomplete option "${argv[i]}"\n${USAGE}` };
  }
  const list = (name: string) => values.get(name)?.split(",").map((s) => s.trim()).filter(Boolean);
  const errors: string[] = [];
  /** The option's comma-separated numbers (> 0; whole unless `fractions`), or undefined when absent. */
  const numbers = (name: string, fractions = false): number[] | undefined => {
    const l = list(name)?.map(Number);
    if (l && (l.length === 0 || l.some((n) => !(n > 0) || (!fractions && !Number.isInteger(n))))) {
      errors.push(`--${name}: "${values.get(name)}" is not ${fractions ? "a number > 0" : "a list of whole numbers >= 1"}`);
    }
    return l;
  };
  const quick = flags.has("quick");
  const servers = (list("servers") ?? [...SERVER_KINDS]) as ServerKind[];
  const scenarios = (list("scenarios") ?? [...SCENARIOS]) as Scenario[];
  const badServer = servers.find((s) => !SERVER_KINDS.includes(s));
  if (badServer) errors.push(`--servers: unknown server "${badServer}" (${SERVER_KINDS.join(", ")})`);
  const badScenario = scenarios.find((s) => !SCENARIOS.includes(s));
  if (badScenario) errors.push(`--scenarios: unknown scenario "${badScenario}" (${SCENARIOS.join(", ")})`);
  const windowS = numbers("window", true)?.[0];
  const plan: Plan = {
    quick,
    servers,
    scenarios,
    fanout: numbers("fanout-steps") ?? (quick ? [2, 4] : [10, 25, 35, 50, 75, 100, 150, 200, 250, 300, 400]),
    meeting: numbers("meeting-steps") ?? (quick ? [3] : [2, 4, 6, 8, 10, 12, 14, 16, 20]),
    storm: numbers("storm-steps") ?? (quick ? [5] : [10, 20, 30, 50, 75, 100]),
    browser: numbers("browser-steps") ?? (quick ? [2] : [10, 25, 50]),
    latencyShares: [0.25, 0.5, 0.75],
    warmupMs: quick ? 500 : 3000,
    windowMs: (windowS ?? (quick ? 1 : 8)) * 1000,
    latencyWindowMs: (windowS ?? (quick ? 1 : 10)) * 1000,
    settleMs: quick ? 300 : 1500,
    timeoutMs: quick ? 10_000 : 20_000,
    drainMs: quick ? 300 : 1000,
    waitQuietMs: quick || flags.has("no-wait") ? 0 : 120_000,
    generators: Math.max(2, cpus().length),
    profile: flags.has("profile") ? "always" : flags.has("no-profile") || quick ? "never" : "if-missed",
    capacity: numbers("capacity")?.[0],
    outDir: values.get("out") ?? join(root, "bench", "results", ...(quick ? ["quick"] : [])),
  };
  return errors.length ? { ok: false, error: errors.join("; ") } : { ok: true, help: flags.has("help"), plan };
}
