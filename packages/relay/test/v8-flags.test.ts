/**
 * The relay's V8 flags (src/v8-flags.ts) are what `sfu-relay` runs with: its shebang carries them, so
 * the installed command, `npm start` and `npm run relay` (which run it as a command) all get them.
 * Worker processes get them from the pool (test/relay/workers.test.ts checks a worker's command line).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { V8_FLAGS } from "../src/v8-flags.ts";

const BIN = fileURLToPath(new URL("../bin/sfu-relay.mjs", import.meta.url));

describe("the relay's V8 flags", () => {
  it("are on the shebang of sfu-relay", () => {
    expect(readFileSync(BIN, "utf8").split("\n")[0]).toBe(`#!/usr/bin/env -S node ${V8_FLAGS.join(" ")}`);
  });

  it("are on the command line of the process that runs sfu-relay as a command", { timeout: 60_000 }, async () => {
    const child = spawn(BIN, ["--port", "0", "--workers", "1"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      let out = "";
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes('"relay listening"')) resolve();
        });
        child.once("exit", (code) => reject(new Error(`sfu-relay exited (${code}) before listening:\n${out}`)));
      });
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0");
      expect(argv.slice(1, 1 + V8_FLAGS.length)).toEqual([...V8_FLAGS]);
      expect(argv[1 + V8_FLAGS.length]).toBe(BIN);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
