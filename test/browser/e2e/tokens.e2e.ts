/**
 * A token without `canPublish`, end to end in headless Chromium: the element joins a relay with keys,
 * its camera and microphone are refused with a `forbidden` notice that names the grant (and turn off),
 * and it still receives and decodes the other participant's video. A token refreshed with `canPublish`
 * (room.refreshToken) then lets it publish in the same session, and a new `token` attribute is taken in
 * place, unless it is another identity's: then the element rejoins as them.
 *
 *   node --import tsx --test test/browser/e2e/tokens.e2e.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, mintToken, startRelay, type RunningRelay, type SigningKey } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeY4m } from "../support/y4m.ts";
import { elementPage } from "./element-page.ts";
import { eventually } from "./harness.ts";
import { probe, type PageProbe } from "./page-probe.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const KEY: SigningKey = { id: "e2e", secret: "a-secret-for-the-forbidden-e2e-test-0123" };

let relay: RunningRelay;
let site: Server;
let siteUrl: string;
let browser: Browser;
/** The two pages, open for the whole suite: the viewer's token may not publish. */
let speaker: Page;
let viewer: Page;

describe("<sfu-room> and its access token", { timeout: 180_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
    const y4m = makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`);
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, keys: [KEY] }, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
    const relayOrigin = `http://127.0.0.1:${relay.port}`;
    // GET /?as=viewer|speaker: the page; GET /token?as=...&publish=1: a token, as a page's backend would give it.
    site = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const identity = url.searchParams.get("as") ?? "speaker";
      const canPublish = url.pathname === "/token" ? url.searchParams.get("publish") === "1" : identity === "speaker";
      void mintToken(KEY, { identity, name: identity, video: { room: "talk", roomJoin: true, canPublish }, ttlSeconds: 600 }).then((token) => {
        if (url.pathname === "/token") res.writeHead(200, { "content-type": "text/plain" }).end(token);
        else res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(relayOrigin, "talk", { token }));
      });
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    siteUrl = `http://localhost:${(site.address() as { port: number }).port}`;
    browser = await puppeteer.launch({ executablePath, headless: true, args: chromiumArgs({ y4m }), protocolTimeout: 60_000 });
    const open = async (as: string) => {
      const p = await browser.newPage();
      await p.evaluateOnNewDocument("window.__name = (f) => f");
      await p.setViewport({ width: 800, height: 600 });
      await p.goto(`${siteUrl}/?as=${as}`);
      return p;
    };
    speaker = await open("speaker");
    viewer = await open("viewer");
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => site?.close(r));
    await relay?.close();
  });

  it("shows forbidden for the camera and microphone, and decodes the speaker's video", async () => {
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
    assert.equal((await relay.readStats()).tracks, 2, "the speaker's camera and microphone only");
  });

  it("a refreshed token with canPublish lets the same session publish; one for another identity is refused", async () => {
    const viewerId = (await eventually("the viewer joined", () => viewer.evaluate(probe), (p) => p.status === "joined")).participantId;
    const outcome = await viewer.evaluate(async () => {
      const room = document.querySelector("sfu-room")!.session!;
      const tokenFor = async (as: string) => (await fetch(`/token?as=${as}&publish=1`)).text();
      const refused = await room.refreshToken(await tokenFor("speaker")).then(() => "ok", (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`);
      await room.refreshToken(await tokenFor("viewer"));
      await room.setCameraEnabled(true);
      return { refused, camera: room.local.isCameraEnabled, id: room.local.id };
    });
    assert.match(outcome.refused, /^unauthorized: The relay refused the new token: the new token is for identity "speaker", this session is "viewer"/);
    assert.deepEqual({ camera: outcome.camera, id: outcome.id }, { camera: true, id: viewerId }, "the same session publishes its camera");
    const look = (): Promise<PageProbe> => speaker.evaluate(probe);
    await eventually("the speaker decodes the viewer's camera", look, (p) => p.tracks.some((t) => t.participantId === viewerId && t.kind === "video" && t.framesDecoded > 0));
  });

  it("a new token attribute is taken in place (same session); one for another identity rejoins as that identity", async () => {
    const before = await eventually("the speaker joined", () => speaker.evaluate(probe), (p) => p.status === "joined");
    const setToken = (as: string) =>
      speaker.evaluate(async (who) => {
        const el = document.querySelector("sfu-room")!;
        el.setAttribute("token", await (await fetch(`/token?as=${who}&publish=1`)).text());
      }, as);
    type Recorded = { __left: string[] };
    await speaker.evaluate(() => {
      const w = window as unknown as Recorded;
      w.__left = [];
      document.querySelector("sfu-room")!.addEventListener("left", (e) => w.__left.push((e as CustomEvent<{ reason: string }>).detail.reason));
    });
    const left = () => speaker.evaluate(() => (window as unknown as Recorded).__left);

    await setToken("speaker");
    await new Promise((r) => setTimeout(r, 1000));
    const same = await speaker.evaluate(probe);
    assert.deepEqual({ status: same.status, id: same.participantId, left: await left() }, { status: "joined", id: before.participantId, left: [] }, "refreshed in place: no rejoin");

    await setToken("guest");
    await eventually("the speaker rejoined", () => speaker.evaluate(probe), (p) => p.status === "joined" && p.participantId !== before.participantId);
    assert.deepEqual(await left(), ["rejoin"]);
    const names = () => viewer.evaluate(() => [...document.querySelector("sfu-room")!.session!.participants.values()].map((p) => p.name));
    await eventually("the viewer sees guest instead of speaker", names, (n) => n.length === 1 && n[0] === "guest");
  });
});
