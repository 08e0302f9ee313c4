/**
 * Opus in-band FEC and DTX from a real Chromium publisher through the relay (docs/quality.md, "Audio"):
 *
 *   node --import tsx --test test/browser/e2e/audio-resilience.e2e.ts
 *
 * Ada's `<sfu-room>` publishes her microphone (a tone of 2 s, then 2 s of silence, looped); a werift
 * client subscribes and keeps every Opus packet the relay forwards. Ada's media reaches the relay only
 * through the test's impairment forwarder (test/support/impairment, on loopback: the relay announces
 * 127.0.0.2, where the forwarder listens on each of its ports), so her uplink can lose packets.
 * - The relay's answer, as Ada's connection applied it, asks for `useinbandfec=1` and `usedtx=1`.
 * - DTX: during the pauses Ada's encoder sends a packet every 400 ms, not every 20 ms; the subscriber
 *   sees the RTP timestamp jump over the gaps with no sequence number missing.
 * - FEC follows reported loss: on a clean uplink no frame carries LBRR (Opus's in-band FEC) data; with
 *   20 % of Ada's uplink lost, the relay's receiver reports tell her browser (its remote-inbound-rtp
 *   stats show the loss), and her encoder adds LBRR to many of her frames (over 30 %; 41-68 % seen).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { pino } from "pino";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
import { WeriftClient } from "@sfu-room/test-peer";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { makeToneWav } from "../support/wav.ts";
import { type Forwarder, startForwarder } from "../../support/impairment/forwarder.ts";
import { readOpusFrame } from "../../support/opus-frames.ts";
import { elementPage } from "./element-page.ts";
import { eventually } from "./harness.ts";

const ARTIFACTS = fileURLToPath(new URL("../../artifacts/", import.meta.url));
const RUN = Date.now().toString(36);
/** The relay's media ports, a range of its own per run (tests of others may run at the same time). */
const FIRST_PORT = 47000 + (process.pid % 80) * 12;
const PORTS: [number, number] = [FIRST_PORT, FIRST_PORT + 11];
/** Opus at 48 kHz, 20 ms per packet. */
const TICKS_PER_PACKET = 960;

let relay: RunningRelay;
let forwarder: Forwarder;
let site: Server;
let browser: Browser;
let siteUrl: string;
const clients: WeriftClient[] = [];

/** The fmtp parameters of the Opus payload type in an SDP's audio section, by name. */
function opusFmtp(sdp: string): Record<string, string> {
  const pt = /^a=rtpmap:(\d+) opus\//im.exec(sdp)?.[1];
  const line = pt === undefined ? undefined : new RegExp(`^a=fmtp:${pt} (.*)$`, "m").exec(sdp)?.[1];
  return Object.fromEntries((line ?? "").split(";").filter(Boolean).map((p) => p.trim().split("=") as [string, string]));
}

interface PublisherView {
  offer: string;
  answer: string;
  /**
   * The address the publisher connection sends from ("ip:port", its forwarder link's key): the base of
   * the selected local candidate. Chromium may send to 127.0.0.2 from a socket bound to another local
   * address; the relay then sees the forwarder's socket, which ICE learns as a peer-reflexive candidate.
   */
  localAddress: string | undefined;
  /** remote-inbound-rtp of the audio sender: what the relay's receiver reports said. */
  reportedFractionLost: number | undefined;
  reportedPacketsLost: number | undefined;
}

/** Serialized into Ada's page. */
async function publisherView(): Promise<PublisherView> {
  const room = (document.querySelector("sfu-room") as unknown as { session: { peerConnections: { publisher?: RTCPeerConnection } } }).session;
  const pc = room.peerConnections.publisher!;
  const stats = new Map<string, Record<string, unknown>>();
  (await pc.getStats()).forEach((s) => stats.set(s.id, s));
  const transport = [...stats.values()].find((s) => s.type === "transport" && s.selectedCandidatePairId);
  const pair = transport ? stats.get(transport.selectedCandidatePairId as string) : undefined;
  const local = pair ? stats.get(pair.localCandidateId as string) : undefined;
  const remoteInbound = [...stats.values()].find((s) => s.type === "remote-inbound-rtp" && s.kind === "audio");
  return {
    offer: pc.localDescription?.sdp ?? "",
    answer: pc.remoteDescription?.sdp ?? "",
    localAddress: local === undefined ? undefined : local.candidateType === "prflx" ? `${local.relatedAddress}:${local.relatedPort}` : `${local.address}:${local.port}`,
    reportedFractionLost: remoteInbound?.fractionLost as number | undefined,
    reportedPacketsLost: remoteInbound?.packetsLost as number | undefined,
  };
}

/** The codec an SDP's first audio m-line prefers (its first format), by rtpmap name: "red", "opus". */
function preferredAudioCodec(sdp: string): string | undefined {
  const pt = /^m=audio \d+ \S+ (\d+)/m.exec(sdp)?.[1];
  return pt === undefined ? undefined : new RegExp(`^a=rtpmap:${pt} ([\\w-]+)/`, "m").exec(sdp)?.[1]?.toLowerCase();
}

interface AudioConnectionView {
  offer: string;
  answer: string;
  /** The RTP stream's codec as the browser's stats name it (audio/red, audio/opus). */
  codec: string | undefined;
  /** inbound-rtp (a subscriber) */
  totalSamplesReceived: number;
  audioLevel: number;
  concealedSamples: number;
}

/** Serialized into a page: the audio of one of its `<sfu-room>`'s connections. */
async function audioConnection(which: string): Promise<AudioConnectionView> {
  const room = (document.querySelector("sfu-room") as unknown as { session: { peerConnections: Record<string, RTCPeerConnection | undefined> } }).session;
  const pc = room.peerConnections[which]!;
  const stats = new Map<string, Record<string, unknown>>();
  (await pc.getStats()).forEach((s) => stats.set(s.id, s));
  const rtp = [...stats.values()].find((s) => (s.type === "outbound-rtp" || s.type === "inbound-rtp") && s.kind === "audio");
  const codec = rtp?.codecId === undefined ? undefined : stats.get(rtp.codecId as string);
  return {
    offer: (which === "publisher" ? pc.localDescription : pc.remoteDescription)?.sdp ?? "",
    answer: (which === "publisher" ? pc.remoteDescription : pc.localDescription)?.sdp ?? "",
    codec: codec?.mimeType as string | undefined,
    totalSamplesReceived: (rtp?.totalSamplesReceived as number | undefined) ?? 0,
    audioLevel: (rtp?.audioLevel as number | undefined) ?? 0,
    concealedSamples: (rtp?.concealedSamples as number | undefined) ?? 0,
  };
}

/** A werift subscriber in `room` that keeps every packet it receives. */
async function werift(room: string, name: string, red = false): Promise<WeriftClient> {
  const client = new WeriftClient({ name, log: new Map(), keepPackets: true, red });
  clients.push(client);
  await client.connect(relay.signalUrl);
  await client.join(room);
  return client;
}

/** A page with one `<sfu-room>` in `room`, joined; `audio` "off" publishes nothing (video is off). */
async function open(room: string, name: string, audio: "on" | "off"): Promise<Page> {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument("window.__name = (f) => f");
  await page.goto(`${siteUrl}/?room=${room}&name=${name}&audio=${audio}`);
  await eventually(`${name} joined`, () => page.evaluate(() => document.querySelector("sfu-room")?.status ?? "none"), (s) => s === "joined");
  return page;
}

/** The audio packets a werift subscriber got (of its one remote audio track), in arrival order. */
function received(client: WeriftClient): Array<{ seq: number; timestamp: number; payload: Buffer }> {
  const track = [...client.received.values()].find((t) => t.kind === "audio");
  return track?.keptPackets ?? [];
}

/**
 * The share of the frames that are not DTX carrying LBRR (a CELT-only frame has no SILK layer, so no
 * in-band FEC), how many there were, and how many by mode.
 */
function lbrrShare(packets: ReturnType<typeof received>): { share: number; frames: number; modes: Record<string, number> } {
  const frames = packets.map((p) => readOpusFrame(p.payload)).filter((f) => f !== undefined && !f.dtx);
  const modes: Record<string, number> = {};
  for (const f of frames) modes[f!.mode] = (modes[f!.mode] ?? 0) + 1;
  return { share: frames.length === 0 ? 0 : frames.filter((f) => f!.lbrr === true).length / frames.length, frames: frames.length, modes };
}

describe("Opus in-band FEC and DTX from Chromium through the relay", { timeout: 240_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
    const spurts = makeToneWav(`${ARTIFACTS}tone-440hz-2s-on-2s-off.wav`, 4, 440, 0.3, 2);
    forwarder = await startForwarder();
    for (let port = PORTS[0]; port <= PORTS[1]; port++) await forwarder.route({ address: "127.0.0.2", port }, { address: "127.0.0.1", port });
    relay = await startRelay(
      // UDP only: an ICE-TCP path would bypass the forwarder.
      { ...structuredClone(DEFAULT_RELAY_CONFIG), port: 0, rtcBindAddress: "127.0.0.1", announcedAddresses: ["127.0.0.2"], udpPortRange: PORTS, iceTcp: false },
      pino({ level: process.env.SFU_LOG_LEVEL ?? "warn" }),
    );
    const relayOrigin = `http://127.0.0.1:${relay.port}`;
    site = createServer((req, res) => {
      const query = new URL(req.url ?? "/", "http://x").searchParams;
      const [room, name] = [query.get("room") ?? "", query.get("name") ?? ""].map((v) => v.replace(/[^\w-]/g, ""));
      const audio = query.get("audio") === "off" ? "off" : "on";
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(relayOrigin, room!, { name: name!, audio, video: "off" }));
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    siteUrl = `http://localhost:${(site.address() as { port: number }).port}`;
    browser = await puppeteer.launch({ executablePath, headless: true, args: [...chromiumArgs(), `--use-file-for-fake-audio-capture=${spurts}`], protocolTimeout: 60_000 });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await browser?.close();
    await new Promise((r) => site?.close(r));
    await relay?.close();
    await forwarder?.close();
  });

  it("negotiates FEC and DTX with the publisher; it sends DTX in pauses, and FEC once the relay reports loss", async () => {
    const room = `fec-${RUN}`;
    const page = await open(room, "Ada", "on");
    const view = await eventually("Ada's publisher connection is up", () => page.evaluate(publisherView), (v) => v.localAddress !== undefined && v.answer !== "");
    // What Ada's browser applied: the relay asks for both (Chromium offers only useinbandfec=1).
    assert.equal(opusFmtp(view.answer).useinbandfec, "1", view.answer);
    assert.equal(opusFmtp(view.answer).usedtx, "1", view.answer);
    console.log(`[audio] Chromium's offer: Opus fmtp ${JSON.stringify(opusFmtp(view.offer))}, audio/red offered: ${/^a=rtpmap:\d+ red\/48000/im.test(view.offer)}`);

    const subscriber = await werift(room, "sub");
    // Eight seconds of Ada's media timeline (two talk spurts and two pauses), clean.
    const span = (packets: ReturnType<typeof received>) => (packets.length < 2 ? 0 : (packets.at(-1)!.timestamp - packets[0]!.timestamp) >>> 0);
    await eventually("8 s of Ada's audio reached the subscriber", async () => span(received(subscriber)), (ticks) => ticks >= 8 * 48_000, 60_000);
    const clean = [...received(subscriber)];

    // DTX: steps of the timestamp over a pause with consecutive sequence numbers, and far fewer
    // packets than 20 ms frames of media time.
    let dtxSteps = 0;
    for (let i = 1; i < clean.length; i++) {
      const seqStep = (clean[i]!.seq - clean[i - 1]!.seq) & 0xffff;
      const tsStep = (clean[i]!.timestamp - clean[i - 1]!.timestamp) >>> 0;
      if (seqStep === 1 && tsStep >= 10 * TICKS_PER_PACKET) dtxSteps++;
    }
    const frameSlots = span(clean) / TICKS_PER_PACKET;
    console.log(`[audio] clean: ${clean.length} packets over ${frameSlots} frame slots, ${dtxSteps} DTX steps, LBRR ${JSON.stringify(lbrrShare(clean))}`);
    assert.ok(dtxSteps >= 2, `the pauses were sent as DTX (${dtxSteps} timestamp steps of 200 ms or more)`);
    assert.ok(clean.length < 0.8 * frameSlots, `${clean.length} packets for ${frameSlots} frames of 20 ms: DTX left out most of the pauses`);
    // FEC on a clean link: nothing to protect against, no LBRR.
    const beforeLoss = lbrrShare(clean);
    assert.ok(beforeLoss.frames >= 50, `speech frames arrived (${beforeLoss.frames})`);
    assert.ok(beforeLoss.share < 0.05, `no FEC on a clean link (LBRR in ${beforeLoss.share} of the frames)`);

    // 20 % of Ada's publisher uplink is lost from now on.
    await forwarder.set(view.localAddress!, "up", { loss: 0.2 });
    const lossFrom = received(subscriber).length;
    const reported = await eventually("Ada's browser hears of the loss from the relay's receiver reports", () => page.evaluate(publisherView), (v) => (v.reportedFractionLost ?? 0) > 0.05, 30_000);
    console.log(`[audio] reported to Ada: fractionLost ${reported.reportedFractionLost}, packetsLost ${reported.reportedPacketsLost}`);
    const withLoss = await eventually(
      "many of Ada's frames carry in-band FEC",
      async () => lbrrShare(received(subscriber).slice(lossFrom).slice(-150)),
      (r) => r.frames >= 50 && r.share > 0.3,
      90_000,
      1_000,
    );
    console.log(`[audio] with 20 % uplink loss: LBRR ${JSON.stringify(withLoss)}`);
    const link = (await forwarder.counters())[view.localAddress!];
    assert.ok((link?.up.lost ?? 0) > 0, "the forwarder dropped some of Ada's packets");
    await forwarder.set(view.localAddress!, "up", {});
    await page.close();
  });

  it("Chromium publishes RED; a subscriber with RED gets it, one without gets the same Opus frames, and a Chromium subscriber with RED plays it", async () => {
    const room = `red-${RUN}`;
    const ada = await open(room, "Ada", "on");
    const published = await eventually("Ada's publisher connection is negotiated", () => ada.evaluate(audioConnection, "publisher"), (v) => v.answer !== "");
    assert.equal(preferredAudioCodec(published.offer), "opus", "Chromium offers Opus first and RED after it");
    assert.match(published.offer, /^a=rtpmap:\d+ red\/48000\/2/m, "Chromium offers audio/red");
    assert.equal(preferredAudioCodec(published.answer), "red", "the relay's answer prefers RED");
    // (Chromium's outbound-rtp names the Opus inside the RED: what it sends is checked at the subscribers.)

    const plain = await werift(room, "plain");
    const withRed = await werift(room, "red", true);
    const bob = await open(room, "Bob", "off");
    await eventually("both werift subscribers receive 300 packets", async () => [plain, withRed].map((c) => received(c).length), (n) => n.every((x) => x >= 300), 60_000);
    // The RED subscriber got Chromium's RED, redundant frames included; the other plain Opus.
    assert.equal(plain.redPacketsReceived, 0);
    assert.ok(withRed.redundantRedPacketsReceived >= 200, `RED with a redundant frame reached the RED subscriber (${withRed.redundantRedPacketsReceived} of ${withRed.redPacketsReceived})`);
    // Byte for byte: each Opus frame the plain subscriber got (past the first ones, while the other
    // subscriber may not have been there yet) is one the RED subscriber took out of RED.
    const frames = new Set(received(withRed).map((p) => p.payload.toString("hex")));
    const plainFrames = received(plain).slice(100, -50);
    const unmatched = plainFrames.filter((p) => !frames.has(p.payload.toString("hex")));
    assert.equal(unmatched.length, 0, `${unmatched.length} of ${plainFrames.length} Opus frames of the plain subscriber are not in the RED subscriber's`);
    for (const p of plainFrames) assert.ok(readOpusFrame(p.payload) !== undefined, "plain Opus, not RED");

    // Bob's Chromium negotiated RED (the relay offers it first) and decodes Ada's audio from it.
    const heard = await eventually("Bob's browser plays Ada's audio", () => bob.evaluate(audioConnection, "subscriber"), (v) => v.totalSamplesReceived > 48_000 && v.audioLevel > 0.01, 60_000);
    console.log(`[audio] Bob: codec ${heard.codec}, ${heard.totalSamplesReceived} samples, level ${heard.audioLevel.toFixed(3)}, concealed ${heard.concealedSamples}`);
    assert.equal(preferredAudioCodec(heard.offer), "red", "the relay offers RED first");
    assert.equal(preferredAudioCodec(heard.answer), "red", "Bob's browser answered RED first");
    assert.ok(heard.codec === "audio/red" || heard.codec === "audio/opus", `Bob's browser decodes Opus (${heard.codec})`);
    await Promise.all([ada.close(), bob.close()]);
  });
});
