/**
 * The presenter layout end to end in headless Chromium: plain pages with one `<sfu-room>` (loaded from
 * the relay, as embedding sites do), a real relay.
 *
 *   node --import tsx --test test/browser/e2e/presenter.e2e.ts
 *
 * - Ada shares her screen (a real click; Chromium's fake picker hands over its fake screen and a fake
 *   tab sound, as a browser does when the user shares a tab with its audio).
 * - Bob (1280x800) and Carol (a 390x844 phone) switch to the presenter layout: Ada's screen fills the
 *   stage's width, the camera tiles are one row below it, inside the viewport (measured, not a class).
 *   Screenshots of both go to test/artifacts/ and docs/screenshot-presenter-*.png (Ada's view to
 *   test/artifacts/presenter-sharer.png).
 * - Ada sees a small "You are presenting" preview of her share, not the screen full size, and her grid.
 * - The others receive the shared tab's sound as a `screen-audio` track.
 * - Ada stops from the preview: everyone is back in the grid.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeY4m } from "../support/y4m.ts";
import { elementPage } from "./element-page.ts";
import { eventually } from "./harness.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const ARTIFACTS = `${ROOT}test/artifacts/`;
const ROOM = `presenter-${Date.now().toString(36)}`;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

let relay: RunningRelay;
let site: Server;
let siteUrl: string;
let browser: Browser;

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** What one page shows: the layout's boxes, in CSS pixels of the viewport. */
interface LayoutLook {
  viewportWidth: number;
  stage: Box;
  grid: boolean;
  spotlight: { box: Box; name: string | null; video: string | undefined; videoWidth: number } | undefined;
  strip: Array<{ box: Box; name: string | null; source: string | undefined }>;
  presenting: { box: Box; videoWidth: number; text: string } | undefined;
  gridTiles: number;
}

function lookAt(page: Page): Promise<LayoutLook> {
  return page.evaluate(() => {
    const root = document.querySelector("sfu-room")!.shadowRoot!;
    const box = (el: Element): Box => {
      const r = el.getBoundingClientRect();
      return { left: r.left, top: r.top, width: r.width, height: r.height };
    };
    const spotlightTile = root.querySelector<HTMLElement>('[part~="spotlight"] .tile');
    const presenting = root.querySelector<HTMLElement>('[part~="presenting"]');
    return {
      viewportWidth: document.documentElement.clientWidth,
      stage: box(root.querySelector('[part~="stage"]')!),
      grid: root.querySelector('[part~="grid"]') !== null,
      spotlight: spotlightTile
        ? {
            box: box(spotlightTile),
            name: spotlightTile.getAttribute("aria-label"),
            video: spotlightTile.dataset.video,
            videoWidth: spotlightTile.querySelector("video")?.videoWidth ?? 0,
          }
        : undefined,
      strip: Array.from(root.querySelectorAll<HTMLElement>('[part~="strip"] .tile')).map((t) => ({ box: box(t), name: t.getAttribute("aria-label"), source: t.dataset.source })),
      presenting: presenting
        ? { box: box(presenting), videoWidth: presenting.querySelector("video")?.videoWidth ?? 0, text: presenting.textContent?.replace(/\s+/g, " ").trim() ?? "" }
        : undefined,
      gridTiles: root.querySelectorAll('[part~="grid"] .tile').length,
    };
  });
}

/** Packets received of `from`'s tracks of `source`, as the page's Room has them (undefined: no such track). */
function receivedOf(page: Page, from: string, source: string): Promise<number | undefined> {
  return page.evaluate(async (from, source) => {
    type Track = { source: string; getStats(): Promise<{ packetsReceived: number } | undefined> };
    const room = (document.querySelector("sfu-room") as unknown as { session?: { participants: Map<string, { name: string; tracks: Map<string, Track> }> } }).session;
    const sender = [...(room?.participants.values() ?? [])].find((p) => p.name === from);
    const track = [...(sender?.tracks.values() ?? [])].find((t) => t.source === source);
    return track ? ((await track.getStats())?.packetsReceived ?? 0) : undefined;
  }, from, source);
}

async function open(name: string, viewport: typeof DESKTOP | typeof PHONE): Promise<Page> {
  // Its own window: a background tab is hidden, and the SDK pauses the videos of hidden pages.
  const page = await browser.newPage({ type: "window" }).catch(() => browser.newPage());
  await page.evaluateOnNewDocument("window.__name = (f) => f");
  page.on("pageerror", (e) => console.error(`[${name}] page error:`, e));
  await page.setViewport(viewport);
  await page.goto(`${siteUrl}/?name=${name}`);
  await eventually(`${name} joined`, () => page.evaluate(() => document.querySelector("sfu-room")?.status ?? "none"), (s) => s === "joined");
  return page;
}

const within = (inner: Box, outer: Box, slack = 1) =>
  inner.left >= outer.left - slack && inner.top >= outer.top - slack && inner.left + inner.width <= outer.left + outer.width + slack && inner.top + inner.height <= outer.top + outer.height + slack;

/** The presenter layout as a user sees it: the screen across the stage, the others one row below, all on screen. */
function assertPresenterLayout(look: LayoutLook, who: string): void {
  const { spotlight, strip, stage } = look;
  assert.ok(spotlight, `${who}: a shared screen on the stage`);
  assert.equal(spotlight.name, "Ada: screen", `${who}: Ada's screen is the one on the stage`);
  assert.equal(look.grid, false, `${who}: no grid beside the presenter layout`);
  assert.ok(spotlight.box.width >= stage.width * 0.9, `${who}: the screen spans the stage (${spotlight.box.width} of ${stage.width} px)`);
  assert.deepEqual(strip.map((t) => t.name).sort(), ["Ada", "Bob", "Carol"].map((n) => (n === who ? `${n} (you)` : n)).sort(), `${who}: every camera in the strip`);
  const top = strip[0]!.box.top;
  for (const t of strip) {
    assert.ok(Math.abs(t.box.top - top) < 1, `${who}: ${t.name} is in the same row (top ${t.box.top} vs ${top})`);
    assert.ok(t.box.top >= spotlight.box.top + spotlight.box.height, `${who}: ${t.name} is below the screen`);
    assert.ok(t.box.width * t.box.height * 4 < spotlight.box.width * spotlight.box.height, `${who}: ${t.name}'s tile is small next to the screen`);
    assert.ok(within(t.box, stage), `${who}: ${t.name}'s tile is inside the stage`);
    assert.ok(t.box.left + t.box.width <= look.viewportWidth, `${who}: ${t.name}'s tile is inside the viewport`);
  }
  assert.ok(within(spotlight.box, stage), `${who}: the screen is inside the stage`);
}

describe("presenter layout in the element", { timeout: 240_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0 }, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
    const relayOrigin = `http://127.0.0.1:${relay.port}`;
    site = createServer((req, res) => {
      const name = (new URL(req.url ?? "/", "http://x").searchParams.get("name") ?? "guest").replace(/[^\w ]/g, "");
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(relayOrigin, ROOM, { name, audio: "off" }));
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

  it("a shared screen takes the stage for the others, the sharer sees a small preview, and its tab sound is published", async () => {
    const ada = await open("Ada", DESKTOP);
    const bob = await open("Bob", DESKTOP);
    const carol = await open("Carol", PHONE);
    await eventually("Bob's grid of three", () => lookAt(bob), (l) => l.grid && l.gridTiles === 3 && l.spotlight === undefined);

    await ada.bringToFront(); // pointer actions need a page that renders frames
    await ada.click('sfu-room >>> [part~="control-screen"]');

    const atBob = await eventually("Bob switches to the presenter layout", () => lookAt(bob), (l) => l.spotlight?.video === "on" && (l.spotlight.videoWidth ?? 0) > 0 && l.strip.length === 3);
    assertPresenterLayout(atBob, "Bob");
    const atCarol = await eventually("Carol switches to the presenter layout", () => lookAt(carol), (l) => l.spotlight?.video === "on" && (l.spotlight.videoWidth ?? 0) > 0 && l.strip.length === 3);
    assertPresenterLayout(atCarol, "Carol");

    const atAda = await eventually("Ada sees her preview", () => lookAt(ada), (l) => (l.presenting?.videoWidth ?? 0) > 0);
    assert.equal(atAda.spotlight, undefined, "Ada does not see her own screen on the stage");
    assert.equal(atAda.gridTiles, 3, "Ada keeps the grid of cameras");
    assert.match(atAda.presenting!.text, /You are presenting/);
    assert.ok(atAda.presenting!.box.width <= atAda.stage.width / 4, `the preview is small (${atAda.presenting!.box.width} of ${atAda.stage.width} px)`);

    // The shared tab's sound reaches the others.
    for (const [who, page] of [["Bob", bob], ["Carol", carol]] as const) {
      const first = await eventually(`${who} receives Ada's screen audio`, () => receivedOf(page, "Ada", "screen-audio"), (n) => (n ?? 0) > 0);
      await eventually(`${who} keeps receiving it`, () => receivedOf(page, "Ada", "screen-audio"), (n) => (n ?? 0) > first! + 20);
    }

    await bob.bringToFront();
    await bob.screenshot({ path: `${ARTIFACTS}presenter-desktop.png` });
    await carol.bringToFront();
    await carol.screenshot({ path: `${ARTIFACTS}presenter-mobile.png` });
    await ada.bringToFront();
    await ada.screenshot({ path: `${ARTIFACTS}presenter-sharer.png` });
    copyFileSync(`${ARTIFACTS}presenter-desktop.png`, `${ROOT}docs/screenshot-presenter-desktop.png`);
    copyFileSync(`${ARTIFACTS}presenter-mobile.png`, `${ROOT}docs/screenshot-presenter-mobile.png`);

    await ada.bringToFront();
    await ada.click('sfu-room >>> [part~="presenting-stop"]');
    for (const [who, page] of [["Ada", ada], ["Bob", bob], ["Carol", carol]] as const) {
      const back = await eventually(`${who} is back in the grid`, () => lookAt(page), (l) => l.grid && l.gridTiles === 3 && l.spotlight === undefined && l.presenting === undefined);
      assert.equal(back.strip.length, 0);
    }
    // The screen and its sound are unpublished one after the other (two requests), so the sound may
    // still be there for a moment when the layout is back.
    await eventually("the screen's sound is unpublished with it", () => receivedOf(bob, "Ada", "screen-audio"), (n) => n === undefined);
  });
});
