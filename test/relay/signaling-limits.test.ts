/**
 * What one hostile or broken client can cost the relay at the signaling endpoint: sockets that never
 * join, too many sockets from one address, a client that stops reading, pages from foreign origins,
 * and SDP far beyond what the relay could accept. Each is refused or cut off with a reason the client
 * can read, while two other participants keep a call going undisturbed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { RelayConfig, RunningRelay } from "@sfu-room/relay";
import { Call } from "../support/call.ts";
import { eventually, joinClient, resumeWindow, startTestRelay } from "../support/relay-harness.ts";
import { WeriftClient } from "@sfu-room/test-peer";

/** How an upgrade attempt ended: opened, refused over HTTP (status and body), or closed (code and reason). */
type Outcome = { opened: WebSocket } | { status: number; body: string };

function tryOpen(url: string, headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => resolve({ opened: ws }));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once("error", (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  });
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: 1006, reason: "" });
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function withRelay(overrides: Partial<RelayConfig>, body: (relay: RunningRelay, call: Call) => Promise<void>): Promise<void> {
  const relay = await startTestRelay(overrides);
  const call = new Call();
  try {
    await call.start(relay);
    await body(relay, call);
    await call.undisturbed();
  } finally {
    await call.stop();
    await relay.close();
  }
}

describe("signaling limits", () => {
  it("a socket that does not join within the join timeout is closed with a reason; one that joins stays", async () => {
    await withRelay({ joinTimeoutMs: 400 }, async (relay) => {
      const idle = await tryOpen(relay.signalUrl);
      const chatty = await tryOpen(relay.signalUrl); // talks, but never manages a successful join
      const joiner = new WeriftClient({ name: "joiner", log: new Map() });
      await joiner.connect(relay.signalUrl);
      await joiner.join("call");
      if (!("opened" in idle) || !("opened" in chatty)) throw new Error("the sockets should open");
      const chattyClosed = closed(chatty.opened);
      chatty.opened.send(JSON.stringify({ type: "join", id: "j", room: "../nope" }));
      chatty.opened.send(JSON.stringify({ type: "mute", id: "m", trackId: "T", muted: true }));
      for (const result of [await closed(idle.opened), await chattyClosed]) {
        expect(result.code).toBe(1008);
        expect(result.reason).toMatch(/no successful "join" within 400 ms of connecting/);
      }
      await eventually("the relay dropped both", () => relay.stats().sessions === 3);
      expect(joiner.ws.readyState).toBe(WebSocket.OPEN);
      expect((await joiner.request({ type: "leave", id: "bye" })).type).toBe("ok");
    });
  });

  it("sockets that have not joined yet are capped; joining frees the slot", async () => {
    await withRelay({ maxPendingSessions: 2 }, async (relay) => {
      const first = new WeriftClient({ name: "first", log: new Map() });
      await first.connect(relay.signalUrl);
      const second = await tryOpen(relay.signalUrl);
      const third = await tryOpen(relay.signalUrl);
      expect("opened" in second).toBe(true);
      if ("opened" in third) throw new Error("the third pending socket should be refused");
      expect(third.status).toBe(503);
      expect(third.body).toMatch(/2 WebSockets are waiting to join.*--max-pending-sessions/);
      await first.join("call"); // no longer pending
      const fourth = await tryOpen(relay.signalUrl);
      expect("opened" in fourth).toBe(true);
      for (const o of [second, fourth]) if ("opened" in o) o.opened.close();
      await first.close();
    });
  });

  it("one address may hold only so many sockets; the next is refused with 429 until one closes", async () => {
    // alice and bob already hold two of the four.
    await withRelay({ maxSessionsPerAddress: 4 }, async (relay) => {
      const a = await tryOpen(relay.signalUrl);
      const b = await tryOpen(relay.signalUrl);
      const over = await tryOpen(relay.signalUrl);
      if (!("opened" in a) || !("opened" in b)) throw new Error("the sockets under the limit should open");
      if ("opened" in over) throw new Error("the fifth socket from 127.0.0.1 should be refused");
      expect(over.status).toBe(429);
      expect(over.body).toMatch(/4 signaling WebSockets are already open from 127\.0\.0\.1.*--max-sessions-per-ip/);
      const aClosed = closed(a.opened);
      a.opened.close();
      await aClosed;
      await eventually("the relay counted the close", () => relay.stats().sessions === 3);
      const again = await tryOpen(relay.signalUrl);
      expect("opened" in again).toBe(true);
      for (const o of [b, again]) if ("opened" in o) o.opened.close();
    });
  });

  it("a page from a foreign origin is refused with 403 naming the flag; loopback pages and non-browsers are let in", async () => {
    await withRelay({}, async (relay) => {
      const foreign = await tryOpen(relay.signalUrl, { origin: "https://evil.example" });
      if ("opened" in foreign) throw new Error("a foreign origin should be refused");
      expect(foreign.status).toBe(403);
      expect(foreign.body).toMatch(/origin "https:\/\/evil\.example" may not open.*--allowed-origins https:\/\/evil\.example,loopback/);
      for (const origin of ["http://localhost:3000", "http://127.0.0.1:8080"]) {
        const page = await tryOpen(relay.signalUrl, { origin });
        if (!("opened" in page)) throw new Error(`${origin} should be let in: ${page.status} ${page.body}`);
        page.opened.close();
      }
    });
    const relay = await startTestRelay({ allowedOrigins: ["https://meet.example"] });
    try {
      const listed = await tryOpen(relay.signalUrl, { origin: "https://meet.example" });
      const local = await tryOpen(relay.signalUrl, { origin: "http://localhost:3000" });
      expect("opened" in listed).toBe(true);
      expect("status" in local && local.status).toBe(403);
      if ("opened" in listed) listed.opened.close();
    } finally {
      await relay.close();
    }
  });

  it("a joined client that stops reading is cut off, and the others neither wait for it nor notice", async () => {
    // A high rate limit, so that only the send-buffer limit can stop this client (and pings cannot).
    await withRelay({ maxMessagesPerSecond: 100_000, maxSendBufferBytes: 64 * 1024, pingIntervalMs: 600_000, ...resumeWindow(0) }, async (relay, call) => {
      const reader = await joinClient(relay, "call", "mallory", call.log);
      (reader.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      // Each frame is answered with a ~150-byte error nobody reads: megabytes pile up unless the relay stops.
      for (let i = 0; i < 100_000; i++) reader.sendRaw("x");
      await eventually("alice is told mallory left", () =>
        call.alice.events.some((e) => e.type === "participant-left" && e.participantId === reader.participantId),
      );
      await eventually("the relay released mallory", () => relay.stats().participants === 2 && relay.stats().sessions === 2);
      await reader.close();
    });
  });

  it("a 1,000-m-line publish offer and a subscriber answer with other m-lines than its offer are refused with bad-sdp naming the limit", async () => {
    await withRelay({}, async (relay, call) => {
      const mallory = await joinClient(relay, "call", "mallory", call.log);
      const reply = await mallory.request({ type: "publish-offer", id: "big", sdp: sdpWithMLines(1000), tracks: [{ mid: "0", kind: "audio" }] });
      expect(reply).toMatchObject({ type: "error", id: "big", code: "bad-sdp" });
      expect(reply.type === "error" && reply.message).toMatch(/the publish offer has 1000 m-lines; the relay accepts at most 72/);
      // Nothing changed: the same session publishes normally afterwards.
      await mallory.publish([{ kind: "audio" }]);
      expect(relay.stats().tracks).toBe(5);

      // A bare WebSocket client that joins gets the first subscriber offer (the data channels' m-line).
      const raw = await tryOpen(relay.signalUrl);
      if (!("opened" in raw)) throw new Error("the socket should open");
      const frames: Array<{ type: string; offerId?: number; code?: string; message?: string }> = [];
      raw.opened.on("message", (d) => frames.push(JSON.parse(d.toString())));
      raw.opened.send(JSON.stringify({ type: "join", id: "j", room: "call" }));
      await eventually("the subscriber offer arrives", () => frames.some((f) => f.type === "subscriber-offer"));
      const offer = frames.find((f) => f.type === "subscriber-offer")!;
      raw.opened.send(JSON.stringify({ type: "subscriber-answer", offerId: offer.offerId, sdp: sdpWithMLines(1000) }));
      await eventually("the answer is refused", () => frames.some((f) => f.type === "error"));
      expect(frames.find((f) => f.type === "error")).toMatchObject({ code: "bad-sdp" });
      expect(frames.find((f) => f.type === "error")!.message).toMatch(/answer has 1000 m-lines, but the offer it answers has \d+/);
      raw.opened.close();
      await mallory.close();
    });
  });
});

/** A syntactically plausible SDP with `n` minimal m-lines (mids 0..n-1): 1,000 of them fit a 64 KiB frame. */
function sdpWithMLines(n: number): string {
  const head = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=fingerprint:sha-256 00", "a=ice-ufrag:u", "a=ice-pwd:pppppppppppppppppppppp"];
  const media = Array.from({ length: n }, (_, i) => [`m=audio 9 RTP/AVP 0`, `a=mid:${i}`]).flat();
  return [...head, ...media, ""].join("\r\n");
}
