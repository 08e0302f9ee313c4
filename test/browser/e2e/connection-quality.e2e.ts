/**
 * Connection quality in the element, end to end: a werift participant publishes a microphone that
 * loses one packet in ten on its way to the relay, then stops; a Chromium page with the relay's own
 * /sfu-room.js shows that participant's tile as poor, then lost, then good again (the tile's signal
 * bars, `data-quality`), and fires `connection-quality-changed` for each.
 *
 *   node --import tsx --test browser/e2e/connection-quality.e2e.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import { Pacer, WeriftClient } from "@sfu-room/test-peer";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { elementPage } from "./element-page.ts";
import { eventually } from "./harness.ts";

const ROOM = "quality";

/** In the page: the quality each tile shows, by participant id, and the element's events so far. */
function qualities(): { tiles: Record<string, string>; events: Array<{ id: string; self: boolean; quality: string }> } {
  const el = document.querySelector("sfu-room")!;
  const tiles: Record<string, string> = {};
  Array.from(el.shadowRoot!.querySelectorAll(".tile[data-source=camera]")).forEach((tile) => {
    const indicator = tile.querySelector("[part=quality-indicator]") as HTMLElement | null;
    tiles[(tile as HTMLElement).dataset.participantId ?? ""] = indicator?.dataset.quality ?? "none";
  });
  return { tiles, events: (window as unknown as { qualityEvents: Array<{ id: string; self: boolean; quality: string }> }).qualityEvents };
}

describe("connection quality in <sfu-room>", { timeout: 120_000 }, () => {
  let relay: RunningRelay;
  let site: Server;
  let browser: Browser;
  let page: Page;
  let alice: WeriftClient;
  let pacer: Pacer;
  let losing: NodeJS.Timeout | undefined;

  before(async () => {
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0 }, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
    const relayOrigin = `http://127.0.0.1:${relay.port}`;
    site = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(relayOrigin, ROOM, { name: "Grace", video: "off", audio: "off" })));
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    browser = await puppeteer.launch({ executablePath: ensureBrowser(CHROMIUM_PATH, "chromium"), headless: true, args: chromiumArgs(), protocolTimeout: 60_000 });
  });

  after(async () => {
    clearInterval(losing);
    await pacer?.stop();
    await alice?.close();
    await browser?.close();
    await new Promise((r) => site?.close(r));
    await relay?.close();
  });

  it("shows a participant's tile poor under uplink loss, lost when their microphone stops, and good again", async () => {
    page = await browser.newPage();
    await page.evaluateOnNewDocument("window.__name = (f) => f");
    await page.evaluateOnNewDocument(() => {
      const log: Array<{ id: string; self: boolean; quality: string }> = [];
      (window as unknown as { qualityEvents: typeof log }).qualityEvents = log;
      document.addEventListener("DOMContentLoaded", () => {
        document.querySelector("sfu-room")!.addEventListener("connection-quality-changed", (e) => {
          const { participant, self, quality } = (e as CustomEvent).detail;
          log.push({ id: participant.id, self, quality });
        });
      });
    });
    await page.goto(`http://localhost:${(site.address() as { port: number }).port}/`);
    await eventually("Grace joined", () => page.evaluate(() => document.querySelector("sfu-room")?.status), (s) => s === "joined");

    alice = new WeriftClient({ name: "alice", log: new Map() });
    await alice.connect(relay.signalUrl);
    await alice.join(ROOM);
    const [mic] = await alice.publish([{ kind: "audio" }]);
    let sending = true;
    pacer = new Pacer(() => (sending ? [alice] : []));
    pacer.start();
    const a = alice.participantId;
    const shown = async () => (await page.evaluate(qualities)).tiles[a];
    assert.equal(await eventually("alice's tile shows her quality", shown, (q) => q !== undefined), "good");

    losing = setInterval(() => mic!.losePackets(1), 200);
    await eventually("alice's tile shows poor", shown, (q) => q === "poor", 15_000);
    clearInterval(losing);
    sending = false;
    await eventually("alice's tile shows lost", shown, (q) => q === "lost", 15_000);
    sending = true;
    await eventually("alice's tile shows good again", shown, (q) => q === "good", 15_000);

    const { events } = await page.evaluate(qualities);
    // Poor may turn straight into lost or pass through good in between, as the 2 s ratings fall.
    const forAlice = events.filter((e) => e.id === a).map((e) => e.quality);
    assert.equal(forAlice[0], "poor");
    assert.ok(forAlice.includes("lost"), `alice was rated lost: ${forAlice}`);
    assert.equal(forAlice.at(-1), "good");
    assert.ok(events.every((e) => !e.self), `Grace's own connection stayed good: ${JSON.stringify(events)}`);
  });
});
