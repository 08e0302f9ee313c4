/**
 * Firefox ESR publishes simulcast (VP8, three rid layers) into the relay; headless Chromium subscribes
 * through the demo, decodes, and sees a layer switch when it asks for low and then for high.
 *
 *   node --import tsx --test browser/e2e/firefox-simulcast.e2e.ts
 *
 * Firefox never offers loopback ICE candidates, so (as root) the test re-runs itself in a private
 * network namespace with a veth address and a default route, as run-components.ts does; the relay's
 * media sockets bind that address and nothing leaves the namespace. Without root it is skipped.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { BROWSER_NAMESPACE, canCreateNamespace, insideNamespace, reexecInNamespace } from "@sfu-room/netns";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { FIREFOX_PATH, FIREFOX_PREFS, ensureBrowser } from "../support/browsers.mjs";
import { eventually, type Harness, startHarness } from "./harness.ts";
import { publisherLayers, remoteVideo, timedSwitch } from "./simulcast-probe.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const ROOM = `firefox-simulcast-${Date.now().toString(36)}`;
const inNamespace = insideNamespace(BROWSER_NAMESPACE);

if (!inNamespace && canCreateNamespace()) {
  // What the test installs goes in out here: the namespace has no route to Debian's mirrors.
  ensureBrowser(FIREFOX_PATH, "firefox-esr");
  process.exit(await reexecInNamespace(BROWSER_NAMESPACE));
}

describe("Firefox ESR publishes simulcast, Chromium subscribes", { timeout: 300_000, skip: inNamespace ? false : "needs root for a network namespace (Firefox offers no loopback candidates)" }, () => {
  let h: Harness;
  let firefox: Browser;
  let pub: Page;
  let sub: Page;

  before(async () => {
    h = await startHarness({ distDir: `${ARTIFACTS}demo-dist-firefox`, relay: { rtcBindAddress: BROWSER_NAMESPACE.address } });
    firefox = await puppeteer.launch({
      browser: "firefox",
      executablePath: ensureBrowser(FIREFOX_PATH, "firefox-esr"),
      headless: true,
      extraPrefsFirefox: FIREFOX_PREFS,
    });
  });

  after(async () => {
    await firefox?.close().catch(() => undefined);
    await h?.close();
  });

  it("Firefox sends VP8 simulcast layers; the Chromium subscriber decodes low, then high, then low", async () => {
    pub = await h.openDemo(firefox, "Firefox", ROOM, { params: { simulcast: "", audio: "off" } });
    const fx = await pub.evaluate(() => {
      const camera = document.querySelector("sfu-room")!.session!.local.tracks.get("camera")!;
      const params = camera.sender!.getParameters();
      const { width = 0, height = 0 } = camera.mediaStreamTrack!.getSettings();
      return { rids: params.encodings.map((e) => e.rid ?? ""), codec: params.codecs[0]?.mimeType ?? "", width, height };
    });
    console.log(`Firefox publishes ${fx.width}x${fx.height} as rids ${fx.rids.join(",")} (${fx.codec})`);
    assert.deepEqual(fx.rids, ["q", "h", "f"]);
    assert.equal(fx.codec.toLowerCase(), "video/vp8");
    const low = Math.floor(fx.width / 4);

    // Asking high first: Firefox's own send estimate must ramp up to its full layer (no transport-cc or
    // REMB from the relay: see docs/quality.md), which takes tens of seconds; then low and high again.
    const started = Date.now();
    sub = await h.openDemo(h.chromium, "Chromium", ROOM, { params: { audio: "off", video: "off", quality: "high" } });
    const first = await eventually(
      "Chromium decodes Firefox's full layer",
      () => sub.evaluate(remoteVideo),
      (v) => (v?.framesDecoded ?? 0) > 5 && (v?.frameWidth ?? 0) > fx.width / 2,
      60_000,
    );
    console.log(`Chromium asks high: decodes ${first!.frameWidth}x${first!.frameHeight} after ${Date.now() - started} ms (from its join)`);

    const down = await sub.evaluate(timedSwitch, "low" as const, 1, low, 30_000, false);
    assert.ok(down.ms >= 0, "no frames of the low layer within 30 s");
    console.log(`Firefox layers at the Chromium subscriber, high -> low: ${down.ms} ms to ${down.width} px`);
    let before = (await sub.evaluate(remoteVideo))!.framesDecoded;
    await eventually("frames keep growing", () => sub.evaluate(remoteVideo), (v) => (v?.framesDecoded ?? 0) > before + 5, 15_000);

    const up = await sub.evaluate(timedSwitch, "high" as const, Math.floor(fx.width / 2) + 1, 4096, 30_000, false);
    assert.ok(up.ms >= 0, `no frames wider than the medium layer (${fx.width / 2} px) within 30 s`);
    console.log(`low -> high: ${up.ms} ms to ${up.width} px`);
    before = (await sub.evaluate(remoteVideo))!.framesDecoded;
    await eventually("frames keep growing", () => sub.evaluate(remoteVideo), (v) => (v?.framesDecoded ?? 0) > before + 5, 15_000);
    const layers = await pub.evaluate(publisherLayers);
    console.log(`Firefox outbound: ${layers.map((l) => `${l.rid} ${l.active ? "on" : "off"} ${l.framesEncoded} frames ${l.frameWidth ?? "?"} px`).join("; ")}`);
    assert.ok(layers[0]!.framesEncoded > 0 && layers[2]!.framesEncoded > 0, "q and f were both encoded");
    const end = (await sub.evaluate(remoteVideo))!;
    console.log(`Chromium subscriber freezeCount: ${end.freezeCount}`);
  });
});
