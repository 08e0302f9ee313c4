/**
 * Runs the component tests (files listed in /web-test-runner.config.mjs) in headless Chromium and
 * Firefox ESR with real relays, prints "N passed, N failed" and exits non-zero on any failure.
 *
 *   node --import tsx test/browser/run-components.ts            # both browsers
 *   SFU_TEST_BROWSERS=chromium node --import tsx test/browser/run-components.ts
 *
 * Firefox never offers loopback ICE candidates, so (as root) the run moves itself into a private
 * network namespace with a veth address 10.213.0.1 and a default route (@sfu-room/netns); the
 * relays' WebRTC sockets bind that address, signaling stays on 127.0.0.1, and nothing leaves the
 * namespace. Without root, Firefox runs the tests that need no media connection and skips the others.
 */
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { startRelay, DEFAULT_RELAY_CONFIG, type RelayConfig } from "@sfu-room/relay";
import { BROWSER_NAMESPACE, canCreateNamespace, insideNamespace, reexecInNamespace } from "@sfu-room/netns";
import { startTestRunner } from "@web/test-runner";
import { CHROMIUM_PATH, FIREFOX_PATH, ensureBrowser } from "./support/browsers.mjs";
import { startDroppingRelay } from "./support/fake-relays.ts";
import { startProxyControl } from "./support/proxy-control.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const browsers = (process.env.SFU_TEST_BROWSERS ?? "chromium,firefox").split(",");

if (browsers.includes("chromium")) ensureBrowser(CHROMIUM_PATH, "chromium");
if (browsers.includes("firefox")) ensureBrowser(FIREFOX_PATH, "firefox-esr");

const inNamespace = insideNamespace(BROWSER_NAMESPACE);
if (!inNamespace && browsers.includes("firefox") && canCreateNamespace() && process.env.SFU_TEST_NO_NETNS !== "1") {
  const code = await reexecInNamespace(BROWSER_NAMESPACE).catch((e: Error) => {
    console.error(`[components] ${e.message}; set SFU_TEST_NO_NETNS=1 to run without one`);
    return 1;
  });
  process.exit(code);
}

const rtcBind = inNamespace ? BROWSER_NAMESPACE.address : "127.0.0.1";
const log = pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" });
const relayConfig = (core: Partial<RelayConfig["core"]> = {}): RelayConfig => {
  const base = structuredClone(DEFAULT_RELAY_CONFIG);
  // One process each: seven relays run at once here, and with one worker per core they would be 21
  // processes on a shared machine for suites about the element, not about placing rooms (workers.test).
  return { ...base, port: 0, workers: 1, rtcBindAddress: rtcBind, core: { ...base.core, ...core } };
};
const relay = await startRelay(relayConfig(), log);
const fullRelay = await startRelay(relayConfig({ maxParticipantsPerRoom: 1 }), log);
// Data rate limit low enough for a page to go over it (the default, 500 frames/s, outruns SCTP here).
const dataLimitedRelay = await startRelay(relayConfig({ dataMessagesPerSecond: 20 }), log);
// And one that lets several MiB through at once, to see the SDK pace a burst by bufferedamountlow.
const dataFastRelay = await startRelay(relayConfig({ dataBytesPerSecond: 16 * 1024 * 1024, dataMessagesPerSecond: 5000 }), log);
const droppingRelay = await startDroppingRelay();
// A relay that keeps no session after its WebSocket drops (resume refused): the rejoin path.
const noResumeRelay = await startRelay(relayConfig({ resumeWindowMs: 0 }), log);
// One that keeps it two minutes: what ends a session there before that is the client, never the window.
const longResumeRelay = await startRelay(relayConfig({ resumeWindowMs: 120_000 }), log);
// Signaling outages for the reconnection tests: TCP proxies in front of a relay, cut on a test's request.
const proxyControl = await startProxyControl({ relay: relay.port, noResumeRelay: noResumeRelay.port, longResumeRelay: longResumeRelay.port });

process.env.SFU_TEST_CONFIG = JSON.stringify({
  relay: relay.signalUrl,
  fullRelay: fullRelay.signalUrl,
  dataLimitedRelay: dataLimitedRelay.signalUrl,
  dataFastRelay: dataFastRelay.signalUrl,
  droppingRelay: droppingRelay.url,
  noResumeRelay: noResumeRelay.signalUrl,
  longResumeRelay: longResumeRelay.signalUrl,
  proxyControl: proxyControl.url,
  // Firefox can reach the relay's media ports only from inside the namespace.
  firefoxMedia: inNamespace,
});
process.chdir(ROOT);

async function shutdown(): Promise<void> {
  await Promise.allSettled([relay.close(), fullRelay.close(), dataLimitedRelay.close(), dataFastRelay.close(), droppingRelay.close(), proxyControl.close(), noResumeRelay.close(), longResumeRelay.close()]);
}

const runner = await startTestRunner({
  // Extra arguments go to the runner, e.g. --files test/browser/components/reconnect.test.ts
  argv: ["--config", `${ROOT}web-test-runner.config.mjs`, ...process.argv.slice(2)],
  autoExitProcess: false,
});
if (!runner) {
  await shutdown();
  console.log("0 passed, 1 failed");
  process.exit(1);
}
runner.on("finished", () => void runner.stop());
runner.on("stopped", async (passedAll: boolean) => {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures: string[] = [];
  type Suite = { name: string; suites: Suite[]; tests: Array<{ name: string; passed: boolean; skipped: boolean; error?: { message: string } }> };
  const walk = (suite: Suite, path: string[], browser: string) => {
    for (const t of suite.tests) {
      if (t.skipped) skipped++;
      else if (t.passed) passed++;
      else {
        failed++;
        failures.push(`[${browser}] ${[...path, t.name].join(" > ")}: ${t.error?.message ?? ""}`);
      }
    }
    for (const s of suite.suites) walk(s, [...path, s.name], browser);
  };
  for (const session of runner.sessions.all()) {
    if (session.testResults) walk(session.testResults as Suite, [], session.browser.name);
    for (const e of session.errors) {
      failed++;
      failures.push(`[${session.browser.name}] ${session.testFile}: ${e.message}`);
    }
  }
  await shutdown();
  if (failures.length) console.log(`\nFailures:\n  ${failures.join("\n  ")}`);
  if (!passedAll && failed === 0) failed = 1; // e.g. a browser that did not start
  console.log(`\ncomponents: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exit(failed === 0 && passedAll ? 0 : 1);
});
