#!/usr/bin/env node
// `npm start`: runs the relay (ws://127.0.0.1:7880/ws) and the demo (http://localhost:3000) together.
// Extra arguments go to the relay, e.g. `npm start -- --announced-ip 192.168.1.20`. Ctrl-C stops both.
// Unless keys are given (--keys, SFU_KEYS), the relay gets a fresh development key and its development
// token endpoint, from which the demo takes its tokens: access control is on, as in production.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}` };
const children = [];

/** How long the children get to stop after the SIGTERM: the relay drains for --drain (5 s by default) first. */
const STOP_GRACE_MS = 15_000;
let stopping = false;
let exitCode = 0;

function start(name, command, args) {
  // A process group of its own: stopping it stops what it started too (pnpm -> sh -> vite, and the
  // relay's worker processes, which leave the signal to the relay and exit once it has stopped them).
  const child = spawn(command, args, { cwd: root, env, stdio: "inherit", detached: true });
  child.on("exit", (code, signal) => {
    if (!stopping) console.log(`[start] ${name} exited (${signal ?? code}); stopping`);
    stop(code ?? 1);
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(exitCode);
  });
  children.push(child);
  return child;
}

/**
 * Signals each child's group once: a second SIGTERM would kill the relay in the middle of its drain
 * (it handles the first only), cutting participants off instead of telling them to reconnect. Exits
 * when every child has (above), or after the grace time with what is left killed.
 */
function stop(code) {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {} // that group is gone already
  }
  setTimeout(() => {
    for (const child of children) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }
    process.exit(code);
  }, STOP_GRACE_MS).unref();
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

const relayArgs = process.argv.slice(2);
const ownKeys = relayArgs.some((a) => a.startsWith("--keys")) || Boolean(process.env.SFU_KEYS);
const devArgs = ownKeys ? [] : ["--keys", `dev:${randomBytes(32).toString("base64url")}`, "--dev-tokens", "on"];
// Readable log lines on the terminal (the relay logs JSON lines unless told otherwise), unless
// SFU_LOG_FORMAT says otherwise; a --log-format given to npm start comes later and wins.
const logArgs = process.env.SFU_LOG_FORMAT ? [] : ["--log-format", "pretty"];
// Run as the command it is (its shebang carries the relay's V8 flags, packages/relay/src/v8-flags.ts).
start("relay", "packages/relay/bin/sfu-relay.mjs", [...logArgs, ...devArgs, ...relayArgs]);

const port = Number(/--port[= ](\d+)/.exec(relayArgs.join(" "))?.[1] ?? process.env.SFU_PORT ?? 7880);
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 100));
}

const demo = join(root, "packages", "demo", "package.json");
if (existsSync(demo) && JSON.parse(readFileSync(demo, "utf8")).scripts?.dev) {
  start("demo", "pnpm", ["--filter", "@sfu-room/demo", "run", "dev"]);
  console.log(`\n[start] relay: ws://127.0.0.1:${port}/ws   demo: http://localhost:3000  (open it in two tabs)\n`);
} else {
  console.log(`\n[start] relay: ws://127.0.0.1:${port}/ws (health: http://127.0.0.1:${port}/health)\n`);
}
