#!/usr/bin/env node
// The one test command (`npm test`): type-checks every package, runs the Node-side tests (vitest:
// core unit tests and the relay with real werift peers), then the browser suites when present, and
// prints a closing "N passed, N failed" line that CI reads. Exits non-zero if anything failed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "node_modules", ".bin");
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
const artifacts = join(root, "test", "artifacts");
mkdirSync(artifacts, { recursive: true });

let passed = 0;
let failed = 0;
const failures = [];
/** Names of the failed tests, repeated at the end: CI keeps only the tail of the output. */
const failedTests = [];

function run(title, command, args) {
  const started = Date.now();
  console.log(`\n=== ${title}: ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  const ok = result.status === 0;
  console.log(`=== ${title}: ${ok ? "ok" : `FAILED (exit ${result.status ?? result.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (!ok) failures.push(title);
  return ok;
}

// 1. Types: strict TypeScript across packages (a failure counts as one failed test).
for (const project of ["packages/protocol", "packages/relay", "packages/sdk", "packages/demo", "test", "bench"]) {
  if (!existsSync(join(root, project, "tsconfig.json"))) continue;
  if (run(`typecheck ${project}`, "tsc", ["-p", project])) passed++;
  else failed++;
}

// 2. vitest: counted from its JSON report.
const vitestReport = join(artifacts, "vitest.json");
run("vitest", "vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestReport}`]);
if (existsSync(vitestReport)) {
  const report = JSON.parse(readFileSync(vitestReport, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests + (report.numTotalTests === 0 ? 1 : 0);
  // A suite that failed to load has no tests but still failed.
  failed += report.testResults.filter((r) => r.status === "failed" && r.assertionResults.length === 0).length;
  for (const file of report.testResults) {
    if (file.status === "failed" && file.assertionResults.length === 0) failedTests.push(`[vitest] ${file.name}: ${file.message}`);
    for (const t of file.assertionResults) if (t.status === "failed") failedTests.push(`[vitest] ${t.fullName}`);
  }
} else {
  failed++;
}

// 3. Browser suites (added by the SDK work): each script reports its own counts on its last line.
for (const script of ["scripts/test-browser.mjs"]) {
  if (!existsSync(join(root, script))) continue;
  const result = spawnSync("node", [script], { cwd: root, env, stdio: ["inherit", "pipe", "inherit"], encoding: "utf8" });
  process.stdout.write(result.stdout);
  const listed = /^Failed tests:\n((?:  .*\n?)*)/m.exec(result.stdout);
  if (listed) failedTests.push(...listed[1].split("\n").filter(Boolean).map((l) => l.trim()));
  const m = /^(\d+) passed, (\d+) failed/m.exec(result.stdout.split("\n").filter(Boolean).at(-1) ?? "");
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  if (result.status !== 0 && (!m || Number(m[2]) === 0)) failed++;
}

if (failedTests.length) console.log(`\nFailed tests:\n  ${failedTests.join("\n  ")}`);
if (failures.length) console.log(`\nFailed steps: ${failures.join(", ")}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && failures.length === 0 ? 0 : 1);
