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
 *   stats show the loss), and her encoder adds LBRR to most speech frames.
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
const ROOM = `audio-${Date.now().toString(36)}`;
/** The relay's media ports, a range of its own per run (tests of others may run at the same time). */
const FIRST_PORT = 47000 + (process.pid % 80) * 12;
const PORTS: [number, number] = [FIRST_PORT, FIRST_PORT + 11];
/** Opus at 48 kHz, 20 ms per packet. */
const TICKS_PER_PACKET = 960;

let relay: RunningRelay;
let forwarder: Forwarder;
let site: Server;
let browser: Browser;
let subscriber: WeriftClient;

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

/** The Opus packets the subscriber got from Ada, in arrival order. */
function received(): Array<{ seq: number; timestamp: number; payload: Buffer }> {
  const track = [...subscriber.received.values()].find((t) => t.kind === "audio");
  return track?.packetLog ?? [];
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
    site = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(elementPage(relayOrigin, ROOM, { name: "Ada", video: "off" }));
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    browser = await puppeteer.launch({ executablePath, headless: true, args: [...chromiumArgs(), `--use-file-for-fake-audio-capture=${spurts}`], protocolTimeout: 60_000 });
  });

  after(async () => {
    await subscriber?.close();
    await browser?.close();
    await new Promise((r) => site?.close(r));
    await relay?.close();
    await forwarder?.close();
  });

  it("negotiates FEC and DTX with the publisher; it sends DTX in pauses, and FEC once the relay reports loss", async () => {
    const page: Page = await browser.newPage();
    await page.evaluateOnNewDocument("window.__name = (f) => f");
    await page.goto(`http://localhost:${(site.address() as { port: number }).port}/`);
    await eventually("Ada joined", () => page.evaluate(() => document.querySelector("sfu-room")?.status ?? "none"), (s) => s === "joined");
    const view = await eventually("Ada's publisher connection is up", () => page.evaluate(publisherView), (v) => v.localAddress !== undefined && v.answer !== "");
    // What Ada's browser applied: the relay asks for both (Chromium offers only useinbandfec=1).
    assert.equal(opusFmtp(view.answer).useinbandfec, "1", view.answer);
    assert.equal(opusFmtp(view.answer).usedtx, "1", view.answer);
    console.log(`[audio] Chromium's offer: Opus fmtp ${JSON.stringify(opusFmtp(view.offer))}, audio/red offered: ${/^a=rtpmap:\d+ red\/48000/im.test(view.offer)}`);

    subscriber = new WeriftClient({ name: "sub", log: new Map(), keepPackets: true });
    await subscriber.connect(relay.signalUrl);
    await subscriber.join(ROOM);
    // Eight seconds of Ada's media timeline (two talk spurts and two pauses), clean.
    const span = (packets: ReturnType<typeof received>) => (packets.length < 2 ? 0 : (packets.at(-1)!.timestamp - packets[0]!.timestamp) >>> 0);
    await eventually("8 s of Ada's audio reached the subscriber", async () => span(received()), (ticks) => ticks >= 8 * 48_000, 60_000);
    const clean = [...received()];

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
    const lossFrom = received().length;
    const reported = await eventually("Ada's browser hears of the loss from the relay's receiver reports", () => page.evaluate(publisherView), (v) => (v.reportedFractionLost ?? 0) > 0.05, 30_000);
    console.log(`[audio] reported to Ada: fractionLost ${reported.reportedFractionLost}, packetsLost ${reported.reportedPacketsLost}`);
    const withLoss = await eventually(
      "most of Ada's speech frames carry in-band FEC",
      async () => lbrrShare(received().slice(lossFrom).slice(-150)),
      (r) => r.frames >= 50 && r.share > 0.5,
      90_000,
      1_000,
    );
    console.log(`[audio] with 20 % uplink loss: LBRR ${JSON.stringify(withLoss)}`);
    const link = (await forwarder.counters())[view.localAddress!];
    assert.ok((link?.up.lost ?? 0) > 0, "the forwarder dropped some of Ada's packets");
  });
});
