/**
 * A Chromium publisher (issue 14: the SRTP profile a browser negotiates, measured too): Debian's
 * Chromium, headless, its fake camera (1280x720, 30 fps) and microphone, publishing to the relay or to
 * Janus VideoRoom. The harness speaks each server's signaling (the relay's protocol over WebSocket,
 * Janus's API) and hands SDP to the page, whose RTCPeerConnections are the only part that runs in the
 * browser. It serves measurement windows as a load generator does (window.ts): `pause` sets its
 * encodings inactive (no RTP at all), `resume` active again, `snapshot` counts the media packets it sent
 * (getStats: packetsSent less retransmissions).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import WebSocket from "ws";
import { CHROMIUM_PATH, chromiumArgs } from "../../test/browser/support/browsers.mjs";
import { JanusSession } from "./janus-api.ts";
import type { FeedId, Target } from "./peers.ts";
import type { WorkerRequest, Snapshot } from "./worker.ts";

/** The page's side: plain JavaScript, evaluated in an empty page of a local origin (getUserMedia needs a secure one). */
const PAGE_SCRIPT = `
window.bench = {
  async offer() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720, frameRate: 30 } });
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    this.pc = pc;
    this.senders = stream.getTracks().map((t) => pc.addTransceiver(t, { direction: "sendonly" }).sender);
    await pc.setLocalDescription();
    await this.gathered(pc);
    return { sdp: pc.localDescription.sdp, tracks: pc.getTransceivers().map((t) => ({ mid: t.mid, kind: t.sender.track.kind })) };
  },
  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  },
  /** The relay's subscriber connection (every participant has one): answered, it carries nothing here. */
  async answerOffer(sdp) {
    this.sub ??= new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    await this.sub.setRemoteDescription({ type: "offer", sdp });
    await this.sub.setLocalDescription();
    await this.gathered(this.sub);
    return this.sub.localDescription.sdp;
  },
  gathered(pc) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    });
  },
  async connected(timeoutMs) {
    const deadline = performance.now() + timeoutMs;
    while (this.pc.connectionState !== "connected") {
      if (performance.now() > deadline) throw new Error("publisher connection " + this.pc.connectionState + " after " + timeoutMs + " ms");
      await new Promise((r) => setTimeout(r, 50));
    }
  },
  async active(on) {
    for (const sender of this.senders) {
      const p = sender.getParameters();
      for (const e of p.encodings) e.active = on;
      await sender.setParameters(p);
    }
  },
  async stats() {
    const out = { audio: 0, video: 0, srtpCipher: "", width: 0, height: 0 };
    (await this.pc.getStats()).forEach((s) => {
      if (s.type === "outbound-rtp") {
        out[s.kind] += s.packetsSent - (s.retransmittedPacketsSent || 0);
        if (s.kind === "video") { out.width = s.frameWidth || 0; out.height = s.frameHeight || 0; }
      }
      if (s.type === "transport" && s.srtpCipher) out.srtpCipher = s.srtpCipher;
    });
    return out;
  },
};
`;

interface PageStats {
  audio: number;
  video: number;
  /** The SRTP profile of the publisher connection, as Chromium names it (e.g. AEAD_AES_128_GCM). */
  srtpCipher: string;
  width: number;
  height: number;
}

export class BrowserPublisher {
  readonly name = "chromium";
  feedId: FeedId | undefined;
  #browser: Browser | undefined;
  #page: Page | undefined;
  #site: Server | undefined;
  #relay: WebSocket | undefined;
  #janus: JanusSession | undefined;
  #pid = 0;

  private constructor() {}

  /** Starts Chromium and publishes its camera and microphone to `target` in `room`. */
  static async start(target: Target, room: string, timeoutMs: number): Promise<BrowserPublisher> {
    const p = new BrowserPublisher();
    try {
      await p.#open();
      await p.#publish(target, room, timeoutMs);
    } catch (e) {
      await p.close();
      throw e;
    }
    return p;
  }

  /** Chromium's browser process (its renderer and GPU processes are its children). */
  get pid(): number {
    return this.#pid;
  }

  /** The figures of its connection: packets sent, the SRTP profile, the frame size sent. */
  stats(): Promise<PageStats> {
    return this.#page!.evaluate("bench.stats()") as Promise<PageStats>;
  }

  /** The window's ops (window.ts), as a load generator answers them. */
  async call<T = unknown>(req: WorkerRequest): Promise<T> {
    const page = this.#page!;
    switch (req.op) {
      case "pause":
        await page.evaluate("bench.active(false)");
        return {} as T;
      case "resume":
        await page.evaluate("bench.active(true)");
        return {} as T;
      case "snapshot": {
        const s = await this.stats();
        const snapshot: Snapshot = { sent: { audio: s.audio, video: s.video }, recv: { audio: 0, video: 0, other: 0, duplicates: 0 }, receivers: 0, latency: undefined };
        return snapshot as T;
      }
      default:
        return {} as T;
    }
  }

  async close(): Promise<void> {
    this.#relay?.close();
    await this.#janus?.close().catch(() => undefined);
    await this.#browser?.close().catch(() => undefined);
    await new Promise<void>((resolve) => (this.#site ? this.#site.close(() => resolve()) : resolve()));
  }

  async #open(): Promise<void> {
    // An empty page on 127.0.0.1: a secure context, so getUserMedia is there.
    this.#site = createServer((_req, res) => res.end("<!doctype html><title>bench publisher</title>"));
    await new Promise<void>((resolve) => this.#site!.listen(0, "127.0.0.1", resolve));
    const { port } = this.#site.address() as AddressInfo;
    this.#browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: chromiumArgs() });
    this.#pid = this.#browser.process()?.pid ?? 0;
    this.#page = await this.#browser.newPage();
    await this.#page.goto(`http://127.0.0.1:${port}/`);
    await this.#page.evaluate(PAGE_SCRIPT);
  }

  async #publish(target: Target, room: string, timeoutMs: number): Promise<void> {
    const page = this.#page!;
    const offer = (await page.evaluate("bench.offer()")) as { sdp: string; tracks: Array<{ mid: string; kind: "audio" | "video" }> };
    const answer = target.server === "relay" ? await this.#publishToRelay(target.url, room, offer) : await this.#publishToJanus(target.url, room, offer.sdp);
    await page.evaluate(`bench.answer(${JSON.stringify(answer)})`);
    await page.evaluate(`bench.connected(${timeoutMs})`);
  }

  /** The relay's protocol (docs/protocol.md): join, publish-offer; every subscriber offer answered from the page. */
  async #publishToRelay(url: string, room: string, offer: { sdp: string; tracks: Array<{ mid: string; kind: "audio" | "video" }> }): Promise<string> {
    const ws = new WebSocket(url);
    this.#relay = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const replies = new Map<string, (m: Record<string, unknown>) => void>();
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      if (typeof m.id === "string") replies.get(m.id)?.(m);
      if (m.type === "subscriber-offer") {
        void (this.#page!.evaluate(`bench.answerOffer(${JSON.stringify(m.sdp)})`) as Promise<string>)
          .then((sdp) => ws.send(JSON.stringify({ type: "subscriber-answer", offerId: m.offerId, sdp })))
          .catch(() => undefined);
      }
    });
    const request = (message: Record<string, unknown> & { id: string }) =>
      new Promise<Record<string, unknown>>((resolve) => {
        replies.set(message.id, resolve);
        ws.send(JSON.stringify(message));
      });
    const joined = await request({ type: "join", id: "j1", room, name: "chromium", autoSubscribe: false });
    if (joined.type !== "joined") throw new Error(`relay join: ${JSON.stringify(joined)}`);
    this.feedId = (joined as { participantId: string }).participantId;
    const tracks = offer.tracks.map((t) => ({ mid: t.mid, kind: t.kind, source: t.kind === "audio" ? "microphone" : "camera" }));
    const reply = await request({ type: "publish-offer", id: "p1", sdp: offer.sdp, tracks });
    if (reply.type !== "publish-answer") throw new Error(`relay publish: ${JSON.stringify(reply)}`);
    return reply.sdp as string;
  }

  /** Janus VideoRoom: join as publisher, publish with the offer. */
  async #publishToJanus(url: string, room: string, sdp: string): Promise<string> {
    this.#janus = await JanusSession.connect(url);
    const handle = await this.#janus.attach();
    const joined = await handle.message({ request: "join", ptype: "publisher", room: Number(room), display: "chromium" });
    this.feedId = joined.data.id as number;
    const reply = await handle.message({ request: "publish", audio: true, video: true }, { type: "offer", sdp });
    if (!reply.jsep) throw new Error(`Janus publish: no answer (${JSON.stringify(reply.data)})`);
    await handle.trickleDone();
    return reply.jsep.sdp;
  }
}
