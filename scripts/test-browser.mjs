#!/usr/bin/env node
// The browser suites, run by scripts/test.mjs: component tests (@web/test-runner in headless Chromium
// and Firefox ESR, installed from Debian when missing) and the end-to-end test (the real relay and the
// built demo in headless Chromium). Prints "N passed, N failed" last; exits non-zero on any failure.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}` };
let passed = 0;
let failed = 0;
/** Each suite's failed tests, listed again at the end (scripts/test.mjs repeats them last). */
const failedTests = [];

function run(title, args, count, failures) {
  console.log(`\n=== ${title}: node ${args.join(" ")}`);
  const started = Date.now();
  const result = spawnSync("node", args, { cwd: join(root, "test"), env, encoding: "utf8", stdio: ["inherit", "pipe", "inherit"] });
  process.stdout.write(result.stdout ?? "");
  const counts = count(result.stdout ?? "");
  failedTests.push(...failures(result.stdout ?? "").map((name) => `[${title}] ${name}`));
  if (counts) {
    passed += counts.passed;
    failed += counts.failed;
  }
  const ok = result.status === 0 && counts !== undefined;
  if (!ok && (!counts || counts.failed === 0)) failed++; // crashed or printed no counts: a failure all the same
  console.log(`=== ${title}: ${ok ? "ok" : `FAILED (exit ${result.status ?? result.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

run("components (Chromium, Firefox ESR)", ["--import", "tsx", "browser/run-components.ts"], (out) => {
  const m = /components: (\d+) passed, (\d+) failed/.exec(out);
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : undefined;
}, (out) => (/^Failures:\n((?:  .*\n?)*)/m.exec(out)?.[1] ?? "").split("\n").filter(Boolean).map((l) => l.trim()));
const e2e = readdirSync(join(root, "test", "browser", "e2e")).filter((f) => f.endsWith(".e2e.ts")).map((f) => `browser/e2e/${f}`);
// Issue 12's acceptance on impaired links (namespaces and a userspace forwarder; docs/impaired-networks.md).
e2e.push("browser/impaired/congestion.scenario.ts");
// One file at a time: each drives several Chromium pages, and the machine may have two cores.
run("end to end (relay + Chromium)", ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=tap", ...e2e], (out) => {
  const p = /^# pass (\d+)/m.exec(out);
  const f = /^# fail (\d+)/m.exec(out);
  return p && f ? { passed: Number(p[1]), failed: Number(f[1]) } : undefined;
}, (out) => [...out.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]));

if (failedTests.length) console.log(`\nFailed tests:\n  ${failedTests.join("\n  ")}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
