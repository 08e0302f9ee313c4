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

function start(name, command, args) {
  // A process group of its own: stopping it stops what it started too (pnpm -> sh -> vite).
  const child = spawn(command, args, { cwd: root, env, stdio: "inherit", detached: true });
  child.on("exit", (code, signal) => {
    console.log(`[start] ${name} exited (${signal ?? code}); stopping`);
    stop(code ?? 1);
  });
  children.push(child);
  return child;
}

function stop(code) {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {} // that group is gone already
  }
  setTimeout(() => process.exit(code), 500).unref();
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

const relayArgs = process.argv.slice(2);
const ownKeys = relayArgs.some((a) => a.startsWith("--keys")) || Boolean(process.env.SFU_KEYS);
const devArgs = ownKeys ? [] : ["--keys", `dev:${randomBytes(32).toString("base64url")}`, "--dev-tokens", "on"];
// Readable log lines on the terminal (the relay logs JSON lines unless told otherwise), unless
// SFU_LOG_FORMAT says otherwise; a --log-format given to npm start comes later and wins.
const logArgs = process.env.SFU_LOG_FORMAT ? [] : ["--log-format", "pretty"];
start("relay", "node", ["packages/relay/bin/sfu-relay.mjs", ...logArgs, ...devArgs, ...relayArgs]);

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
