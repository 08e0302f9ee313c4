/**
 * The drop-in path, end to end in headless Chromium: a plain HTML page whose only script is the relay's
 * own `/sfu-room.js` (no bundler, no SDK install), with one `<sfu-room>` tag. Two such pages see and
 * hear each other.
 *
 *   node --import tsx --test test/browser/e2e/embed.e2e.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeY4m } from "../support/y4m.ts";
import { elementPage } from "./element-page.ts";
import { eventually } from "./harness.ts";
import { probe, type PageProbe } from "./page-probe.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));

let relay: RunningRelay;
let site: Server;
let siteUrl: string;
let browser: Browser;

describe("<sfu-room> loaded straight from the relay", { timeout: 180_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0 }, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
    const relayOrigin = `http://127.0.0.1:${relay.port}`;
    site = createServer((req, res) => {
      const name = new URL(req.url ?? "/", "http://x").searchParams.get("name") ?? "guest";
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(relayOrigin, "embedded", { name: name.replace(/[^\w ]/g, "") }));
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    siteUrl = `http://localhost:${(site.address() as { port: number }).port}`;
    browser = await puppeteer.launch({ executablePath, headless: true, args: chromiumArgs({ y4m }), protocolTimeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => site?.close(r));
    await relay?.close();
  });

  it("two plain pages with one script tag each see each other's video and hear each other", async () => {
    const pages = await Promise.all(
      ["Ada", "Grace"].map(async (name) => {
        const p = await browser.newPage();
        await p.evaluateOnNewDocument("window.__name = (f) => f");
        await p.setViewport({ width: 800, height: 600 });
        await p.goto(`${siteUrl}/?name=${name}`);
        return p;
      }),
    );
    const look = (i: number): Promise<PageProbe> => pages[i]!.evaluate(probe);
    const flowing = (p: PageProbe) =>
      p.status === "joined" &&
      p.tracks.filter((t) => t.kind === "video" && t.framesDecoded > 0).length === 1 &&
      p.tracks.filter((t) => t.kind === "audio" && t.packetsReceived > 0).length === 1;
    const first = await Promise.all([0, 1].map((i) => eventually(`page ${i + 1} receives the other`, () => look(i), flowing)));
    await new Promise((r) => setTimeout(r, 1500));
    for (const i of [0, 1]) {
      const now = await look(i);
      const video = (p: PageProbe) => p.tracks.find((t) => t.kind === "video")!.framesDecoded;
      assert.ok(video(now) > video(first[i]!), `page ${i + 1}: remote video keeps decoding`);
      assert.equal(now.tiles.filter((t) => !t.self && t.videoWidth > 0).length, 1, `page ${i + 1}: one remote tile with a picture`);
    }
  });
});
