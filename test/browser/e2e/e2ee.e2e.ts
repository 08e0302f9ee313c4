/**
 * End-to-end encryption (docs/e2ee.md) through the real relay, with the element as a page embeds it
 * (the relay's /sfu-room.js and `e2ee-key`):
 *
 *   node --import tsx --test browser/e2e/e2ee.e2e.ts
 *
 * Chromium's fake camera is one colour (red, with a small moving bar along the top), 1280x720. Shown:
 * two Chromium pages with the same key decode each other's video and see red; a werift participant
 * receives exactly what the relay forwards, and those VP8 frames open with the key (so the relay carried
 * ciphertext, with VP8's header in clear) and not without it; a page with another key decodes nothing
 * and reports `decrypt-failed`; a page without a key never shows the picture; a subscriber asking for the
 * low layer of the encrypted simulcast camera decodes it, still red, and a werift participant switched
 * from low to medium gets each layer from its keyframe (sizes read from VP8's clear header); Firefox
 * with the key decodes Chromium's red camera, and Chromium decodes Firefox's.
 *
 * Firefox never offers loopback ICE candidates, so (as root) the test re-runs itself in a private
 * network namespace, as firefox-simulcast.e2e.ts does; the relay binds that namespace's address and
 * nothing leaves it. Without root it is skipped.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { BROWSER_NAMESPACE, canCreateNamespace, insideNamespace, reexecInNamespace } from "@sfu-room/netns";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import { WeriftClient, type KeptPacket } from "@sfu-room/test-peer";
import { CHROMIUM_PATH, FIREFOX_PATH, FIREFOX_PREFS, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeSolidY4m } from "../support/y4m.ts";
import { elementPage } from "./element-page.ts";
import { eventually } from "./harness.ts";
import { e2eeStates, recordE2eeStates, remoteCameras, type EncryptedVideoProbe } from "./e2ee-probe.ts";
import { decryptFrame, importFrameKey, keyFromPassphrase } from "../../../packages/sdk/src/room/e2ee/frame-cipher.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const ROOM = `e2ee-${Date.now().toString(36)}`;
const KEY = "correct horse battery staple";
/** BT.601 red: Y 81, Cb 90, Cr 240. */
const RED = [81, 90, 240] as const;
const inNamespace = insideNamespace(BROWSER_NAMESPACE);

if (!inNamespace && canCreateNamespace()) {
  // What the test installs goes in out here: the namespace has no route to Debian's mirrors.
  ensureBrowser(CHROMIUM_PATH, "chromium");
  ensureBrowser(FIREFOX_PATH, "firefox-esr");
  process.exit(await reexecInNamespace(BROWSER_NAMESPACE));
}

const isRed = (rgb: EncryptedVideoProbe["rgb"]) => rgb !== null && rgb[0] > 170 && rgb[1] < 90 && rgb[2] < 90;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The VP8 frames in a packet sequence (payload descriptors removed, RFC 7741 4.2), only those complete. */
function vp8Frames(packets: readonly KeptPacket[]): Buffer[] {
  const frames: Buffer[] = [];
  let parts: Buffer[] | undefined;
  let lastSeq = -1;
  for (const { payload, seq, marker } of packets) {
    const x = payload[0]! & 0x80;
    const start = (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x0f) === 0;
    let at = 1;
    if (x) {
      const ext = payload[at++]!;
      if (ext & 0x80) at += payload[at]! & 0x80 ? 2 : 1;
      if (ext & 0x40) at++;
      if (ext & 0x30) at++;
    }
    if (start) parts = [];
    else if (parts && seq !== ((lastSeq + 1) & 0xffff)) parts = undefined; // a gap: that frame is incomplete
    lastSeq = seq;
    parts?.push(payload.subarray(at));
    if (marker && parts) {
      frames.push(Buffer.concat(parts));
      parts = undefined;
    }
  }
  return frames;
}

describe("end-to-end encryption through the relay", { timeout: 420_000, skip: inNamespace ? false : "needs root for a network namespace (Firefox offers no loopback candidates)" }, () => {
  let relay: RunningRelay;
  let site: Server;
  let siteUrl: string;
  let chromium: Browser;
  let firefox: Browser;
  let ada: Page;
  let grace: Page;

  /** Opens an element page in `browser`: `name`, `e2ee-key` when `key`, and the other attributes. */
  async function open(browser: Browser, name: string, attributes: Record<string, string>): Promise<Page> {
    // Its own window: a background tab is hidden, and the SDK pauses the videos of hidden pages.
    const page = await browser.newPage({ type: "window" }).catch(() => browser.newPage());
    await page.evaluateOnNewDocument("window.__name = (f) => f");
    await page.evaluateOnNewDocument(recordE2eeStates);
    page.on("pageerror", (e) => console.error(`[${name}] page error:`, e));
    await page.setViewport({ width: 1000, height: 700 });
    await page.goto(`${siteUrl}/?${new URLSearchParams({ name, ...attributes })}`);
    await eventually(`${name} joined`, () => page.evaluate(() => document.querySelector("sfu-room")?.status ?? "none"), (s) => s === "joined");
    return page;
  }
  const cameras = (page: Page) => page.evaluate(remoteCameras);
  const cameraOf = async (page: Page, name: string) => (await cameras(page)).find((c) => c.name === name);

  before(async () => {
    const y4m = makeSolidY4m(`${ARTIFACTS}fake-1280x720-10fps-red.y4m`, RED, 1280, 720, 10, 20);
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, rtcBindAddress: BROWSER_NAMESPACE.address }, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
    const relayOrigin = `http://127.0.0.1:${relay.port}`;
    site = createServer((req, res) => {
      const { name, ...attributes } = Object.fromEntries(new URL(req.url ?? "/", "http://x").searchParams);
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(relayOrigin, ROOM, { name: name ?? "guest", ...attributes }));
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    siteUrl = `http://localhost:${(site.address() as { port: number }).port}`;
    chromium = await puppeteer.launch({ executablePath: ensureBrowser(CHROMIUM_PATH, "chromium"), headless: true, args: chromiumArgs({ y4m }), protocolTimeout: 60_000 });
  });

  after(async () => {
    await firefox?.close().catch(() => undefined);
    await chromium?.close().catch(() => undefined);
    await new Promise((r) => site?.close(r));
    await relay?.close();
  });

  it("two Chromium pages with the same key decode each other's camera, and see it red", async () => {
    ada = await open(chromium, "Ada", { "e2ee-key": KEY, simulcast: "" });
    grace = await open(chromium, "Grace", { "e2ee-key": KEY, audio: "off" });
    for (const [page, other] of [[ada, "Grace"], [grace, "Ada"]] as const) {
      const seen = await eventually(`${other}'s camera decodes red`, () => cameraOf(page, other), (c) => (c?.framesDecoded ?? 0) > 10 && isRed(c!.rgb), 60_000);
      console.log(`${other}'s camera at the other page: ${seen!.framesDecoded} frames, ${seen!.frameWidth} px wide, rgb ${seen!.rgb}`);
    }
    const states = await grace.evaluate(e2eeStates);
    assert.ok(states.some((s) => s.state === "ok"), `Grace heard her frames open: ${JSON.stringify(states)}`);
    assert.ok(!states.some((s) => s.state !== "ok"), `and no failure: ${JSON.stringify(states)}`);
  });

  it("the relay forwards ciphertext: VP8 frames whose header is readable and whose rest opens only with the key", async () => {
    const watcher = new WeriftClient({ name: "Relay tap", log: new Map(), keepPackets: true, address: BROWSER_NAMESPACE.address });
    try {
      await watcher.connect(relay.signalUrl);
      // Ada's camera only: werift routes the packets of several video m-lines of one connection poorly.
      const joined = await watcher.join(ROOM, false);
      const camera = joined.participants.find((p) => p.name === "Ada")!.tracks.find((t) => t.source === "camera")!;
      assert.equal((await watcher.request({ type: "subscribe", id: watcher.id(), trackId: camera.id, subscribe: true })).type, "ok");
      // The low layer: it always flows (a busy Chromium may stop encoding the full one).
      assert.equal((await watcher.request({ type: "subscription-settings", id: watcher.id(), trackId: camera.id, quality: "low" })).type, "ok");
      const adaVideo = () => watcher.received.get(camera.id);
      await eventually("the tap receives Ada's camera", async () => ({ packets: adaVideo()?.packets ?? 0, frames: vp8Frames(adaVideo()?.keptPackets ?? []).length }), (n) => n.frames >= 20, 30_000);
      const frames = vp8Frames(adaVideo()!.keptPackets);
      const key = await importFrameKey(await keyFromPassphrase(KEY));
      const wrong = await importFrameKey(await keyFromPassphrase(`${KEY}!`));
      let opened = 0;
      let keyframes = 0;
      for (const frame of frames) {
        const data = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) as ArrayBuffer;
        const plain = await decryptFrame(key, data);
        assert.ok(plain, `a forwarded frame of ${frame.length} bytes opens with the key`);
        assert.equal(await decryptFrame(wrong, data), undefined, "and not with another key");
        opened++;
        const clear = frame[frame.length - 2]!;
        const isKey = (frame[0]! & 0x01) === 0;
        // The relay finds keyframes by VP8's frame tag: in clear, the same bytes as the plaintext's.
        assert.equal(clear, isKey ? 10 : 3);
        assert.deepEqual([...frame.subarray(0, clear)], [...new Uint8Array(plain).subarray(0, clear)]);
        if (isKey) {
          keyframes++;
          assert.deepEqual([...frame.subarray(3, 6)], [0x9d, 0x01, 0x2a], "a keyframe's start code stays readable");
        }
        // What the relay carried is not the frame: past the header, the bytes differ from the plaintext's.
        const body = Buffer.from(plain).subarray(clear);
        assert.notDeepEqual(frame.subarray(clear, clear + Math.min(64, body.length)), body.subarray(0, 64));
      }
      console.log(`the relay forwarded ${opened} frames of Ada's camera (${keyframes} keyframes), all ciphertext under the key`);
      assert.ok(keyframes >= 1, "the tap's first frame is a keyframe the relay asked for");
    } finally {
      await watcher.close();
    }
  });

  it("a page with another key decodes nothing and reports decrypt-failed; a page without a key never shows the picture", async () => {
    const mallory = await open(chromium, "Mallory", { "e2ee-key": "not the key", video: "off", audio: "off" });
    const eve = await open(chromium, "Eve", { video: "off", audio: "off" });
    await eventually("Mallory hears decrypt-failed for Ada's camera", () => mallory.evaluate(e2eeStates), (s) => s.some((e) => e.state === "decrypt-failed"), 30_000);
    await eventually("Eve receives Ada's packets", () => cameraOf(eve, "Ada"), (c) => (c?.packetsReceived ?? 0) > 20, 30_000);
    for (let i = 0; i < 5; i++) {
      const [m, e] = [await cameraOf(mallory, "Ada"), await cameraOf(eve, "Ada")];
      assert.equal(m!.framesDecoded, 0, "Mallory's decoder got no frame (those that do not open are dropped)");
      assert.equal(m!.rgb, null, "Mallory's tile shows no picture");
      assert.ok(!isRed(e!.rgb), `Eve never sees the red picture (rgb ${e!.rgb}, ${e!.framesDecoded} frames of ciphertext decoded)`);
      await sleep(1000);
    }
    const states = await mallory.evaluate(e2eeStates);
    assert.ok(!states.some((s) => s.state === "ok"), `nothing opened for Mallory: ${JSON.stringify(states)}`);
    // And the other way: Eve publishes in clear, and the encrypted pages do not show that as a picture either.
    await eve.evaluate(() => document.querySelector("sfu-room")!.setAttribute("video", "on"));
    await eventually("Grace refuses Eve's unencrypted camera", () => grace.evaluate(e2eeStates), (s) => s.some((x) => x.state !== "ok"), 30_000);
    assert.equal((await cameraOf(grace, "Eve"))?.framesDecoded ?? 0, 0, "Grace decoded none of Eve's frames");
    await mallory.close();
    await eve.close();
  });

  it("Firefox with the key decodes Chromium's camera red, and Chromium decodes Firefox's", async () => {
    firefox = await puppeteer.launch({ browser: "firefox", executablePath: ensureBrowser(FIREFOX_PATH, "firefox-esr"), headless: true, extraPrefsFirefox: FIREFOX_PREFS });
    const fox = await open(firefox, "Fox", { "e2ee-key": KEY, audio: "off" });
    const seen = await eventually("Firefox decodes Ada's camera red", () => cameraOf(fox, "Ada"), (c) => (c?.framesDecoded ?? 0) > 10 && isRed(c!.rgb), 60_000);
    console.log(`Ada's camera in Firefox: ${seen!.framesDecoded} frames, ${seen!.frameWidth} px, rgb ${seen!.rgb}`);
    const back = await eventually("Grace decodes Firefox's camera", () => cameraOf(grace, "Fox"), (c) => (c?.framesDecoded ?? 0) > 10, 60_000);
    console.log(`Firefox's camera at Grace: ${back!.framesDecoded} frames, ${back!.frameWidth} px, rgb ${back!.rgb}`);
    const states = await fox.evaluate(e2eeStates);
    assert.ok(states.some((s) => s.state === "ok"), `Firefox heard frames open: ${JSON.stringify(states)}`);
    await fox.close();
  });
  it("the relay still switches simulcast layers of the encrypted camera on its keyframes", async () => {
    // Down in a browser: Grace, who decodes a larger layer, asks for low and decodes it, red.
    const before = (await cameraOf(grace, "Ada"))!.frameWidth;
    await grace.evaluate(() => document.querySelector("sfu-room")!.setAttribute("quality", "low"));
    const low = await eventually("Grace decodes Ada's low layer, red", () => cameraOf(grace, "Ada"), (c) => c !== undefined && c.frameWidth > 0 && c.frameWidth <= 320 && isRed(c.rgb), 60_000);
    const decoded = low!.framesDecoded;
    await eventually("frames keep decoding", () => cameraOf(grace, "Ada"), (c) => (c?.framesDecoded ?? 0) > decoded + 5, 20_000);
    console.log(`Ada's encrypted camera at Grace: ${before} -> ${low!.frameWidth} px wide after asking for low`);
    // Up, as the relay forwards it: a werift participant (no congestion feedback, so no bandwidth cap
    // holds it back) asks for low, then medium; each layer starts at a keyframe whose size VP8 keeps in
    // clear, and every frame opens with the key.
    const watcher = new WeriftClient({ name: "Layer tap", log: new Map(), keepPackets: true, address: BROWSER_NAMESPACE.address });
    try {
      await watcher.connect(relay.signalUrl);
      const joined = await watcher.join(ROOM, false);
      const camera = joined.participants.find((p) => p.name === "Ada")!.tracks.find((t) => t.source === "camera")!;
      const settings = (quality: "low" | "medium") => watcher.request({ type: "subscription-settings", id: watcher.id(), trackId: camera.id, quality });
      assert.equal((await watcher.request({ type: "subscribe", id: watcher.id(), trackId: camera.id, subscribe: true })).type, "ok");
      assert.equal((await settings("low")).type, "ok");
      const keyframeWidths = () => vp8Frames(watcher.received.get(camera.id)?.keptPackets ?? []).filter((f) => (f[0]! & 0x01) === 0).map((f) => f.readUInt16LE(6) & 0x3fff);
      await eventually("the tap gets a keyframe of the low layer", async () => keyframeWidths(), (w) => w.length > 0, 30_000);
      assert.ok(keyframeWidths()[0]! <= 320, `the low layer's keyframe: ${keyframeWidths()[0]} px`);
      assert.equal((await settings("medium")).type, "ok");
      const widths = await eventually("the relay switches the tap to a larger layer at its keyframe", async () => keyframeWidths(), (w) => w.some((x) => x > 320), 60_000);
      const key = await importFrameKey(await keyFromPassphrase(KEY));
      const frames = vp8Frames(watcher.received.get(camera.id)!.keptPackets);
      for (const f of frames) assert.ok(await decryptFrame(key, f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) as ArrayBuffer), "every frame of both layers opens with the key");
      console.log(`keyframes the relay forwarded to the tap, low then medium: ${widths!.join(", ")} px wide; ${frames.length} frames, all opened`);
    } finally {
      await watcher.close();
    }
  });
});
