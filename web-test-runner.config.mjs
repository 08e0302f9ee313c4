// @web/test-runner: component tests of <sfu-room> and the SDK in headless Chromium and Firefox ESR.
// Run through test/browser/run-components.ts, which starts the relays these tests use and passes their
// addresses in SFU_TEST_CONFIG (see that file). Both browsers come from Debian packages.
import { createRequire } from "node:module";

const require = createRequire(new URL("./test/package.json", import.meta.url));
const { esbuildPlugin } = require("@web/dev-server-esbuild");
const { chromeLauncher } = require("@web/test-runner-chrome");
const puppeteerCore = (await import(require.resolve("puppeteer-core"))).default;
const { CHROMIUM_PATH, FIREFOX_PATH, chromiumArgs, FIREFOX_PREFS } = await import("./test/browser/support/browsers.mjs");

// Tests that need Chromium's fake devices: two cameras (Firefox fakes one), a 1280x720 camera for three simulcast layers.
const CHROMIUM_ONLY = ["test/browser/components/devices.test.ts", "test/browser/components/simulcast-default.test.ts"];
const wanted = (process.env.SFU_TEST_BROWSERS ?? "chromium,firefox").split(",");
const browsers = [];
let chromium;
if (wanted.includes("chromium")) {
  browsers.push(
    (chromium = chromeLauncher({
      launchOptions: {
        executablePath: CHROMIUM_PATH,
        headless: true,
        // Two fake cameras and the default fake microphones, so device switching can be tested.
        args: chromiumArgs({ fakeDevices: "device-count=2" }),
      },
    })),
  );
}
if (wanted.includes("firefox")) {
  browsers.push(
    chromeLauncher({
      puppeteer: puppeteerCore,
      launchOptions: { browser: "firefox", executablePath: FIREFOX_PATH, headless: true, extraPrefsFirefox: FIREFOX_PREFS },
    }),
  );
}

export default {
  files: ["test/browser/components/**/*.test.ts", ...CHROMIUM_ONLY.map((f) => `!${f}`)],
  // Chromium only, not skipped.
  groups: chromium ? [{ name: "chromium-only", files: CHROMIUM_ONLY, browsers: [chromium] }] : [],
  // Lit's production build (no dev-mode warnings in every test's log).
  nodeResolve: { exportConditions: ["production"] },
  concurrency: 1,
  concurrentBrowsers: 1,
  browserStartTimeout: 60_000,
  testsStartTimeout: 60_000,
  testsFinishTimeout: 180_000,
  browsers,
  plugins: [esbuildPlugin({ ts: true, target: "es2022" })],
  testFramework: { config: { timeout: 30_000 } },
  // The relays' addresses, for the tests (window.__SFU_TEST__).
  testRunnerHtml: (testFramework) => `<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<script>window.__SFU_TEST__ = ${process.env.SFU_TEST_CONFIG ?? "{}"};</script>
<script type="module" src="${testFramework}"></script>
</body></html>`,
};
