/**
 * A third WebRTC stack in a room with Chromium (issue 15): aiortc (Debian `python3-aiortc`), driven by
 * test/aiortc/client.py, a client written from docs/protocol.md alone. It publishes VP8 + Opus and
 * receives through the relay, both directions with frames decoded:
 * - aiortc joins an empty room (its first offer is data channels only), then a Chromium page joins:
 *   aiortc must accept the re-offer that adds the page's camera and microphone and decode both, and
 *   the page decodes aiortc's 320x240 video;
 * - data messages both ways on the two negotiated channels (reliable and lossy, text and bytes);
 * - a second page joins: another re-offer, and aiortc decodes that page too;
 * - the second page leaves: aiortc's next offer has rejected m-sections, which it accepts, and it keeps
 *   decoding the first page;
 * - a third page joins: its tracks take the rejected slots with new mids, and aiortc decodes them;
 *   then aiortc leaves and the page drops its tracks.
 *
 *   node --import tsx --test browser/e2e/aiortc.e2e.ts
 *
 * aiortc never offers loopback candidates, so (as root) the test re-runs itself in a private network
 * namespace with a veth address, as the Firefox test does; relay, Chromium and aiortc all run inside
 * it and the relay's media sockets bind that address. Without root it is skipped.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { BROWSER_NAMESPACE, canCreateNamespace, insideNamespace, reexecInNamespace } from "@sfu-room/netns";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import type { SfuRoomElement } from "@sfu-room/sdk";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeY4m } from "../support/y4m.ts";
import { type AiortcClient, type AiortcEvent, type AiortcStats, type AiortcTrack, ensureAiortc, startAiortc } from "../../support/aiortc.ts";
import { eventually } from "./harness.ts";
import { elementPage } from "./element-page.ts";
import { audioLevelOf, probe, type PageProbe } from "./page-probe.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const ROOM = "aiortc";
const inNamespace = insideNamespace(BROWSER_NAMESPACE);

if (!inNamespace && canCreateNamespace()) {
  // What the test installs goes in out here: the namespace has no route to Debian's mirrors.
  ensureAiortc();
  ensureBrowser(CHROMIUM_PATH, "chromium");
  process.exit(await reexecInNamespace(BROWSER_NAMESPACE));
}

/** aiortc's tracks of one participant, by kind. */
function tracksOf(stats: AiortcStats | undefined, participantId: string): Partial<Record<"audio" | "video", AiortcTrack>> {
  const tracks = stats?.tracks.filter((t) => t.participantId === participantId) ?? [];
  return { audio: tracks.find((t) => t.kind === "audio"), video: tracks.find((t) => t.kind === "video") };
}

/** aiortc decoded more than `video` video frames and `audio` audio frames of this participant. */
const decodes = (participantId: string, video: number, audio: number) => (e: AiortcEvent) => {
  const t = tracksOf(e.event === "stats" ? (e as unknown as AiortcStats) : undefined, participantId);
  return (t.video?.frames ?? 0) > video && (t.audio?.frames ?? 0) > audio && (t.video?.width ?? 0) > 0;
};

const offer = (offerId: number) => (e: AiortcEvent) => e.event === "offer" && e.offerId === offerId;

describe("aiortc and Chromium in one room", { timeout: 180_000, skip: inNamespace ? false : "needs root for a network namespace (aiortc offers no loopback candidates)" }, () => {
  let relay: RunningRelay;
  let site: Server;
  let siteUrl = "";
  let chromium: Browser;
  let aiortc: AiortcClient;
  let aiortcId = "";
  let ada: Page;
  let adaId = "";

  /** A page of the site: the <sfu-room> element as the README embeds it, publishing camera and microphone. */
  async function join(name: string): Promise<{ page: Page; id: string }> {
    const page = await chromium.newPage({ type: "window" }).catch(() => chromium.newPage());
    await page.evaluateOnNewDocument("window.__name = (f) => f");
    page.on("console", (m) => m.type() === "error" && console.error(`[${name}] ${m.text()}`));
    await page.goto(`${siteUrl}/?name=${name}`);
    const joined = await eventually(`${name} joined`, () => page.evaluate(probe), (p) => p.status === "joined" && p.participantId !== "");
    return { page, id: joined.participantId };
  }

  /** The page's receiving side of aiortc's video and audio. */
  const fromAiortc = (p: PageProbe) => ({
    video: p.tracks.find((t) => t.participantId === aiortcId && t.kind === "video"),
    audio: p.tracks.find((t) => t.participantId === aiortcId && t.kind === "audio"),
    tile: p.tiles.find((t) => t.participantId === aiortcId),
  });

  before(async () => {
    ensureAiortc();
    relay = await startRelay(
      { ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, rtcBindAddress: BROWSER_NAMESPACE.address },
      pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }),
    );
    site = createServer((req, res) => {
      const name = new URL(req.url ?? "/", "http://x").searchParams.get("name")?.replace(/\W/g, "") || "guest";
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(`http://127.0.0.1:${relay.port}`, ROOM, { name }));
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    siteUrl = `http://localhost:${(site.address() as { port: number }).port}`;
    chromium = await puppeteer.launch({
      executablePath: ensureBrowser(CHROMIUM_PATH, "chromium"),
      headless: true,
      args: chromiumArgs({ y4m: makeY4m(`${ARTIFACTS}fake-320x180-15fps.y4m`) }),
      protocolTimeout: 60_000,
    });
  });

  after(async () => {
    if (aiortc) await aiortc.leave();
    await chromium?.close().catch(() => undefined);
    await new Promise((r) => (site ? site.close(r) : r(undefined)));
    await relay?.close();
  });

  it("aiortc joins an empty room: it answers the data-only first offer and opens both data channels", async () => {
    aiortc = startAiortc({ url: relay.signalUrl, room: ROOM, name: "aiortc" });
    aiortcId = String((await aiortc.next("joined", (e) => e.event === "joined")).participantId);
    await aiortc.next("published", (e) => e.event === "published");
    const first = await aiortc.next("offer 1 answered", offer(1));
    assert.deepEqual(first.mids, [], "the first offer carries no track");
    await aiortc.next("subscriber connected, both channels open", (e) => {
      const s = e as unknown as AiortcStats;
      return e.event === "stats" && s.connection === "connected" && s.channels.join() === "open,open";
    });
  });

  it("a Chromium page joins: aiortc accepts the re-offer and decodes its video and audio; the page decodes aiortc's video", async () => {
    ({ page: ada, id: adaId } = await join("Ada"));
    await aiortc.next("offer 2 (Ada's tracks) answered", offer(2));
    const got = await aiortc.next("aiortc decodes Ada's video and audio", decodes(adaId, 20, 50), 40_000);
    const ofAda = tracksOf(got as unknown as AiortcStats, adaId);
    console.log(`aiortc decodes Ada: ${ofAda.video!.frames} video frames ${ofAda.video!.width}x${ofAda.video!.height}, ${ofAda.audio!.frames} audio frames at ${ofAda.audio!.sampleRate} Hz, peak ${ofAda.audio!.peak}`);
    // Chromium's fake camera is 320x180; under CPU load Chromium may send it smaller, never otherwise shaped.
    assert.ok(ofAda.video!.width! <= 320 && Math.abs(ofAda.video!.width! / ofAda.video!.height! - 16 / 9) < 0.1, `${ofAda.video!.width}x${ofAda.video!.height}`);
    assert.equal(ofAda.audio!.sampleRate, 48_000);
    // Chromium's fake microphone beeps: sound, not only the silence a broken decode would give.
    await aiortc.next("aiortc decodes sound in Ada's audio", (e) => (tracksOf(e.event === "stats" ? (e as unknown as AiortcStats) : undefined, adaId).audio?.peak ?? 0) > 1000, 20_000);

    const seen = await eventually("Ada decodes aiortc's video and receives its audio", () => ada.evaluate(probe), (p) => {
      const a = fromAiortc(p);
      return (a.video?.framesDecoded ?? 0) > 20 && (a.audio?.packetsReceived ?? 0) > 50 && (a.tile?.videoWidth ?? 0) > 0;
    }, 40_000);
    const a = fromAiortc(seen);
    console.log(`Ada decodes aiortc: ${a.video!.framesDecoded} frames, ${a.tile!.videoWidth} px wide; ${a.audio!.packetsReceived} audio packets`);
    assert.equal(a.tile!.videoWidth, 320, "aiortc's colour bars are 320x240");
    // aiortc's 440 Hz tone has a steady level of 8000/32767, about 0.24 (silence would be 0).
    const level = await eventually("Ada hears aiortc's tone at its level", () => ada.evaluate(audioLevelOf, aiortcId), (l) => l > 0.15 && l < 0.35, 20_000);
    console.log(`Ada: aiortc's audio level ${level.toFixed(2)}`);
  });

  it("data messages both ways: aiortc's frames reach the page with aiortc as sender, the page's reach aiortc", async () => {
    await ada.evaluate(() => {
      const w = window as unknown as { received: unknown[] };
      w.received = [];
      document.querySelector("sfu-room")!.addEventListener("data", (e) => {
        const { from, topic, payload, reliable } = (e as CustomEvent).detail;
        w.received.push({ from, topic, payload: typeof payload === "string" ? payload : Array.from(payload as Uint8Array), reliable });
      });
    });
    // Messages reach a participant once its data channels are open (protocol.md 7.5), which may be after its media flows.
    await eventually("Ada's data channels open", () => ada.evaluate(() => (document.querySelector("sfu-room") as SfuRoomElement).session!.peerConnections.subscriber?.sctp?.state ?? "none"), (s) => s === "connected");
    aiortc.sendData({ text: "hello from aiortc", topic: "chat" });
    // The lossy channel may lose messages (protocol.md 7.5; from the relay it loses some even here, more in
    // bursts): ten distinct ones 100 ms apart, of which at least one must arrive, intact, and none twice.
    for (let i = 0; i < 10; i++) {
      aiortc.sendData({ hex: `0102fa0${i}`, topic: "bytes", to: [adaId], reliable: false });
      await new Promise((r) => setTimeout(r, 100));
    }
    type Got = { from: string; topic: string; payload: string | number[]; reliable: boolean };
    await eventually("Ada receives aiortc's reliable message and a lossy one", () => ada.evaluate(() => (window as unknown as { received: Got[] }).received),
      (r) => r.some((m) => m.reliable) && r.some((m) => !m.reliable), 10_000);
    await new Promise((r) => setTimeout(r, 500)); // the rest of the lossy ones, or none
    const all = await ada.evaluate(() => (window as unknown as { received: Got[] }).received);
    assert.deepEqual(all.filter((m) => m.reliable), [{ from: aiortcId, topic: "chat", payload: "hello from aiortc", reliable: true }]);
    const lossy = all.filter((m) => !m.reliable);
    console.log(`Ada received ${lossy.length} of aiortc's 10 lossy messages`);
    for (const m of lossy) assert.deepEqual({ ...m, payload: (m.payload as number[]).slice(0, 3) }, { from: aiortcId, topic: "bytes", payload: [1, 2, 250], reliable: false });
    assert.equal(new Set(lossy.map((m) => (m.payload as number[])[3])).size, lossy.length, "no lossy message arrived twice");

    await ada.evaluate(async (to) => {
      const el = document.querySelector("sfu-room") as SfuRoomElement;
      await el.send("hello from Ada", { topic: "chat" });
      for (let i = 0; i < 10; i++) {
        await el.send(new Uint8Array([7, 8, 9, i]), { topic: "bytes", to: [to], reliable: false });
        await new Promise((r) => setTimeout(r, 100));
      }
    }, aiortcId);
    const text = await aiortc.next("aiortc receives Ada's text", (e) => e.event === "data" && e.topic === "chat");
    assert.deepEqual(text, { event: "data", channel: "sfu-reliable", from: adaId, topic: "chat", text: "hello from Ada" });
    await aiortc.next("aiortc receives one of Ada's lossy messages", (e) => e.event === "data" && e.topic === "bytes");
    await new Promise((r) => setTimeout(r, 500));
    const bytes = aiortc.events.filter((e) => e.event === "data" && e.topic === "bytes");
    console.log(`aiortc received ${bytes.length} of Ada's 10 lossy messages`);
    for (const e of bytes) assert.deepEqual({ ...e, hex: String(e.hex).slice(0, 6) }, { event: "data", channel: "sfu-lossy", from: adaId, topic: "bytes", hex: "070809" });
    assert.equal(new Set(bytes.map((e) => e.hex)).size, bytes.length, "no lossy message arrived twice");
  });

  let grace: Page;
  let graceId = "";
  it("a second page joins later: aiortc accepts another re-offer and decodes it too", async () => {
    ({ page: grace, id: graceId } = await join("Grace"));
    await aiortc.next("offer 3 (Grace's tracks) answered", offer(3));
    await aiortc.next("aiortc decodes Grace's video and audio", decodes(graceId, 20, 50), 40_000);
    await eventually("Grace decodes aiortc's video", () => grace.evaluate(probe), (p) => (p.tracks.find((t) => t.participantId === aiortcId && t.kind === "video")?.framesDecoded ?? 0) > 10, 40_000);
  });

  it("the second page leaves: aiortc accepts the offer with rejected m-sections and keeps decoding the first page", async () => {
    await grace.evaluate(() => (document.querySelector("sfu-room") as SfuRoomElement).leave());
    const removal = await aiortc.next("offer 4 (Grace's tracks removed) answered", offer(4));
    const mids = removal.mids as string[];
    const kept = tracksOf(aiortc.stats(), adaId);
    assert.deepEqual(mids.sort(), [kept.audio!.mid, kept.video!.mid].sort(), "only Ada's m-lines still carry a track");
    assert.equal(removal.rejected, 2, "Grace's two m-sections are in the offer, rejected (port 0)");
    const before = kept.video!.frames;
    const after = await aiortc.next("aiortc keeps decoding Ada", decodes(adaId, before + 30, kept.audio!.frames + 50), 20_000);
    console.log(`after the removal offer: aiortc decoded ${tracksOf(after as unknown as AiortcStats, adaId).video!.frames - before} more frames of Ada`);
    assert.deepEqual(aiortc.events.filter((e) => e.event === "error"), [], "the relay refused nothing aiortc sent");
    await grace.close();
  });

  it("a third page joins: its tracks reuse the rejected m-sections with new mids, and aiortc decodes them", async () => {
    const { page: hedy, id: hedyId } = await join("Hedy");
    const reuse = await aiortc.next("offer 5 (Hedy's tracks) answered", offer(5));
    const graceMids = Object.values(tracksOf(aiortc.stats(), graceId)).map((t) => t.mid);
    console.log(`offer 5: ${reuse.mLines} m-lines, ${reuse.rejected} rejected, mids with a track ${JSON.stringify(reuse.mids)} (Grace had ${JSON.stringify(graceMids)})`);
    assert.deepEqual([reuse.mLines, reuse.rejected], [5, 0], "Hedy's two tracks took the two rejected slots");
    assert.equal((reuse.mids as string[]).filter((mid) => graceMids.includes(mid)).length, 0, "a reused slot has a new mid");
    await aiortc.next("aiortc decodes Hedy's video and audio", decodes(hedyId, 20, 50), 40_000);
    await hedy.close();
  });

  it("aiortc leaves: it exits cleanly and the page drops its tracks", async () => {
    const code = await aiortc.leave();
    assert.equal(code, 0, aiortc.stderr());
    assert.deepEqual(aiortc.events.filter((e) => e.event === "error"), [], "the relay refused nothing aiortc sent, all along");
    await eventually("Ada drops aiortc's tracks", () => ada.evaluate(probe), (p) => !p.tracks.some((t) => t.participantId === aiortcId) && !p.tiles.some((t) => t.participantId === aiortcId), 15_000);
  });
});
