/**
 * WHIP from a browser (docs/whip-whep.md "From a web page"): a Chromium page on another origin runs
 * the docs' snippet, with simulcast, and publishes its camera and microphone into a room with nothing
 * but RTCPeerConnection and fetch (the relay answers the CORS preflight). A second page in the room,
 * the <sfu-room> element as the README embeds it, decodes the WHIP participant's video and receives
 * its audio (its lowest layer: quality "low", light on a busy machine); the publisher sends all three
 * simulcast layers (so the answer accepted them). DELETE
 * removes the participant everywhere: the tile goes, the relay holds nothing of it.
 * Between the two, another page runs the docs' WHEP snippet for the WHIP participant at quality low:
 * its <video> decodes that layer, 240 pixels wide, and the room sees no one more. (That `quality`
 * picks each layer is test/relay/whep.test.ts's; Chromium's top layer runs at a frame a second or
 * less on a busy 2-core machine, too slow to wait for here.)
 * Then a standard client: GStreamer's webrtcbin (test/gstreamer/whip-publish.py, what simple-whip-client
 * does; Debian 12's whip-client binary aborts at start, docs/whip-whep.md) publishes a 320x240 VP8 test
 * pattern and an Opus tone to /whip/<room>; the room's page decodes the video at that size and hears
 * the tone at its level; on SIGTERM the script sends DELETE and the participant is gone everywhere.
 *
 *   cd test && node --import tsx --test browser/e2e/whip.e2e.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeY4m } from "../support/y4m.ts";
import { eventually } from "./harness.ts";
import { elementPage } from "./element-page.ts";
import { audioLevelOf, type PageProbe, probe } from "./page-probe.ts";
import { ensureGstreamer, startWhipPublisher } from "../../support/gstreamer.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const ROOM = "whip";

/** The page that publishes: an empty page of the site; the snippet runs in it (publish() below). */
const PUBLISHER_PAGE = "<!doctype html><html><head><meta charset=\"utf-8\"></head><body>WHIP publisher</body></html>";

/**
 * docs/whip-whep.md's snippet, with the simulcast encodings it describes. Serialized into the page:
 * self-contained. Returns the session URL and the answer's status.
 */
async function publish(endpoint: string): Promise<{ status: number; session: string }> {
  const media = await navigator.mediaDevices.getUserMedia({ video: { width: 960, height: 540 }, audio: true });
  const pc = new RTCPeerConnection();
  for (const track of media.getTracks()) {
    const sendEncodings = track.kind === "video" ? [{ rid: "q", scaleResolutionDownBy: 4 }, { rid: "h", scaleResolutionDownBy: 2 }, { rid: "f" }] : undefined;
    pc.addTransceiver(track, { direction: "sendonly", ...(sendEncodings ? { sendEncodings } : {}) });
  }
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/sdp" }, body: pc.localDescription!.sdp });
  if (response.status !== 201) return { status: response.status, session: await response.text() };
  const session = new URL(response.headers.get("location")!, endpoint).href;
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  (window as unknown as { pc: RTCPeerConnection }).pc = pc;
  return { status: response.status, session };
}

/**
 * docs/whip-whep.md's WHEP snippet, on a new <video> of the page. Serialized into the page: self-contained.
 * Resolves with the answer's status; the <video> and its connection stay on the page.
 */
async function watch(endpoint: string): Promise<number> {
  const video = document.createElement("video");
  video.autoplay = true;
  video.muted = true;
  video.playsInline = true;
  video.dataset.endpoint = endpoint;
  document.body.append(video);
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.ontrack = (e) => stream.addTrack(e.track);
  video.srcObject = stream;
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/sdp" }, body: pc.localDescription!.sdp });
  if (response.status !== 201) return response.status;
  video.dataset.session = new URL(response.headers.get("location")!, endpoint).href;
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  return response.status;
}

/** Each WHEP <video>'s decoded width and frames. Serialized into the page. */
function played(): Array<{ endpoint: string; width: number; frames: number }> {
  return Array.from(document.querySelectorAll("video")).map((v) => ({ endpoint: v.dataset.endpoint ?? "", width: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames }));
}

/** The publisher's video layers that have encoded frames, by rid. Serialized into the page. */
async function layersSent(): Promise<Record<string, number>> {
  const stats = await (window as unknown as { pc: RTCPeerConnection }).pc.getStats();
  const layers: Record<string, number> = {};
  stats.forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video") layers[s.rid ?? "-"] = s.framesEncoded ?? 0;
  });
  return layers;
}

/** A participant's video and audio tracks and its tile in the viewer's page, by display name. */
function mediaOf(p: PageProbe, name: string) {
  const video = p.tracks.find((t) => t.name === name && t.kind === "video");
  const audio = p.tracks.find((t) => t.name === name && t.kind === "audio");
  return { video, audio, tile: p.tiles.find((t) => t.participantId === video?.participantId) };
}

/** The viewer decodes the participant's video (its tile has a picture) and receives its audio. */
function decodesMediaOf(p: PageProbe, name: string): boolean {
  const { video, audio, tile } = mediaOf(p, name);
  return (video?.framesDecoded ?? 0) > 20 && (audio?.packetsReceived ?? 0) > 50 && (tile?.videoWidth ?? 0) > 0;
}

describe("a page and GStreamer publish over WHIP", { timeout: 180_000 }, () => {
  let relay: RunningRelay;
  let site: Server;
  let siteUrl = "";
  let chromium: Browser;
  let viewer: Page;
  let publisher: Page;
  let session = "";
  let whipId = "";

  before(async () => {
    ensureGstreamer();
    relay = await startRelay({ ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0 }, pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }));
    site = createServer((req, res) => {
      const page = req.url?.startsWith("/publisher") ? PUBLISHER_PAGE : elementPage(`http://127.0.0.1:${relay.port}`, ROOM, { name: "Viewer", quality: "low" });
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    // localhost: another origin than the relay's 127.0.0.1, so the publish is a CORS request.
    siteUrl = `http://localhost:${(site.address() as { port: number }).port}`;
    chromium = await puppeteer.launch({
      executablePath: ensureBrowser(CHROMIUM_PATH, "chromium"),
      headless: true,
      args: chromiumArgs({ y4m: makeY4m(`${ARTIFACTS}fake-960x540-15fps.y4m`, 960, 540, 15, 30, false) }),
      protocolTimeout: 60_000,
    });
    const open = async (path: string): Promise<Page> => {
      const page = await chromium.newPage({ type: "window" }).catch(() => chromium.newPage());
      await page.evaluateOnNewDocument("window.__name = (f) => f");
      page.on("console", (m) => m.type() === "error" && console.error(`[${path}] ${m.text()}`));
      await page.goto(`${siteUrl}${path}`);
      return page;
    };
    viewer = await open("/");
    await eventually("the viewer joined", () => viewer.evaluate(probe), (p) => p.status === "joined");
    publisher = await open("/publisher");
  });

  after(async () => {
    await chromium?.close().catch(() => undefined);
    await new Promise((r) => (site ? site.close(r) : r(undefined)));
    await relay?.close();
  });

  it("the page's snippet publishes (201 across origins); the room's page decodes its video, receives its audio; all three layers are sent", async () => {
    const published = await publisher.evaluate(publish, `http://127.0.0.1:${relay.port}/whip/${ROOM}?name=Lobby%20camera`);
    assert.equal(published.status, 201, published.session);
    session = published.session;
    assert.match(session, new RegExp(`^http://127\\.0\\.0\\.1:${relay.port}/whip/${ROOM}/[A-Za-z0-9_-]+$`));

    const seen = await eventually("the viewer decodes the WHIP participant's video and receives its audio", () => viewer.evaluate(probe), (p) => decodesMediaOf(p, "Lobby camera"), 60_000);
    const video = mediaOf(seen, "Lobby camera").video!;
    whipId = video.participantId;
    const width = seen.tiles.find((t) => t.participantId === whipId)!.videoWidth;
    console.log(`viewer decodes the WHIP publisher: ${video.framesDecoded} frames, ${width} px wide`);
    assert.equal(width, 240, "the lowest layer of a 960x540 capture scaled down by 4");

    // Every layer encodes (Chromium sends only the layers the answer accepted); how many frames of the
    // top one depends on the machine's load, so any will do.
    const layers = await eventually("the publisher sends all three layers", () => publisher.evaluate(layersSent), (l) => ["q", "h", "f"].every((rid) => (l[rid] ?? 0) > 0), 60_000);
    console.log(`publisher's layers (frames encoded): ${JSON.stringify(layers)}`);
    // The WHIP participant holds one connection (publish-only) beside the viewer's two.
    const stats = await relay.readStats();
    assert.equal(stats.participants, 2);
    assert.equal(stats.peerConnections, 3);
  });

  it("the docs' WHEP snippet plays the WHIP participant on a page: quality low decodes its 240 px layer; the room sees nobody more", async () => {
    const player = await chromium.newPage({ type: "window" }).catch(() => chromium.newPage());
    await player.evaluateOnNewDocument("window.__name = (f) => f");
    await player.goto(`${siteUrl}/publisher`);
    const base = `http://127.0.0.1:${relay.port}/whep/${ROOM}?participant=${whipId}`;
    assert.equal(await player.evaluate(watch, `${base}&quality=low`), 201);
    try {
      const videos = await eventually("the player decodes frames", () => player.evaluate(played), (v) => v.length === 1 && v[0]!.frames > 20 && v[0]!.width > 0, 60_000);
      console.log(`WHEP player: ${JSON.stringify(videos.map(({ width, frames }) => ({ width, frames })))}`);
      assert.deepEqual(videos.map((v) => v.width), [240]);
      // Hidden: the room's page shows no tile for them.
      const room = await viewer.evaluate(probe);
      assert.equal(room.tiles.length, 2, "the viewer's own tile and the WHIP participant's");
    } finally {
      // Stopped as the snippet says (DELETE): a page that just goes away is noticed only when its connection fails.
      await player.evaluate(() => Promise.all(Array.from(document.querySelectorAll("video")).map((v) => fetch(v.dataset.session!, { method: "DELETE" }))));
      await player.close();
    }
    await eventually("the player's participant is released", async () => (await relay.readStats()).participants, (n) => n === 2, 30_000);
  });

  it("DELETE removes the WHIP participant everywhere: its tile goes, the relay holds only the viewer", async () => {
    const status = await publisher.evaluate(async (url) => (await fetch(url, { method: "DELETE" })).status, session);
    assert.equal(status, 200);
    await eventually("the viewer's tile of the WHIP participant goes", () => viewer.evaluate(probe), (p) => !p.tiles.some((t) => t.participantId === whipId) && p.tracks.length === 0);
    // What is left is the viewer's: the element publishes its own camera and microphone, on its two connections.
    const stats = await relay.readStats();
    assert.equal(stats.participants, 1);
    assert.equal(stats.tracks, 2);
    assert.equal(stats.peerConnections, 2);
    // The session is gone for good.
    assert.equal(await publisher.evaluate(async (url) => (await fetch(url, { method: "DELETE" })).status, session), 404);
  });

  it("GStreamer's webrtcbin publishes over WHIP: the room's page decodes its 320x240 video and hears its tone; its DELETE (on SIGTERM) removes it everywhere", async () => {
    const gst = startWhipPublisher({ url: `http://127.0.0.1:${relay.port}/whip/${ROOM}?name=GStreamer`, width: 320, height: 240, volume: 0.25 });
    try {
      const published = await gst.next("the relay answers the offer", (e) => e.event === "published");
      assert.equal(published.status, 201);
      assert.match(String(published.location), new RegExp(`^http://127\\.0\\.0\\.1:${relay.port}/whip/${ROOM}/[A-Za-z0-9_-]+$`));
      await gst.next("webrtcbin connects", (e) => e.event === "connection" && e.state === "connected");

      const seen = await eventually("the viewer decodes GStreamer's video and receives its audio", () => viewer.evaluate(probe), (p) => decodesMediaOf(p, "GStreamer"), 60_000);
      const video = mediaOf(seen, "GStreamer").video!;
      const gstId = video.participantId;
      const tile = seen.tiles.find((t) => t.participantId === gstId)!;
      console.log(`viewer decodes GStreamer: ${video.framesDecoded} frames, ${tile.videoWidth}x${tile.videoHeight}`);
      assert.deepEqual([tile.videoWidth, tile.videoHeight], [320, 240], "the size videotestsrc made");
      // A sine at a quarter of full scale: the page decodes it at about that level (not silence, not noise at full scale).
      const level = await eventually("the viewer hears GStreamer's tone at its level", () => viewer.evaluate(audioLevelOf, gstId), (l) => l > 0.15 && l < 0.35, 30_000);
      console.log(`viewer's audio level of GStreamer's tone: ${level.toFixed(3)}`);
      // One WHIP connection beside the viewer's two.
      const held = await relay.readStats();
      assert.equal(held.participants, 2);
      assert.equal(held.peerConnections, 3);

      assert.equal(await gst.stop(), 0, gst.stderr().slice(-2000));
      assert.deepEqual(gst.events.filter((e) => e.event === "deleted").map((e) => [e.status, e.location]), [[200, published.location]]);
      await eventually("the viewer's tile of GStreamer goes", () => viewer.evaluate(probe), (p) => !p.tiles.some((t) => t.participantId === gstId) && p.tracks.length === 0);
      const stats = await relay.readStats();
      assert.equal(stats.participants, 1);
      assert.equal(stats.tracks, 2);
      assert.equal(stats.peerConnections, 2);
    } finally {
      await gst.stop();
    }
  });
});
