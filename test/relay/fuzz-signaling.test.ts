/**
 * A seeded, bounded fuzz of the signaling boundary: thousands of mutated messages of every client type,
 * random bytes, binary and oversized frames, mutated SDP in publish offers and subscriber answers, and
 * mutated data-channel frames, from strangers and from joined participants, while Alice and Bob keep a
 * call going. It fails if their media stops, if any error frame lacks a specific code (`internal`, or
 * a frame that does not validate), or if the relay crashes (an uncaught error fails the run).
 *
 * Reproduce a failure with the seed it prints: FUZZ_SEED=1234 vitest run test/relay/fuzz-signaling.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { encodeDataFrame, parseServerMessage, type ServerMessage } from "@sfu-room/protocol";
import type { RunningRelay } from "@sfu-room/relay";
import { Call } from "../support/call.ts";
import { eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import type { WeriftClient } from "@sfu-room/test-peer";

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const MAX_FRAME_BYTES = 16 * 1024;

/** mulberry32: a small seeded PRNG, so every run sends the same frames. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const STRINGS = [
  "", " ", "x", "\u202Eevil", "\uD800", "\u0000", "😀".repeat(40), "<script>alert(1)</script>", "../../etc/passwd",
  "%s%n", "a".repeat(70), "a".repeat(5000), "T", "P", "0", "-1", "null", "\r\n", "\u2066\u2069",
];

/** A value of a random type, sometimes huge or deeply nested. */
function randomValue(depth = 0): unknown {
  switch (int(depth > 2 ? 8 : 11)) {
    case 0: return null;
    case 1: return pick([0, -1, 1, 1.5, 2 ** 31, 2 ** 53 + 1, -1e308, 1e308, 65535]);
    case 2: return rand() < 0.5;
    case 3: case 4: return pick(STRINGS);
    case 5: return Array.from({ length: int(6) }, () => String.fromCodePoint(int(0x10ffff + 1) & ~0x800)).join("");
    case 6: return "x".repeat(int(3) * 10_000);
    case 7: return int(2) ? [] : {};
    case 8: return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    case 9: return Object.fromEntries(Array.from({ length: int(4) }, (_, i) => [pick(["type", "id", "sdp", "__proto__", `k${i}`]), randomValue(depth + 1)]));
    default: return nested(int(3) ? 50 : 1000);
  }
}

function nested(depth: number): unknown {
  let v: unknown = "deep";
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { v };
  return v;
}

/** One valid message of each client type; `trackIds` and `offerId` make some of them meaningful. */
function validMessages(ctx: { trackIds: string[]; offerId: number; sdp: string }): Record<string, unknown>[] {
  const trackId = pick([...ctx.trackIds, "Tnope"]);
  return [
    { type: "join", id: "j1", room: pick(["call", "fuzz", "other"]), name: pick(STRINGS).slice(0, 64), autoSubscribe: rand() < 0.5 },
    { type: "publish-offer", id: "p1", sdp: ctx.sdp, tracks: [{ mid: pick(["0", "1", "2"]), kind: pick(["audio", "video"]), source: "camera", layers: [] }] },
    { type: "unpublish", id: "u1", trackId },
    { type: "mute", id: "m1", trackId, muted: rand() < 0.5 },
    { type: "subscribe", id: "s1", trackId, subscribe: rand() < 0.5 },
    { type: "subscription-settings", id: "ss1", trackId, quality: pick(["auto", "low", "high"]), width: 320, height: 180, visible: rand() < 0.5 },
    { type: "subscriber-answer", offerId: ctx.offerId, sdp: ctx.sdp },
    { type: "request-keyframe", id: "k1", trackId },
    { type: "leave", id: "l1" },
  ];
}

/** A mutation of a valid message: fields dropped, retyped, made huge, nested, or added. */
function mutateMessage(message: Record<string, unknown>): unknown {
  const m: Record<string, unknown> = { ...message };
  const keys = Object.keys(m);
  for (let n = 1 + int(3); n > 0; n--) {
    const key = pick(keys);
    switch (int(6)) {
      case 0: delete m[key]; break;
      case 1: case 2: m[key] = randomValue(); break;
      case 3: m[pick(["extra", "constructor", "__proto__", "id"])] = randomValue(); break;
      case 4: m.type = pick(["join", "JOIN", "leave ", "publish_offer", "", "error", "joined", "subscriber-offer"]); break;
      default: if (Array.isArray(m.tracks)) m.tracks = Array.from({ length: int(40) }, () => ({ mid: randomValue(), kind: randomValue() })); break;
    }
  }
  return m;
}

/** A mutated SDP: lines dropped, duplicated, swapped, garbled, truncated, or m-lines multiplied. */
function mutateSdp(sdp: string): string {
  let lines = sdp.split("\r\n");
  for (let n = 1 + int(4); n > 0; n--) {
    if (lines.length === 0) lines.push("v=0");
    const i = int(lines.length);
    switch (int(9)) {
      case 0: lines.splice(i, 1); break;
      case 1: lines.splice(i, 0, lines[i] ?? ""); break;
      case 2: [lines[i], lines[0]] = [lines[0]!, lines[i]!]; break;
      case 3: lines[i] = (lines[i] ?? "").replace(/[0-9]+/, String(pick([0, -1, 65536, 2 ** 32, 1e21]))); break;
      case 4: lines[i] = (lines[i] ?? "").slice(0, int(12)) + pick(STRINGS); break;
      case 5: lines.splice(i, 0, `a=${pick(["extmap", "rtpmap", "fmtp", "ssrc", "rid", "simulcast", "candidate", "fingerprint"])}:${pick(STRINGS)}`); break;
      case 6: lines = lines.slice(0, i); break;
      case 7: {
        const m = lines.findIndex((l) => l.startsWith("m="));
        if (m >= 0) lines.push(...Array.from({ length: pick([1, 5, 80, 300]) }, (_, k) => [lines[m]!, `a=mid:z${k}`]).flat());
        break;
      }
      default: lines[i] = (lines[i] ?? "").replace("=", pick(["", "==", ":", "\u0000"])); break;
    }
  }
  const out = lines.join(pick(["\r\n", "\r\n", "\n"]));
  return out.length > 60_000 ? out.slice(0, 60_000) : out;
}

/** A frame that is not a message at all: random bytes (as text or binary), oversized, or near-JSON. */
function junkFrame(): string | Buffer {
  switch (int(6)) {
    case 0: return Buffer.from(Array.from({ length: int(200) }, () => int(256))); // binary
    case 1: return Array.from({ length: int(100) }, () => String.fromCharCode(int(0xd7ff))).join("");
    case 2: return "x".repeat(MAX_FRAME_BYTES + int(MAX_FRAME_BYTES)); // too-large (read and refused)
    case 3: return pick(["{", "[]", "null", "1", '"join"', "{}", '{"type":1}', '{"type":"join"', "\uFEFF{}", '{"type":"join","type":"leave"}']);
    case 4: { const depth = int(2) ? 100 : 20_000; return "[".repeat(depth) + "]".repeat(depth); }
    default: return JSON.stringify(randomValue());
  }
}

/** Mutations of a valid data frame: header garbage, wrong version, lengths lying, truncation. */
function mutateDataFrame(): Uint8Array {
  const valid = encodeDataFrame({ header: { topic: "chat", id: "d1" }, text: true, payload: new TextEncoder().encode("hi") });
  const bytes = Uint8Array.from(valid);
  switch (int(7)) {
    case 0: bytes[0] = int(256); return bytes;
    case 1: bytes[2] = int(256); bytes[3] = int(256); return bytes; // header length lies
    case 2: return bytes.slice(0, int(bytes.length));
    case 3: {
      const header = new TextEncoder().encode(JSON.stringify(mutateMessage({ topic: "chat", to: ["Pnope"], id: "d2", msg: 1, part: 0, parts: 2 })));
      const out = new Uint8Array(4 + header.length + 2);
      out.set([1, int(4), header.length >> 8, header.length & 0xff]);
      out.set(header, 4);
      return out;
    }
    case 4: bytes[1] = 1; return Uint8Array.from([...bytes.slice(0, -2), 0xff, 0xfe]); // "text" that is not UTF-8
    case 5: return Uint8Array.from(Array.from({ length: int(64) }, () => int(256)));
    default: {
      // Mostly small valid frames (delivered to everyone), sometimes one over the relay's 16 KiB limit.
      const size = int(10) ? int(1000) : 17_000;
      return encodeDataFrame({ header: { topic: pick(STRINGS).slice(0, 128) }, text: false, payload: new Uint8Array(size) });
    }
  }
}

/** Resolves when the request `id` is answered or the client's socket closes (the relay removed it). */
function replyOrClose(client: WeriftClient, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.ws.readyState !== WebSocket.OPEN) return resolve();
    client.ws.once("close", () => resolve());
    client.waitFor((m) => "id" in m && m.id === id, 20_000).then(() => resolve(), reject);
  });
}

/** A raw WebSocket client that records every frame and checks each against the protocol. */
class RawClient {
  ws: WebSocket | undefined;
  readonly frames: ServerMessage[] = [];
  offerId = 1;
  offerSdp = "";

  constructor(private readonly url: string, private readonly problems: string[]) {}

  async open(): Promise<void> {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      const parsed = isBinary ? undefined : parseServerMessage(data.toString());
      if (!parsed?.ok) return void this.problems.push(`relay sent an invalid frame: ${data.toString().slice(0, 200)}`);
      const m = parsed.message;
      this.frames.push(m);
      if (m.type === "error" && m.code === "internal") this.problems.push(`internal error: ${m.message}`);
      if (m.type === "subscriber-offer") [this.offerId, this.offerSdp] = [m.offerId, m.sdp];
    });
    ws.on("error", () => undefined); // a socket the relay closed (1009, 1007, join timeout): reopened by send
    await new Promise<void>((resolve) => {
      ws.once("open", () => resolve());
      ws.once("close", () => resolve());
    });
  }

  /** Sends a frame, reopening the socket first if the relay closed it. */
  async send(frame: string | Buffer): Promise<void> {
    if (this.ws?.readyState !== WebSocket.OPEN) await this.open();
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  async join(room: string): Promise<void> {
    await this.send(JSON.stringify({ type: "join", id: "fuzz-join", room, name: "fuzzer" }));
    await eventually("the fuzzer's join is answered", () => this.frames.some((f) => "id" in f && f.id === "fuzz-join"), 10_000);
  }

  close(): void {
    this.ws?.terminate();
  }
}

describe(`signaling fuzz (seed ${SEED})`, () => {
  let relay: RunningRelay;
  const call = new Call();
  const problems: string[] = [];
  let mallory: WeriftClient;
  let malloryOffer = "";

  beforeAll(async () => {
    // A high rate limit, so that the frames reach the parser instead of the rate limiter.
    relay = await startTestRelay({ maxFrameBytes: MAX_FRAME_BYTES, maxMessagesPerSecond: 5000, joinTimeoutMs: 3000 });
    await call.start(relay);
    mallory = await joinClient(relay, "call", "mallory", call.log);
    await mallory.publish([{ kind: "audio" }]);
    malloryOffer = mallory.publisher!.localDescription!.sdp;
    await mallory.dataReady();
  });

  afterAll(async () => {
    await mallory?.close();
    await call.stop();
    await relay?.close();
  });

  const trackIds = () => [...call.alice.outgoing, ...call.bob.outgoing, ...mallory.outgoing].map((t) => t.trackId);

  /** Sends `count` frames from `make`, in batches, letting the relay (and the call) breathe in between. */
  async function blast(count: number, make: (i: number) => Promise<void>): Promise<void> {
    for (let i = 0; i < count; i++) {
      await make(i);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10));
    }
    await call.mediaFlows();
  }

  it("strangers: random bytes, binary, oversized and mutated messages of every type", async () => {
    const strangers = await Promise.all([0, 1, 2].map(async () => {
      const c = new RawClient(relay.signalUrl, problems);
      await c.open();
      return c;
    }));
    await blast(3000, async (i) => {
      const c = strangers[i % strangers.length]!;
      const frame = rand() < 0.4 ? junkFrame() : JSON.stringify(mutateMessage(pick(validMessages({ trackIds: trackIds(), offerId: 1, sdp: malloryOffer }))));
      await c.send(frame);
    });
    const errors = strangers.flatMap((c) => c.frames.filter((f) => f.type === "error"));
    expect(errors.length).toBeGreaterThan(500); // the frames were read and answered
    for (const c of strangers) c.close();
    expect(problems).toEqual([]);
  });

  it("joined participants: mutated messages, and mutated SDP in subscriber answers", async () => {
    const joined: RawClient[] = [];
    for (let k = 0; k < 4; k++) {
      const c = new RawClient(relay.signalUrl, problems);
      await c.join(k % 2 ? "call" : "fuzz");
      joined.push(c);
    }
    await blast(2000, async (i) => {
      const c = joined[i % joined.length]!;
      if (i % 10 === 0) {
        // An answer to the offer in flight: first attempts usually fail to apply, later ones are stale.
        const answer = mutateSdp(c.offerSdp.replace("a=setup:actpass", "a=setup:active"));
        await c.send(JSON.stringify({ type: "subscriber-answer", offerId: pick([c.offerId, c.offerId, 0, 2 ** 40]), sdp: answer }));
        return;
      }
      const message = mutateMessage(pick(validMessages({ trackIds: trackIds(), offerId: c.offerId, sdp: mutateSdp(malloryOffer) })));
      await c.send(JSON.stringify(message));
      if (i % 200 === 199 && c.ws?.readyState !== WebSocket.OPEN) await c.join("fuzz"); // it left: join again
    });
    for (const c of joined) c.close();
    expect(problems).toEqual([]);
  });

  it("joined werift participants: mutated publish offers, and mutated data-channel frames", async () => {
    // Garbage offers may break the offerer's own publisher connection; the relay then removes it
    // ("connection lost"), which is its business alone: a new offerer takes over.
    const newOfferer = async () => {
      const c = await joinClient(relay, "call", "offerer", call.log);
      await c.publish([{ kind: "audio" }]);
      return c;
    };
    let offerer = await newOfferer();
    const offerers = [offerer];
    await blast(200, async (i) => {
      if (offerer.ws.readyState !== WebSocket.OPEN) offerers.push((offerer = await newOfferer()));
      // Mutations of the offerer's own offer: close enough to valid to get past the parser now and then.
      const sdp = mutateSdp(offerer.publisher!.localDescription!.sdp);
      const tracks = i % 3 === 0 ? [] : [{ mid: pick(["0", "1", "z0", "x"]), kind: pick(["audio", "video"] as const) }];
      const message = { type: "publish-offer" as const, id: `po${i}`, sdp, tracks };
      offerer.send(message);
      // Each offer that parses costs werift real work: keep a few in flight, not hundreds. (A frame over
      // the size limit gets `too-large` without an id: nothing to wait for.)
      if (i % 5 === 4 && JSON.stringify(message).length < MAX_FRAME_BYTES) await replyOrClose(offerer, message.id);
    });
    await blast(1500, async (i) => {
      mallory.sendRawData(mutateDataFrame(), rand() < 0.5);
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 10));
    });
    await eventually("data errors reach mallory", () => mallory.errors.some((e) => e.type === "error" && e.code === "bad-data"));
    for (const e of [...mallory.errors, ...offerers.flatMap((c) => c.errors)]) {
      if (e.type === "error" && e.code === "internal") problems.push(`internal error: ${e.message}`);
    }
    await Promise.all(offerers.map((c) => c.close()));
    expect(problems).toEqual([]);
  });

  it("after all that the relay is healthy and the call is undisturbed", async () => {
    await call.undisturbed();
    const health = await fetch(`http://127.0.0.1:${relay.port}/health`);
    expect(health.status).toBe(200);
    const late = await joinClient(relay, "call", "late", call.log);
    await eventually("a late joiner receives alice and bob", () => late.received.size >= 4 && [...late.received.values()].every((r) => r.packets > 5));
    await late.close();
  });
});
