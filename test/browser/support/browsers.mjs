// Browser binaries and flags shared by the component tests (web-test-runner.config.mjs) and the e2e test.
// Plain JavaScript so the root web-test-runner config can import it without a TypeScript loader.
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";

/** Installs a Debian package when its file `path` is missing and we are root (CI, fresh machines). */
export function ensureDebianPackage(path, debianPackage) {
  if (existsSync(path)) return path;
  if (process.getuid?.() === 0) {
    console.log(`[browser-tests] installing the Debian package ${debianPackage}`);
    execFileSync(
      "sh",
      ["-c", `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 ${debianPackage}`],
      { stdio: "inherit" },
    );
  }
  if (!existsSync(path)) throw new Error(`${path} not found: install the Debian package "${debianPackage}"`);
  return path;
}

/** A browser binary, installed from Debian when missing (see ensureDebianPackage). */
export const ensureBrowser = ensureDebianPackage;

/** Chromium flags from shared notes/testing.md: fake media, loopback ICE, nothing that phones home. */
export function chromiumArgs({ y4m, fakeDevices } = {}) {
  return [
    "--no-sandbox",
    "--use-fake-ui-for-media-stream",
    fakeDevices ? `--use-fake-device-for-media-stream=${fakeDevices}` : "--use-fake-device-for-media-stream",
    ...(y4m ? [`--use-file-for-fake-video-capture=${y4m}`] : []),
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
  ];
}

/** Firefox prefs: fake camera and microphone without prompts, real host candidates, autoplay allowed. */
export const FIREFOX_PREFS = {
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  // A mock audio output (the machines have no sound card; Chromium headless has its own fake one), so
  // an AudioContext runs: the pre-join view's microphone meter reads one.
  "media.cubeb.force_mock_context": true,
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  "datareporting.policy.dataSubmissionEnabled": false,
  "app.update.enabled": false,
  "browser.shell.checkDefaultBrowser": false,
};
