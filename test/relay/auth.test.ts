/**
 * Access tokens (docs/auth.md) on a relay with keys: every bad token is refused with `unauthorized` and
 * its reason before anything changes; each missing grant is refused with `forbidden` while the rest
 * works; hidden participants receive but are never seen. Tokens here are signed with node:crypto's HMAC,
 * as any backend's JWT library would, except where the relay's own minting is what is tested.
 */
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { dirname, join as joinPath } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningRelay, type SigningKey } from "@sfu-room/relay";
import { Pacer, type SentLog, WeriftClient } from "@sfu-room/test-peer";
import type { ServerMessage } from "@sfu-room/protocol";
import { eventually, sleep, startTestRelay } from "../support/relay-harness.ts";

const KEYS: SigningKey[] = [
  { id: "key-2026", secret: "s3cret-of-the-current-key-0123456789" },
  { id: "key-2025", secret: "s3cret-of-the-previous-key-987654321" },
];

/** An HS256 JWT of `claims` signed with `secret`, built by hand. */
function jwt(claims: Record<string, unknown>, secret: string): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

const nowS = () => Math.floor(Date.now() / 1000);

/** A valid token for `room` (overrides: claims; video: grant fields), signed with the first key. */
function token(identity: string, video: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}, key = KEYS[0]!): string {
  return jwt({ iss: key.id, sub: identity, nbf: nowS(), exp: nowS() + 600, video: { room: "r", roomJoin: true, ...video }, ...overrides }, key.secret);
}

describe("access tokens", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  const log: SentLog = new Map();
  const pacer = new Pacer(() => clients);
  afterEach(async () => {
    await pacer.stop();
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
    relay = undefined;
  });

  async function client(name: string): Promise<WeriftClient> {
    relay ??= await startTestRelay({ keys: KEYS });
    const c = new WeriftClient({ name, log });
    await c.connect(relay.signalUrl);
    clients.push(c);
    return c;
  }

  async function joined(name: string, video: Record<string, unknown> = {}, autoSubscribe = true): Promise<WeriftClient> {
    const c = await client(name);
    await c.join("r", autoSubscribe, token(name, video));
    return c;
  }

  const join = (c: WeriftClient, tokenText: string | undefined) =>
    c.request({ type: "join", id: "j", room: "r", name: "n", autoSubscribe: true, ...(tokenText === undefined ? {} : { token: tokenText }) });

  it("refuses each bad token with unauthorized and its reason, changing nothing; the session may then join", async () => {
    const watcher = await joined("watcher");
    await watcher.publish([{ kind: "audio" }]);
    const refused = await client("refused");
    const before = relay!.stats();
    const seen = watcher.events.length;
    const cases: [string, string | undefined, RegExp][] = [
      ["no token", undefined, /this relay requires an access token/],
      ["a forged signature", jwt({ iss: KEYS[0]!.id, sub: "x", exp: nowS() + 600, video: { room: "r", roomJoin: true } }, "not-the-secret-not-the-secret-not"), /signature does not verify with key "key-2026"/],
      ["an unknown issuer", token("x", {}, { iss: "key-1999" }), /issuer "key-1999" is not one of this relay's keys/],
      ["an expired token", token("x", {}, { exp: nowS() - 60 }), /the token expired \(at .*\); get a new one/],
      ["a not-yet-valid token", token("x", {}, { nbf: nowS() + 60 }), /the token is not valid yet \(until .*\); check the clock/],
      ["a token for another room", token("x", { room: "other" }), /your token is for room "other", not "r"/],
      ["roomJoin false", token("x", { roomJoin: false }), /roomJoin false/],
      ["not a JWT", "hello", /not a JWT/],
      ["no identity", jwt({ iss: KEYS[0]!.id, exp: nowS() + 600, video: { room: "r", roomJoin: true } }, KEYS[0]!.secret), /"sub" claim is refused: it is missing/],
      ["a numeric identity", token("x", {}, { sub: 42 }), /"sub" claim \(the identity\) must be a non-empty string/],
    ];
    for (const [what, tokenText, message] of cases) {
      const reply = await join(refused, tokenText);
      expect(reply, what).toMatchObject({ type: "error", id: "j", code: "unauthorized" });
      expect(reply.type === "error" && reply.message, what).toMatch(message);
    }
    expect(relay!.stats()).toEqual(before);
    await sleep(200);
    expect(watcher.events.slice(seen)).toEqual([]);
    // The session stays open and unjoined: a good token (signed with the previous key: rotation) joins.
    const ok = await join(refused, token("refused", {}, {}, KEYS[1]));
    expect(ok).toMatchObject({ type: "joined", room: "r" });
    await eventually("the watcher sees the join", () => watcher.events.some((e) => e.type === "participant-joined"));
  });

  it("the token's name is what the others see", async () => {
    const a = await joined("a");
    const b = await client("b");
    expect(await b.join("r", true, token("bea", {}, { name: "Bea from the token" }))).toMatchObject({ type: "joined" });
    await eventually("a sees b", () => a.events.some((e) => e.type === "participant-joined"));
    const announced = a.events.find((e) => e.type === "participant-joined");
    expect(announced?.type === "participant-joined" && announced.participant.name).toBe("Bea from the token");
  });

  it("refuses each missing grant with forbidden while the rest works", async () => {
    const publisher = await joined("publisher");
    const [mic] = await publisher.publish([{ kind: "audio" }]);
    pacer.start();

    // canPublish false: publishing refused, receiving works.
    const listener = await joined("listener", { canPublish: false });
    await expect(listener.publish([{ kind: "audio" }])).rejects.toThrow(/"code":"forbidden".*canPublish false/);
    await eventually("the listener receives the microphone", () => (listener.received.get(mic!.trackId!)?.packets ?? 0) > 5);

    // A source not in canPublishSources: the camera is refused, the microphone publishes.
    const micOnly = await joined("mic-only", { canPublishSources: ["microphone"] });
    await expect(micOnly.publish([{ kind: "video" }])).rejects.toThrow(/"code":"forbidden".*not \\"camera\\"/);
    const [own] = await micOnly.publish([{ kind: "audio" }]);
    expect(own!.trackId).toBeDefined();

    // canSubscribe false: autoSubscribe brings nothing and subscribe is refused; publishing works.
    const deaf = await joined("deaf", { canSubscribe: false });
    const sub = await deaf.request({ type: "subscribe", id: "s1", trackId: mic!.trackId!, subscribe: true });
    expect(sub).toMatchObject({ type: "error", id: "s1", code: "forbidden" });
    const [deafMic] = await deaf.publish([{ kind: "audio" }]);
    await eventually("the publisher receives the deaf one's microphone", () => (publisher.received.get(deafMic!.trackId!)?.packets ?? 0) > 5);
    expect(deaf.received.size).toBe(0);

    // canPublishData false: the frame is refused and delivered to nobody; the others' data flows.
    const mute = await joined("mute", { canPublishData: false });
    await Promise.all([mute.dataReady(), publisher.dataReady()]);
    const refusal = mute.waitFor((m) => m.type === "error");
    mute.sendData("not allowed", { id: "d1" });
    expect(await refusal).toMatchObject({ type: "error", id: "d1", code: "forbidden" });
    publisher.sendData("allowed");
    await eventually("mute receives the publisher's data", () => mute.data.length === 1);
    await sleep(200);
    expect(publisher.data).toEqual([]);
  });

  it("a hidden participant receives media, and nobody sees them", async () => {
    const publisher = await joined("publisher");
    const [mic] = await publisher.publish([{ kind: "audio" }]);
    pacer.start();
    const hidden = await joined("hidden", { hidden: true });
    await eventually("the hidden one receives the microphone", () => (hidden.received.get(mic!.trackId!)?.packets ?? 0) > 5);
    expect(hidden.received.get(mic!.trackId!)!.mismatches).toBe(0);
    await expect(hidden.publish([{ kind: "audio" }])).rejects.toThrow(/"code":"forbidden".*hidden participants cannot publish/);

    const later = await client("later");
    const reply = await later.join("r", true, token("later"));
    expect(reply.participants.map((p) => p.name)).toEqual(["publisher"]);
    await hidden.leave();
    await sleep(300);
    const aboutHidden = (e: ServerMessage) =>
      (e.type === "participant-joined" && e.participant.id === hidden.participantId) || (e.type === "participant-left" && e.participantId === hidden.participantId);
    expect(publisher.events.filter(aboutHidden)).toEqual([]);
    expect(later.events.filter(aboutHidden)).toEqual([]);
    expect(hidden.events.some((e) => e.type === "participant-joined" && e.participant.name === "later")).toBe(true);
  });

  it("the same identity joining twice: the first session is closed with a policy code and its reason, then the second joins", async () => {
    const watcher = await joined("watcher");
    const first = await client("bob's laptop");
    await first.join("r", true, token("bob"));
    await first.publish([{ kind: "audio" }]);
    const firstId = first.participantId;
    const firstClosed = new Promise<{ code: number; reason: string }>((resolve) => first.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    await eventually("the watcher receives bob's track", () => watcher.events.some((e) => e.type === "track-published"));

    const second = await client("bob's phone");
    const reply = await second.join("r", true, token("bob"));
    // 1008: a policy close, which clients do not retry (so the first session does not fight back).
    expect(await firstClosed).toEqual({ code: 1008, reason: "another session with your identity joined this room" });
    expect(reply.participants.map((p) => p.name)).toEqual(["watcher"]);
    await eventually("the watcher sees bob's second session", () => watcher.events.some((e) => e.type === "participant-joined" && e.participant.id === second.participantId));
    const seen = watcher.events.filter((e) => e.type === "track-unpublished" || e.type === "participant-left" || e.type === "participant-joined").map((e) => e.type === "participant-joined" ? `joined:${e.participant.id}` : e.type === "participant-left" ? `left:${e.participantId}` : e.type);
    expect(seen).toEqual(["joined:" + firstId, "track-unpublished", `left:${firstId}`, `joined:${second.participantId}`]);
    expect(relay!.stats()).toMatchObject({ participants: 2, tracks: 0 });
  });

  it("a refreshed token keeps the session: same participant, its track flowing; new grants apply; a bad one is refused", async () => {
    const watcher = await joined("watcher");
    const c = await client("bob");
    await c.join("r", true, token("bob", {}, { exp: nowS() + 30 }));
    const [mic] = await c.publish([{ kind: "audio" }]);
    pacer.start();
    await eventually("the watcher receives bob's microphone", () => (watcher.received.get(mic!.trackId!)?.packets ?? 0) > 5);
    const seen = watcher.events.length;
    const refresh = (tokenText: string) => c.request({ type: "refresh-token", id: "rt", token: tokenText });

    // Fewer grants that leave the running microphone allowed: it stays, a camera is refused.
    expect(await refresh(token("bob", { canPublishSources: ["microphone"] }, { exp: nowS() + 3600 }))).toEqual({ type: "ok", id: "rt" });
    await expect(c.publish([{ kind: "video" }])).rejects.toThrow(/"code":"forbidden".*canPublishSources/);

    const bad: [string, RegExp][] = [
      [token("mallory"), /the new token is for identity "mallory", this session is "bob"/],
      [token("bob", { room: "other" }), /your token is for room "other", not "r"/],
      [token("bob", {}, { exp: nowS() - 60 }), /the token expired/],
      [jwt({ iss: KEYS[0]!.id, sub: "bob", exp: nowS() + 600, video: { room: "r", roomJoin: true } }, "not-the-secret-not-the-secret-not"), /signature does not verify/],
    ];
    for (const [tokenText, message] of bad) {
      expect(await refresh(tokenText)).toMatchObject({ type: "error", id: "rt", code: "unauthorized", message: expect.stringMatching(message) });
    }
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    expect(watcher.events.slice(seen)).toEqual([]); // nobody else heard of any of it
    expect(relay!.stats()).toMatchObject({ participants: 2, tracks: 1 });
    const received = watcher.received.get(mic!.trackId!)!;
    const before = received.packets;
    await eventually("bob's microphone keeps flowing", () => received.packets > before + 10);
    expect(received.mismatches).toBe(0);
  });

  it("a refreshed token without canPublish unpublishes the running track: the others and the publisher are told; without canSubscribe the subscriptions end", async () => {
    const watcher = await joined("watcher");
    const c = await client("bob");
    await c.join("r", true, token("bob"));
    const [mic] = await c.publish([{ kind: "audio" }]);
    pacer.start();
    await eventually("the watcher receives bob's microphone", () => (watcher.received.get(mic!.trackId!)?.packets ?? 0) > 5);
    await eventually("the relay counts the watcher's subscription", () => relay!.stats().subscriptions === 1);

    expect(await c.request({ type: "refresh-token", id: "rt", token: token("bob", { canPublish: false }) })).toEqual({ type: "ok", id: "rt" });
    const gone = { type: "track-unpublished", trackId: mic!.trackId, participantId: c.participantId };
    await eventually("both hear that bob's microphone is gone", () => watcher.events.some((e) => e.type === "track-unpublished") && c.events.some((e) => e.type === "track-unpublished"));
    expect(watcher.events.filter((e) => e.type === "track-unpublished")).toEqual([gone]);
    expect(c.events.filter((e) => e.type === "track-unpublished")).toEqual([gone]);
    expect(relay!.stats()).toMatchObject({ participants: 2, tracks: 0, subscriptions: 0 });
    expect(c.ws.readyState).toBe(c.ws.OPEN); // the session stays

    const [watcherMic] = await watcher.publish([{ kind: "audio" }]);
    await eventually("bob receives the watcher's microphone", () => (c.received.get(watcherMic!.trackId!)?.packets ?? 0) > 5);
    expect(await c.request({ type: "refresh-token", id: "rt2", token: token("bob", { canPublish: false, canSubscribe: false }) })).toEqual({ type: "ok", id: "rt2" });
    await eventually("bob's subscription ends", () => relay!.stats().subscriptions === 0);
    await eventually("bob's subscriber connection is renegotiated without it", () => c.events.some((e) => e.type === "subscriber-offer" && e.tracks.length === 0));
  });

  it("sfu-relay token mints a token that joins", async () => {
    const bin = joinPath(dirname(fileURLToPath(import.meta.url)), "..", "..", "packages", "relay", "bin", "sfu-relay.mjs");
    const keys = KEYS.map((k) => `${k.id}:${k.secret}`).join(",");
    const minted = execFileSync(process.execPath, [bin, "token", "--room", "r", "--identity", "cli", "--name", "From CLI", "--ttl", "5m"], {
      env: { ...process.env, SFU_KEYS: keys }, encoding: "utf8",
    }).trim();
    const c = await client("cli");
    expect(await c.join("r", true, minted)).toMatchObject({ type: "joined", room: "r" });
    const elsewhere = await client("elsewhere");
    const refused = await elsewhere.request({ type: "join", id: "j", room: "other", name: "x", autoSubscribe: true, token: minted });
    expect(refused).toMatchObject({ type: "error", code: "unauthorized" });
  });
});
