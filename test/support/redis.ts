/**
 * A real Redis for tests: redis-server (Debian package `redis-server`, installed when missing and
 * root), one process per test on 127.0.0.1 and a port it picks, with nothing saved to disk. Never the
 * system service. `client()` gives the test its own connection to look at the keys the relays wrote.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { createClient } from "redis";
import { ensureDebianPackage } from "../browser/support/browsers.mjs";

const REDIS_SERVER = "/usr/bin/redis-server";

async function connect(url: string) {
  const c = createClient({ url });
  c.on("error", () => {});
  await c.connect();
  return c;
}

export type TestRedisClient = Awaited<ReturnType<typeof connect>>;

export interface TestRedis {
  url: string;
  /** A connection of the test's own (closed by close()). */
  client(): Promise<TestRedisClient>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** `port`: a given one (a Redis started again where the relays expect it), else a free one. */
export async function startRedis(o: { port?: number } = {}): Promise<TestRedis> {
  ensureDebianPackage(REDIS_SERVER, "redis-server");
  const port = o.port ?? (await freePort());
  const child: ChildProcess = spawn(REDIS_SERVER, ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--daemonize", "no"], { stdio: ["ignore", "pipe", "pipe"] });
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
  const url = `redis://127.0.0.1:${port}`;
  const clients: TestRedisClient[] = [];
  return {
    url,
    async client() {
      const c = await connect(url);
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      process.off("exit", killOnExit);
      if (child.exitCode === null) child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
