/**
 * End to end in headless Chromium: the real relay (with a key and development tokens, as `npm start` runs
 * it, so each page joins with the token the demo fetched), the built demo (packages/demo), 4 pages.
 *
 *   node --import tsx --test test/browser/e2e/room.e2e.ts
 *
 * - 3 pages join one room; each shows 2 remote videos whose framesDecoded keeps growing and receives
 *   2 remote audio tracks whose inbound-rtp packets keep growing;
 * - a 4th joins: the first 3 keep decoding, and no remote track of theirs ended or was replaced;
 * - desktop and 390x844 phone layouts with 4 participants: no horizontal overflow, controls >= 44 px;
 *   screenshots in test/artifacts/ (docs/screenshot-*.png are copies of them);
 * - camera off/on on one page: its tile turns off and comes back to live video on the others;
 * - a page leaves: its tile disappears everywhere.
 * Fake media: a 320x180 15 fps Y4M made at test time (light for a 2-core machine). Time limits are
 * generous liveness bounds, not performance claims.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { buildDemo } from "../support/demo-build.ts";
import { serveStatic, type StaticServer } from "../support/static-server.ts";
import { makeY4m } from "../support/y4m.ts";
import { joinFromPrejoin } from "./harness.ts";
import { probe, probeLayout, type PageProbe, type RemoteTrackProbe } from "./page-probe.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const ARTIFACTS = `${ROOT}test/artifacts/`;
const DESKTOP = { width: 1280, height: 720 };
const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const ROOM = `e2e-${Date.now().toString(36)}`;
const NAMES = ["Ada Lovelace", "Grace Hopper", "Linus", "Margaret Hamilton"];

let relay: RunningRelay;
let site: StaticServer;
let browser: Browser;
const pages: Page[] = [];
const joinToFirstFrame: Record<string, number> = {};

async function eventually<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: T = await read();
  while (!ok(last)) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}\nlast value: ${JSON.stringify(last, null, 1).slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await read();
  }
  return last;
}

const look = (page: Page): Promise<PageProbe> => page.evaluate(probe);
const remote = (p: PageProbe, kind: "audio" | "video") => p.tracks.filter((t) => t.kind === kind);
const byTrack = (tracks: RemoteTrackProbe[]) => new Map(tracks.map((t) => [t.trackId, t]));

async function openPage(name: string, viewport: typeof DESKTOP | typeof PHONE = DESKTOP): Promise<Page> {
  // Its own window: a background tab is hidden, and the SDK pauses the videos of hidden pages.
  const page = await browser.newPage({ type: "window" });
  // tsx compiles helpers with esbuild's keepNames, which calls __name() inside serialized functions.
  await page.evaluateOnNewDocument("window.__name = (f) => f");
  page.on("pageerror", (e) => console.error(`[${name}] page error:`, e));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warn") console.error(`[${name}] ${m.text()}`);
  });
  await page.setViewport(viewport);
  await page.goto(`${site.url}/?room=${ROOM}&server=${encodeURIComponent(relay.signalUrl)}`);
  // The demo's name form and the element's pre-join view, as a person would use them.
  await page.$eval("#name", (input) => ((input as HTMLInputElement).value = ""));
  await page.type("#name", name);
  await page.click("#join");
  await joinFromPrejoin(page);
  await eventually(`${name} joined`, () => look(page), (p) => p.status === "joined");
  pages.push(page);
  return page;
}

/** Every given page receives `others` remote videos and audios, all growing between two samples. */
async function assertAllFlowing(targets: Page[], others: number): Promise<void> {
  const first = await Promise.all(
    targets.map((page, i) =>
      eventually(
        `page ${i + 1} receives ${others} videos and ${others} audios`,
        () => look(page),
        (p) =>
          remote(p, "video").length === others &&
          remote(p, "audio").length === others &&
          p.tracks.every((t) => (t.kind === "video" ? t.framesDecoded > 0 : t.packetsReceived > 0)),
      ),
    ),
  );
  await new Promise((r) => setTimeout(r, 2_000));
  const second = await Promise.all(targets.map(look));
  second.forEach((p, i) => {
    const before = byTrack(first[i]!.tracks);
    for (const t of p.tracks) {
      const b = before.get(t.trackId);
      assert.ok(b, `page ${i + 1}: track ${t.trackId} appeared between samples`);
      if (t.kind === "video") assert.ok(t.framesDecoded > b.framesDecoded, `page ${i + 1}: video of ${t.name} not decoding (${b.framesDecoded} -> ${t.framesDecoded})`);
      else assert.ok(t.packetsReceived > b.packetsReceived, `page ${i + 1}: audio of ${t.name} not arriving (${b.packetsReceived} -> ${t.packetsReceived})`);
      assert.equal(t.readyState, "live");
    }
    const remoteTiles = p.tiles.filter((t) => !t.self);
    assert.equal(remoteTiles.length, others, `page ${i + 1}: ${others} remote tiles`);
    for (const tile of remoteTiles) {
      assert.equal(tile.video, "on");
      assert.ok(tile.videoWidth > 0, `page ${i + 1}: the tile of ${tile.participantId} shows no picture`);
    }
  });
}

describe("the demo in headless Chromium with a real relay", { timeout: 300_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    const dist = await buildDemo(`${ARTIFACTS}demo-dist`);
    site = await serveStatic(dist);
    // As `npm start` runs it: access control on, the demo taking its tokens from the development endpoint,
    // one worker per core.
    const keys = [{ id: "dev", secret: randomBytes(32).toString("base64url") }];
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, keys, devTokens: true }, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
    browser = await puppeteer.launch({ executablePath, headless: true, args: chromiumArgs({ y4m }), protocolTimeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    await relay?.close();
    await site?.close();
    if (Object.keys(joinToFirstFrame).length) console.log(`join() -> first remote frame decoded (ms): ${JSON.stringify(joinToFirstFrame)}`);
  });

  it("3 pages see 2 remote videos decoding and hear 2 remote audio tracks each", async () => {
    for (const name of NAMES.slice(0, 3)) await openPage(name);
    await assertAllFlowing(pages, 2);
    for (const [i, page] of pages.entries()) {
      const p = await look(page);
      if (i > 0 && p.joinToFirstFrameMs !== null) joinToFirstFrame[NAMES[i]!] = p.joinToFirstFrameMs;
    }
  });

  it("a 4th page joins: the first 3 keep decoding, no remote track ended or was replaced", async () => {
    const before = await Promise.all(pages.map(look));
    // The 4th is a phone from the start (changing isMobile later would reload the page).
    const fourth = await openPage(NAMES[3]!, PHONE);
    await assertAllFlowing(pages, 3);
    const after = await Promise.all(pages.slice(0, 3).map(look));
    after.forEach((p, i) => {
      const now = byTrack(p.tracks);
      for (const t of before[i]!.tracks) {
        const still = now.get(t.trackId);
        assert.ok(still, `page ${i + 1}: track ${t.trackId} of ${t.name} disappeared`);
        assert.equal(still.mediaTrackId, t.mediaTrackId, `page ${i + 1}: the ${t.kind} of ${t.name} was replaced`);
        assert.equal(still.readyState, "live", `page ${i + 1}: the ${t.kind} of ${t.name} ended`);
        if (t.kind === "video") {
          assert.ok(still.framesDecoded > t.framesDecoded, `page ${i + 1}: video of ${t.name} stopped`);
          const tile = p.tiles.find((x) => x.participantId === t.participantId && x.source === "camera");
          assert.equal(tile?.videoTrackId, t.mediaTrackId, `page ${i + 1}: the tile of ${t.name} re-attached its video`);
        }
      }
    });
    const p4 = await look(fourth);
    if (p4.joinToFirstFrameMs !== null) joinToFirstFrame[NAMES[3]!] = p4.joinToFirstFrameMs;
  });

  it("lays out 4 participants on a desktop and on a 390x844 phone without overflow", async () => {
    const page = pages[0]!;
    await page.bringToFront();
    const desktop = await page.evaluate(probeLayout);
    assert.equal(desktop.tiles, 4);
    assert.deepEqual(desktop.overflowing, []);
    assert.ok(desktop.scrollWidth <= desktop.viewportWidth, `desktop overflows: ${desktop.scrollWidth} > ${desktop.viewportWidth}`);
    await page.screenshot({ path: `${ARTIFACTS}desktop-4-participants.png` });

    const phonePage = pages[3]!;
    const phone = await phonePage.evaluate(probeLayout);
    assert.equal(phone.viewportWidth, 390);
    assert.equal(phone.tiles, 4);
    assert.deepEqual(phone.overflowing, [], "tiles or controls stick out of the phone's viewport");
    assert.ok(phone.scrollWidth <= 390, `horizontal overflow on the phone: scrollWidth ${phone.scrollWidth}`);
    assert.ok(phone.controls.length >= 4);
    for (const c of phone.controls) assert.ok(c.height >= 44 && c.width >= 44, `${c.part} is ${c.width}x${c.height}, under 44 px`);
    await phonePage.screenshot({ path: `${ARTIFACTS}mobile-4-participants.png` });

    copyFileSync(`${ARTIFACTS}desktop-4-participants.png`, `${ROOT}docs/screenshot-desktop.png`);
    copyFileSync(`${ARTIFACTS}mobile-4-participants.png`, `${ROOT}docs/screenshot-mobile.png`);
  });

  it("camera off and on: the tile turns off and comes back to live video everywhere", async () => {
    const [, bob, ...rest] = pages;
    const watchers = [pages[0]!, ...rest];
    const bobId = (await look(bob!)).participantId;
    const tileOf = (p: PageProbe) => p.tiles.find((t) => t.participantId === bobId && t.source === "camera");
    const videoOf = (p: PageProbe) => p.tracks.find((t) => t.participantId === bobId && t.kind === "video");

    await bob!.bringToFront(); // pointer actions need a page that renders frames
    await bob!.click('sfu-room >>> [part~="control-camera"]');
    for (const [i, page] of watchers.entries()) {
      await eventually(`watcher ${i + 1} sees Bob's camera off`, () => look(page), (p) => tileOf(p)?.video === "off" && videoOf(p)?.muted === true);
    }
    const off = await Promise.all(watchers.map(look));

    await bob!.bringToFront(); // pointer actions need a page that renders frames
    await bob!.click('sfu-room >>> [part~="control-camera"]');
    for (const [i, page] of watchers.entries()) {
      const was = videoOf(off[i]!)!;
      const p = await eventually(
        `watcher ${i + 1} sees Bob's video again`,
        () => look(page),
        (p) => tileOf(p)?.video === "on" && (videoOf(p)?.framesDecoded ?? 0) > was.framesDecoded + 10 && (tileOf(p)?.videoWidth ?? 0) > 0,
      );
      assert.equal(videoOf(p)!.mediaTrackId, was.mediaTrackId, "the same remote track resumes (no renegotiation)");
    }
  });

  it("the first page to join leaves: its tile disappears everywhere, the others keep their media", async () => {
    // The first joiner's tracks sit on the BUNDLE-tagged m-line of everyone's subscriber connection:
    // removing them must not break those connections (it did, see packages/relay/src/rtc/subscriber-connection.ts).
    const [leaver, ...stay] = pages;
    const leaverId = (await look(leaver!)).participantId;
    await leaver!.bringToFront();
    await leaver!.click('sfu-room >>> [part~="control-leave"]');
    await eventually("the leaver shows it left", () => look(leaver!), (p) => p.status === "left");
    for (const [i, page] of stay.entries()) {
      await eventually(
        `page ${i + 2} drops the leaver's tile`,
        () => look(page),
        (p) => !p.tiles.some((t) => t.participantId === leaverId) && !p.tracks.some((t) => t.participantId === leaverId),
      );
    }
    await assertAllFlowing(stay, 2);
    for (const page of stay) assert.equal((await look(page)).status, "joined");
  });
});
