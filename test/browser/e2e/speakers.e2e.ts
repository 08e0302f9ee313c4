/**
 * Active speaker and mute state end to end in headless Chromium: plain pages with one `<sfu-room>`
 * (loaded from the relay, as embedding sites do), a real relay.
 *
 *   node --import tsx --test test/browser/e2e/speakers.e2e.ts
 *
 * - Ada's browser has a microphone that plays a steady tone (a WAV file as its fake capture); Bob joins
 *   with `audio="off"`; Carol's microphone is Chromium's default fake one, which only beeps now and then.
 * - At Carol: Ada's tile shows the speaking state (from the relay's `active-speakers`), Bob's does not
 *   and shows the muted icon; the level of Ada's audio, which the relay passes on in the
 *   ssrc-audio-level extension, is reported by Carol's receiver.
 * - At Ada, Bob's tile shows the muted icon too; Dan, who joins last, sees the same.
 * - Carol's element in the speaker layout (`layout="speaker"`): Ada's camera takes the stage, the others
 *   go into the strip below; back to the grid when the attribute goes.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeToneWav } from "../support/wav.ts";
import { makeY4m } from "../support/y4m.ts";
import { elementPage } from "./element-page.ts";
import { eventually } from "./harness.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const ROOM = `speakers-${Date.now().toString(36)}`;

let relay: RunningRelay;
let site: Server;
let siteUrl: string;
/** Ada's browser: its microphone plays a tone. */
let talking: Browser;
/** Everyone else's: Chromium's default fake microphone. */
let quiet: Browser;
/** Carol's page, which the speaker-layout test switches. */
let carolPage: Page;

/** What one page shows of a remote participant's tile. */
interface TileLook {
  speaking: boolean;
  audio: string | undefined;
  mutedIcon: boolean;
  avatar: boolean;
}

async function open(browser: Browser, name: string, audio: "on" | "off"): Promise<Page> {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument("window.__name = (f) => f");
  await page.setViewport({ width: 800, height: 600 });
  await page.goto(`${siteUrl}/?name=${name}&audio=${audio}`);
  await eventually(`${name} joined`, () => page.evaluate(() => document.querySelector("sfu-room")?.status ?? "none"), (s) => s === "joined");
  return page;
}

function tileOf(page: Page, name: string): Promise<TileLook | undefined> {
  return page.evaluate((name) => {
    const tile = document.querySelector("sfu-room")?.shadowRoot?.querySelector<HTMLElement>(`.tile[aria-label="${name}"]`);
    if (!tile) return undefined;
    return {
      speaking: tile.hasAttribute("data-speaking"),
      audio: tile.dataset.audio,
      mutedIcon: tile.querySelector('[part~="muted-indicator"]') !== null,
      avatar: tile.querySelector('[part~="avatar"]') !== null,
    };
  }, name);
}

/** The relay's speakers as a page's Room has them, by name, and the receive level of `from`'s audio (0..1). */
function speakersAt(page: Page, from: string): Promise<{ speakers: string[]; level: number }> {
  return page.evaluate((from) => {
    const room = (document.querySelector("sfu-room") as unknown as { session?: { activeSpeakers: Array<{ name: string }>; participants: Map<string, { name: string; audioTracks: Array<{ audioLevel: number }> }> } }).session;
    const sender = [...(room?.participants.values() ?? [])].find((p) => p.name === from);
    return { speakers: room?.activeSpeakers.map((p) => p.name) ?? [], level: sender?.audioTracks[0]?.audioLevel ?? 0 };
  }, from);
}

describe("active speaker and mute state in the element", { timeout: 240_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    const tone = makeToneWav(`${ARTIFACTS}tone-440hz.wav`);
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0 }, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
    const relayOrigin = `http://127.0.0.1:${relay.port}`;
    site = createServer((req, res) => {
      const query = new URL(req.url ?? "/", "http://x").searchParams;
      const name = (query.get("name") ?? "guest").replace(/[^\w ]/g, "");
      const audio = query.get("audio") === "off" ? "off" : "on";
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(relayOrigin, ROOM, { name, audio }));
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    siteUrl = `http://localhost:${(site.address() as { port: number }).port}`;
    const launch = (extra: string[]) => puppeteer.launch({ executablePath, headless: true, args: [...chromiumArgs({ y4m }), ...extra], protocolTimeout: 60_000 });
    [talking, quiet] = await Promise.all([launch([`--use-file-for-fake-audio-capture=${tone}`]), launch([])]);
  });

  after(async () => {
    await Promise.all([talking?.close(), quiet?.close()]);
    await new Promise((r) => site?.close(r));
    await relay?.close();
  });

  it("the others see who speaks, and a participant who joined without a microphone as muted, also after a late join", async () => {
    const ada = await open(talking, "Ada", "on");
    const bob = await open(quiet, "Bob", "off");
    const carol = await open(quiet, "Carol", "on");
    carolPage = carol;

    const atCarol = await eventually("Carol sees Ada speaking", () => tileOf(carol, "Ada"), (t) => t?.speaking === true);
    assert.equal(atCarol?.mutedIcon, false, "Ada's microphone is on");
    await eventually("Carol's Room has Ada as the dominant speaker, and Carol's receiver reports Ada's level", () => speakersAt(carol, "Ada"), (s) => s.speakers[0] === "Ada" && s.level > 0.01);

    const bobAtCarol = await tileOf(carol, "Bob");
    assert.deepEqual({ speaking: bobAtCarol?.speaking, audio: bobAtCarol?.audio, mutedIcon: bobAtCarol?.mutedIcon }, { speaking: false, audio: "none", mutedIcon: true });
    const bobAtAda = await eventually("Ada sees Bob muted", () => tileOf(ada, "Bob"), (t) => t?.mutedIcon === true);
    assert.equal(bobAtAda?.speaking, false);

    // Bob turns his camera off: the others see his avatar.
    await bob.evaluate(() => (document.querySelector("sfu-room") as unknown as { toggleCamera(): Promise<boolean> }).toggleCamera());
    await eventually("Carol sees Bob's avatar", () => tileOf(carol, "Bob"), (t) => t?.avatar === true);

    // Someone who joins later sees the same: Bob muted with his avatar, Ada speaking.
    const dan = await open(quiet, "Dan", "on");
    const bobAtDan = await eventually("Dan sees Bob's tile", () => tileOf(dan, "Bob"), (t) => t !== undefined);
    assert.deepEqual({ audio: bobAtDan?.audio, mutedIcon: bobAtDan?.mutedIcon, avatar: bobAtDan?.avatar }, { audio: "none", mutedIcon: true, avatar: true });
    await eventually("Dan sees Ada speaking", () => tileOf(dan, "Ada"), (t) => t?.speaking === true);
  });

  it("in the speaker layout the dominant speaker's camera takes the stage, the others a strip below", async () => {
    /** Where each named tile is in Carol's element: on the stage or in the strip, and its size. */
    const layoutAtCarol = () =>
      carolPage.evaluate(() => {
        const root = document.querySelector("sfu-room")!.shadowRoot!;
        const place = (tile: Element) => (tile.closest("[part~=spotlight]") ? "stage" : tile.closest("[part~=strip]") ? "strip" : "grid");
        return Array.from(root.querySelectorAll<HTMLElement>(".tile[aria-label]")).map((t) => {
          const r = t.getBoundingClientRect();
          return { name: t.getAttribute("aria-label")!, place: place(t), width: Math.round(r.width), height: Math.round(r.height) };
        });
      });
    const before = await layoutAtCarol();
    assert.ok(before.every((t) => t.place === "grid"), `the grid first: ${JSON.stringify(before)}`);
    await carolPage.evaluate(() => document.querySelector("sfu-room")!.setAttribute("layout", "speaker"));
    const staged = await eventually("Ada's camera on Carol's stage", layoutAtCarol, (tiles) => tiles.some((t) => t.name === "Ada" && t.place === "stage"));
    const ada = staged.find((t) => t.name === "Ada")!;
    const others = staged.filter((t) => t.name !== "Ada");
    assert.ok(others.length >= 2 && others.every((t) => t.place === "strip"), `everyone else in the strip: ${JSON.stringify(staged)}`);
    assert.ok(others.every((t) => ada.width * ada.height > 4 * t.width * t.height), `the stage is much larger than a strip tile: ${JSON.stringify(staged)}`);
    await carolPage.evaluate(() => document.querySelector("sfu-room")!.removeAttribute("layout"));
    await eventually("the grid again", layoutAtCarol, (tiles) => tiles.every((t) => t.place === "grid"));
  });
});
