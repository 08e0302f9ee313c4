/**
 * A real TURN server for tests: coturn (Debian package `coturn`, installed when missing and root), one
 * process per test on the address and port it is given, with coturn's `use-auth-secret` scheme (the
 * relay mints the credentials, docs/deploy.md). Its log is kept to show what it really relayed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDebianPackage } from "../browser/support/browsers.mjs";

const TURNSERVER = "/usr/bin/turnserver";

export interface CoturnOptions {
  /** Where clients reach it (TURN over UDP and TCP). */
  listenIp: string;
  port: number;
  /** The address relayed traffic leaves from, and its UDP port range. */
  relayIp: string;
  relayPorts: [number, number];
  /** coturn's static-auth-secret. */
  secret: string;
}

export interface Coturn {
  /** The turn: URL clients are told. */
  url: string;
  /** Everything coturn logged so far. */
  log(): string;
  close(): Promise<void>;
}

/** Installs coturn (as root) when missing: call it before entering a network namespace, which has no route to Debian's mirrors. */
export function ensureCoturn(): void {
  ensureDebianPackage(TURNSERVER, "coturn");
}

export async function startCoturn(o: CoturnOptions): Promise<Coturn> {
  ensureCoturn();
  const scratch = join(tmpdir(), `sfu-coturn-${process.pid}-${o.port}`);
  const child: ChildProcess = spawn(TURNSERVER, [
    "-n", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint", "--log-file=stdout", "--simple-log", "--verbose",
    `--listening-ip=${o.listenIp}`, `--listening-port=${o.port}`,
    `--relay-ip=${o.relayIp}`, `--min-port=${o.relayPorts[0]}`, `--max-port=${o.relayPorts[1]}`,
    "--use-auth-secret", `--static-auth-secret=${o.secret}`, "--realm=sfu-room.test",
    // The relay and the test clients live on loopback or in the test's own namespace.
    "--allow-loopback-peers",
    // Its own files, not the system service's.
    `--pidfile=${scratch}.pid`, `--db=${scratch}.sqlite`,
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const deadline = performance.now() + 10_000;
  while (!/UDP listener opened on/.test(log)) {
    if (child.exitCode !== null || performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`coturn did not start:\n${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `turn:${o.listenIp}:${o.port}?transport=udp`,
    log: () => log,
    async close() {
      process.off("exit", killOnExit);
      if (child.exitCode === null) child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(`${scratch}.pid`, { force: true });
      rmSync(`${scratch}.sqlite`, { force: true });
    },
  };
}
