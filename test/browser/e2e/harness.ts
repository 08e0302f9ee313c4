/**
 * Shared set-up of the end-to-end tests that drive the built demo: a real relay, the demo served on
 * localhost, headless Chromium, and `openDemo` to join through the demo's name form and the element's
 * pre-join view.
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, startRelay, type RelayConfig, type RunningRelay } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { buildDemo } from "../support/demo-build.ts";
import { serveStatic, type StaticServer } from "../support/static-server.ts";

export const DESKTOP = { width: 1280, height: 720 };
export const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
export type Viewport = typeof DESKTOP | typeof PHONE;

export interface Harness {
  /** The relay now (restartRelay() replaces it). */
  readonly relay: RunningRelay;
  /** Stops the relay (every session and socket gone, as a crash or a deploy does) and starts a new one on the same port. */
  restartRelay(): Promise<void>;
  site: StaticServer;
  chromium: Browser;
  /** Opens the demo, joins `room` as `name` through the name form and the pre-join view; `params` go into the URL. */
  openDemo(browser: Browser, name: string, room: string, options?: { viewport?: Viewport; params?: Record<string, string> }): Promise<Page>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Where the demo is built. */
  distDir: string;
  /** Chromium's fake camera file. */
  y4m?: string;
  relay?: Partial<RelayConfig>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
  const dist = await buildDemo(options.distDir);
  const site = await serveStatic(dist);
  const log = pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" });
  const relayConfig: RelayConfig = { ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, ...options.relay };
  let relay = await startRelay(relayConfig, log);
  const chromium = await puppeteer.launch({
    executablePath,
    headless: true,
    args: chromiumArgs(options.y4m ? { y4m: options.y4m } : {}),
    protocolTimeout: 60_000,
  });
  return {
    get relay() {
      return relay;
    },
    async restartRelay() {
      const port = relay.port;
      await relay.close();
      relay = await startRelay({ ...relayConfig, port }, log);
    },
    site,
    chromium,
    async openDemo(browser, name, room, { viewport = DESKTOP, params = {} } = {}) {
      // Its own window: a background tab is hidden, and the SDK pauses the videos of hidden pages.
      const page = await browser.newPage({ type: "window" }).catch(() => browser.newPage());
      // tsx compiles helpers with esbuild's keepNames, which calls __name() inside serialized functions.
      await page.evaluateOnNewDocument("window.__name = (f) => f");
      page.on("pageerror", (e) => console.error(`[${name}] page error:`, e));
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warn") console.error(`[${name}] ${m.text()}`);
      });
      await page.setViewport(viewport);
      const query = new URLSearchParams({ room, server: relay.signalUrl, ...params });
      await page.goto(`${site.url}/?${query}`);
      await page.$eval("#name", (input) => ((input as HTMLInputElement).value = ""));
      await page.type("#name", name);
      await page.click("#join");
      await joinFromPrejoin(page);
      await eventually(`${name} joined`, () => page.evaluate(() => document.querySelector("sfu-room")?.status ?? "none"), (s) => s === "joined");
      return page;
    },
    async close() {
      await chromium.close().catch(() => undefined);
      await relay.close();
      await site.close();
    },
  };
}

/** The demo's element opens in its pre-join view (unless ?prejoin=off): press its Join, as a person would. */
export async function joinFromPrejoin(page: Page): Promise<void> {
  await page.waitForSelector("sfu-room");
  if (!(await page.evaluate(() => document.querySelector("sfu-room")!.prejoin))) return;
  const join = await page.waitForSelector('sfu-room >>> [part~="prejoin-join"]:not([disabled])');
  await join!.click();
}

export async function eventually<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  // The monotonic clock: a wall-clock step on the machine (CI once saw one) made a 15 s wait give up after 2.4 s.
  const deadline = performance.now() + timeoutMs;
  let last: T = await read();
  while (!ok(last)) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}\nlast value: ${JSON.stringify(last, null, 1)?.slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await read();
  }
  return last;
}
