/**
 * The Redis a two-node relay cluster shares in the bench (relay-2n): Debian's redis-server, one
 * process per server under test, on 127.0.0.1 inside the bench's namespace, nothing saved to disk.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { freeTcpPort } from "./janus-driver.ts";

const REDIS_SERVER = "/usr/bin/redis-server";

/** Installs redis-server when missing (root; before entering the namespace, which has no route to Debian's mirrors). */
export function ensureRedis(log: (s: string) => void): void {
  if (existsSync(REDIS_SERVER)) return;
  if (process.getuid?.() !== 0) throw new Error("redis-server is not installed and this is not root: apt-get install -y redis-server");
  log("installing Redis (apt-get install redis-server)…");
  execFileSync("sh", ["-c", "apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=600 redis-server"], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

export interface RedisProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisProcess> {
  const port = await freeTcpPort();
  const child: ChildProcess = spawn(REDIS_SERVER, ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const deadline = performance.now() + 10_000;
  while (!/Ready to accept connections/.test(log)) {
    if (child.exitCode !== null || performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not start:\n${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      process.off("exit", killOnExit);
      if (child.exitCode === null) child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
