/**
 * Bad input at the signaling boundary: each gets a specific error frame, changes nothing, leaves the
 * session usable, and never disturbs other participants (their media keeps flowing, intact).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorCode, ServerMessage } from "@sfu-room/protocol";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, grewBy, joinClient, packetCounts, resumeWindow, startTestRelay } from "../support/relay-harness.ts";
import { Pacer, type SentLog, WeriftClient } from "@sfu-room/test-peer";

describe("bad signaling input", () => {
  let relay: RunningRelay;
  const log: SentLog = new Map();
  let alice: WeriftClient;
  let bob: WeriftClient;
  let pacer: Pacer;

  beforeAll(async () => {
    relay = await startTestRelay({ maxFrameBytes: 16 * 1024, maxMessagesPerSecond: 20, ...resumeWindow(0) });
    alice = await joinClient(relay, "calm", "alice", log);
    bob = await joinClient(relay, "calm", "bob", log);
    await alice.publish([{ kind: "audio" }, { kind: "video" }]);
    await bob.publish([{ kind: "audio" }, { kind: "video" }]);
    pacer = new Pacer(() => [alice, bob]);
    pacer.start();
    await eventually("alice and bob receive each other", () => alice.received.size === 2 && bob.received.size === 2);
  });

  afterAll(async () => {
    await pacer.stop();
    await Promise.all([alice.close(), bob.close()]);
    await relay.close();
  });

  /** A fresh, connected (not joined) client. */
  async function stranger(): Promise<WeriftClient> {
    const c = new WeriftClient({ name: "mallory", log });
    await c.connect(relay.signalUrl);
    return c;
  }

  function nextError(c: WeriftClient): Promise<ServerMessage> {
    return c.waitFor((m) => m.type === "error", 10_000);
  }

  async function expectError(c: WeriftClient, send: () => void, code: ErrorCode, messagePart: RegExp): Promise<void> {
    const error = nextError(c);
    send();
    const m = await error;
    expect(m.type).toBe("error");
    if (m.type !== "error") return;
    expect(m.code).toBe(code);
    expect(m.message).toMatch(messagePart);
  }

  /** Alice and Bob keep receiving each other's four streams, growing, with no loss or corruption. */
  async function othersUnaffected(): Promise<void> {
    const before = packetCounts(alice, bob);
    await eventually("alice and bob still receive growing media", () => grewBy(before, 10));
    for (const r of [...alice.received.values(), ...bob.received.values()]) {
      expect(r.seqGaps).toBe(0);
      expect(r.mismatches).toBe(0);
      expect(r.ssrcs.size).toBe(1);
    }
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }

  it("frames that are not valid messages", async () => {
    const c = await stranger();
    await expectError(c, () => c.sendRaw("{not json"), "bad-json", /not JSON/);
    await expectError(c, () => c.sendRaw("[1,2,3]"), "bad-message", /JSON object/);
    await expectError(c, () => c.sendRaw(Buffer.from([1, 2, 3])), "bad-json", /binary frames/);
    await expectError(c, () => c.sendRaw(JSON.stringify({ type: "dance", id: "x" })), "unknown-type", /unknown message type "dance"/);
    await expectError(c, () => c.sendRaw(JSON.stringify({ id: "x" })), "bad-message", /no string `type`/);
    await expectError(c, () => c.sendRaw(JSON.stringify({ type: "join", id: "j1" })), "bad-message", /room/);
    await expectError(
      c, () => c.sendRaw(JSON.stringify({ type: "join", id: "j2", room: "x".repeat(20 * 1024) })), "too-large", /over the limit of 16384 bytes/,
    );
    await expectError(c, () => c.send({ type: "join", id: "j3", room: "../etc/passwd" }), "bad-room-name", /room/);
    await expectError(c, () => c.send({ type: "join", id: "j4", room: "" }), "bad-room-name", /room/);
    // After all that, the same session can still join normally.
    const joined = await c.join("calm");
    expect(joined.participants.map((p) => p.name).sort()).toEqual(["alice", "bob"]);
    await c.close();
    await othersUnaffected();
  });

  it("requests before join, and requests naming unknown or foreign tracks", async () => {
    const c = await stranger();
    await expectError(c, () => c.send({ type: "publish-offer", id: "p1", sdp: "v=0", tracks: [] }), "not-joined", /send "join" first/);
    await expectError(c, () => c.send({ type: "unpublish", id: "u0", trackId: "T1" }), "not-joined", /join/);
    await c.join("calm");
    await expectError(c, () => c.send({ type: "unpublish", id: "u1", trackId: "Tnope" }), "unknown-track", /Tnope/);
    await expectError(c, () => c.send({ type: "mute", id: "m1", trackId: "Tnope", muted: true }), "unknown-track", /Tnope/);
    await expectError(c, () => c.send({ type: "subscribe", id: "s1", trackId: "Tnope", subscribe: true }), "unknown-track", /Tnope/);
    await expectError(c, () => c.send({ type: "request-keyframe", id: "k1", trackId: "Tnope" }), "unknown-track", /Tnope/);
    const alicesVideo = alice.outgoing.find((t) => t.kind === "video")!.trackId;
    await expectError(c, () => c.send({ type: "unpublish", id: "u2", trackId: alicesVideo }), "not-your-track", /./);
    await expectError(c, () => c.send({ type: "join", id: "j9", room: "calm" }), "already-joined", /already joined/);
    await expectError(c, () => c.send({ type: "subscriber-answer", offerId: 999, sdp: "v=0" }), "stale-offer", /999/);
    await c.close();
    // Alice's track is still published and still reaching bob.
    expect(bob.events.some((e) => e.type === "track-unpublished")).toBe(false);
    await othersUnaffected();
  });

  it("invalid SDP offers", async () => {
    const c = await stranger();
    await c.join("calm");
    await expectError(
      c, () => c.send({ type: "publish-offer", id: "p1", sdp: "this is not sdp", tracks: [{ mid: "0", kind: "audio" }] }), "bad-sdp", /./,
    );
    // A real offer that does not contain the declared mid.
    const other = await stranger();
    await other.join("elsewhere");
    const [track] = await other.publish([{ kind: "audio" }]);
    const realOffer = other.publisher!.localDescription!.sdp;
    await expectError(
      c, () => c.send({ type: "publish-offer", id: "p2", sdp: realOffer, tracks: [{ mid: "7", kind: "audio" }] }), "bad-sdp", /no m-line with mid "7"/,
    );
    await expectError(
      c, () => c.send({ type: "publish-offer", id: "p3", sdp: realOffer, tracks: [{ mid: track!.mid, kind: "video" }] }), "bad-sdp", /declared as video/,
    );
    expect(relay.stats().tracks).toBe(5); // alice 2 + bob 2 + other 1: nothing of c's
    await Promise.all([c.close(), other.close()]);
    await othersUnaffected();
  });

  it("a flood is rate-limited for that session only, with one notice rather than one error per dropped frame", async () => {
    const c = await stranger();
    await c.join("calm");
    const errors: ServerMessage[] = [];
    c.ws.on("message", (d) => {
      const m = JSON.parse(d.toString()) as ServerMessage;
      if (m.type === "error") errors.push(m);
    });
    for (let i = 0; i < 200; i++) c.send({ type: "mute", id: `f${i}`, trackId: "Tnope", muted: true });
    // Frames are handled in order: once a later request is answered, the whole flood has been seen.
    let answered = false;
    for (let k = 0; !answered && k < 100; k++) {
      const reply = c.waitFor((m) => "id" in m && m.id === `after${k}`, 300).then(() => (answered = true), () => undefined);
      c.send({ type: "mute", id: `after${k}`, trackId: "Tnope", muted: true });
      await reply;
    }
    expect(answered).toBe(true);
    const limited = errors.filter((e) => e.type === "error" && e.code === "rate-limited");
    const handled = errors.filter((e) => e.type === "error" && e.code === "unknown-track" && e.id?.startsWith("f"));
    expect(handled.length).toBeGreaterThanOrEqual(30); // about the burst allowance (twice the rate of 20/s)
    expect(handled.length).toBeLessThan(100);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeLessThanOrEqual(3); // one per second of flooding, not one per dropped frame
    expect(limited[0]!.type === "error" && limited[0]!.message).toMatch(/more than 20 messages per second/);
    await c.close();
    await othersUnaffected();
  });

  it("garbage RTP payloads from one publisher disturb nobody and are not forwarded as video", async () => {
    const c = await stranger();
    await c.join("calm");
    const [video] = await c.publish([{ kind: "video" }]);
    await c.connected();
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 400; i++) {
      const len = i < 4 ? i : Math.floor(rand() * 1200);
      video!.sendGarbage(Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256))));
      if (i % 40 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await othersUnaffected();
    // Without a VP8 key frame nothing of that track reaches the subscribers (they would only get garbage).
    expect(alice.received.get(video!.trackId)?.packets ?? 0).toBe(0);
    expect(relay.stats().participants).toBe(3);
    await c.close();
  });

  it("HTTP: health, unknown paths, WebSocket on the wrong path", async () => {
    await eventually("earlier strangers are gone", () => relay.stats().sessions === 2);
    const base = `http://127.0.0.1:${relay.port}`;
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; participants: number };
    expect(body.status).toBe("ok");
    expect(body.participants).toBe(2);
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/\/ws/);
    // The element module: one ES module any page can load cross-origin.
    const element = await fetch(`${base}/sfu-room.js`);
    expect(element.status).toBe(200);
    expect(element.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(element.headers.get("access-control-allow-origin")).toBe("*");
    const code = await element.text();
    expect(code).toMatch(/customElements\.define\("sfu-room"/);
    expect(code).not.toMatch(/^import /m); // self-contained: Lit and the SDK are inside
    const ws = new WeriftClient({ log });
    await expect(ws.connect(`ws://127.0.0.1:${relay.port}/elsewhere`)).rejects.toThrow(/404/);
    await othersUnaffected();
  });
});
