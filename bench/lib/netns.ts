/**
 * The harness runs inside a private network namespace of its own (network rule: traffic only to
 * loopback or to addresses of namespaces the test creates). It has lo (127.0.0.1: the relay and its
 * clients) and a veth pair with BENCH_ADDRESS on one end (Janus and its clients: Janus never gathers
 * loopback candidates). Both are local addresses, so every packet goes through the loopback device;
 * nothing leaves the namespace.
 */
import { spawn } from "node:child_process";

export const BENCH_ADDRESS = "10.213.0.1";
const MARK = "SFU_BENCH_NETNS";

export function insideBenchNamespace(): boolean {
  return process.env[MARK] === "1";
}

/** Re-runs this process's command line inside a new network namespace; resolves with its exit code. */
export function reexecInNamespace(): Promise<number> {
  const setup = [
    "set -e",
    "ip link set lo up",
    "ip link add bench0 type veth peer name bench1",
    `ip addr add ${BENCH_ADDRESS}/24 dev bench0`,
    "ip link set bench0 up",
    "ip link set bench1 up",
    'exec "$@"',
  ].join("; ");
  const child = spawn("unshare", ["-n", "sh", "-c", setup, "sh", process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, [MARK]: "1" },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

export function canCreateNamespace(): boolean {
  return process.getuid?.() === 0;
}
