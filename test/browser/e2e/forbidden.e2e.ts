/**
 * A token without `canPublish`, end to end in headless Chromium: the element joins a relay with keys,
 * its camera and microphone are refused with a `forbidden` notice that names the grant (and turn off),
 * and it still receives and decodes the other participant's video.
 *
 *   node --import tsx --test test/browser/e2e/forbidden.e2e.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, mintToken, startRelay, type RunningRelay, type SigningKey } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeY4m } from "../support/y4m.ts";
import { probe, type PageProbe } from "./page-probe.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const KEY: SigningKey = { id: "e2e", secret: "a-secret-for-the-forbidden-e2e-test-0123" };

let relay: RunningRelay;
let site: Server;
let siteUrl: string;
let browser: Browser;

/** A page with the relay's element and `token`. */
const page = (relayOrigin: string, token: string) => `<!doctype html>
<html><head><meta charset="utf-8"></head>
<body style="margin:0">
<script type="module" src="${relayOrigin}/sfu-room.js"></script>
<sfu-room server="${relayOrigin.replace("http", "ws")}/ws" room="talk" token="${token}" style="display:block;height:100vh"></sfu-room>
</body></html>`;

async function eventually<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}\nlast: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await read();
  }
  return last;
}

describe("<sfu-room> with a token that may not publish", { timeout: 180_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, keys: [KEY] }, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
    const relayOrigin = `http://127.0.0.1:${relay.port}`;
    site = createServer((req, res) => {
      const identity = new URL(req.url ?? "/", "http://x").searchParams.get("as") === "viewer" ? "viewer" : "speaker";
      const video = { room: "talk", roomJoin: true, canPublish: identity === "speaker" };
      void mintToken(KEY, { identity, name: identity, video, ttlSeconds: 600 }).then((token) =>
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page(relayOrigin, token)),
      );
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

  it("shows forbidden for the camera and microphone, and decodes the speaker's video", async () => {
    const open = async (as: string) => {
      const p = await browser.newPage();
      await p.evaluateOnNewDocument("window.__name = (f) => f");
      await p.setViewport({ width: 800, height: 600 });
      await p.goto(`${siteUrl}/?as=${as}`);
      return p;
    };
    const speaker = await open("speaker");
    const viewer = await open("viewer");

    const notices = () =>
      viewer.evaluate(() => {
        const el = document.querySelector("sfu-room")!;
        const shown = Array.from(el.shadowRoot!.querySelectorAll<HTMLElement>("[part~=notice]")).map((n) => ({ code: n.dataset.code ?? "", text: n.textContent?.trim() ?? "" }));
        const camera = el.shadowRoot!.querySelector("[part~=control-camera]")?.getAttribute("aria-pressed") ?? "none";
        const microphone = el.shadowRoot!.querySelector("[part~=control-microphone]")?.getAttribute("aria-pressed") ?? "none";
        return { shown, camera, microphone };
      });
    const refused = await eventually("the viewer shows forbidden", notices, (n) => n.shown.some((s) => s.code === "forbidden"));
    const forbidden = refused.shown.filter((s) => s.code === "forbidden");
    assert.equal(forbidden.length, 1, "one notice for the refused camera and microphone");
    assert.match(forbidden[0]!.text, /You may not publish here: your token does not allow publishing \(its video grant has canPublish false\)/);
    await eventually("the refused camera and microphone read as off", notices, (n) => n.camera === "false" && n.microphone === "false");

    const look = (): Promise<PageProbe> => viewer.evaluate(probe);
    const receiving = (p: PageProbe) => p.status === "joined" && p.tracks.some((t) => t.kind === "video" && t.framesDecoded > 0);
    const first = await eventually("the viewer decodes the speaker's video", look, receiving);
    await new Promise((r) => setTimeout(r, 1500));
    const now = await look();
    const decoded = (p: PageProbe) => p.tracks.find((t) => t.kind === "video")!.framesDecoded;
    assert.ok(decoded(now) > decoded(first), "the speaker's video keeps decoding");
    assert.equal(now.tiles.filter((t) => !t.self && t.videoWidth > 0).length, 1, "one remote tile with a picture");
    // And the speaker, whose token may publish, receives nothing from the viewer.
    const speakerView = await speaker.evaluate(probe);
    assert.deepEqual(speakerView.tracks, []);
    assert.equal(relay.stats().tracks, 2, "the speaker's camera and microphone only");
  });
});
