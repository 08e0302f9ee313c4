/**
 * The server API (docs/api.md) on a relay with keys, driven over real HTTP with real werift peers in
 * the room: each method does what it says and the participants see it; every refusal (no token, a bad
 * one, no admin grant, a token for another room, an unknown room, participant or track, a bad body)
 * has its status and a specific message, and changes nothing anyone can see.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { dirname, join as joinPath } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { mintToken, type RunningRelay, type SigningKey } from "@sfu-room/relay";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";
import type { ServerMessage } from "@sfu-room/protocol";
import { eventually, startTestRelay } from "../support/relay-harness.ts";

const KEY: SigningKey = { id: "api-key", secret: "the-secret-of-the-api-test-key-0123456789" };

const mint = (identity: string, video: Record<string, unknown>) => mintToken(KEY, { identity, video, ttlSeconds: 600 });
const joinToken = (identity: string) => mint(identity, { room: "r", roomJoin: true });
const adminOf = (room: string) => mint("backend", { room, roomAdmin: true });

describe("server API", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  const log: SentLog = new Map();
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
    relay = undefined;
  });

  async function start(keys: SigningKey[] = [KEY]): Promise<RunningRelay> {
    relay = await startTestRelay({ keys });
    return relay;
  }

  /** A relay with keys and room "r": bob publishes a microphone the watcher is offered; the state before any refusal. */
  async function watchedRoom() {
    await start();
    const watcher = await joined("watcher");
    const bob = await joined("bob");
    const [mic] = await bob.publish([{ kind: "audio" }]);
    await eventually("the watcher is offered bob's track", () => watcher.events.some((e) => e.type === "subscriber-offer" && e.tracks.some((t) => t.trackId === mic!.trackId)));
    return { watcher, bob, mic: mic!, before: relay!.stats(), seen: watcher.events.length };
  }

  async function joined(identity: string, room = "r"): Promise<WeriftClient> {
    const c = new WeriftClient({ name: identity, log });
    await c.connect(relay!.signalUrl);
    clients.push(c);
    await c.join(room, true, room === "r" ? await joinToken(identity) : await mint(identity, { room, roomJoin: true }));
    return c;
  }

  async function api(method: string, body: unknown, token: string | undefined, init: RequestInit = {}): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`http://127.0.0.1:${relay!.port}/api/${method}`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body), ...init });
    return { status: res.status, body: await res.json() };
  }

  const closedWith = (c: WeriftClient) => new Promise<{ code: number; reason: string }>((resolve) => c.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  const eventsOf = (c: WeriftClient, type: ServerMessage["type"]) => c.events.filter((e) => e.type === type);

  it("ListRooms and ListParticipants show the rooms and who is in them, with identities and tracks", async () => {
    await start();
    const alice = await joined("alice");
    const [mic] = await alice.publish([{ kind: "audio" }]);
    await joined("bob");
    await joined("carol", "s");
    const lister = await mint("backend", { roomList: true });
    expect(await api("ListRooms", {}, lister)).toEqual({ status: 200, body: { rooms: [{ name: "r", participants: 2, tracks: 1 }, { name: "s", participants: 1, tracks: 0 }] } });
    expect(await api("ListRooms", { names: ["s"] }, lister)).toMatchObject({ status: 200, body: { rooms: [{ name: "s" }] } });
    const { status, body } = await api("ListParticipants", { room: "r" }, await adminOf("r"));
    expect(status).toBe(200);
    expect(body.participants.map((p: any) => [p.identity, p.id, p.hidden, p.tracks.map((t: any) => t.id)])).toEqual([
      ["alice", alice.participantId, false, [mic!.trackId]],
      ["bob", clients[1]!.participantId, false, []],
    ]);
  });

  it("RemoveParticipant closes their session with a policy close and the reason; the others see them leave", async () => {
    await start();
    const watcher = await joined("watcher");
    const bob = await joined("bob");
    await bob.publish([{ kind: "audio" }]);
    await eventually("the watcher sees bob's track", () => eventsOf(watcher, "track-published").length === 1);
    const closed = closedWith(bob);
    expect(await api("RemoveParticipant", { room: "r", identity: "bob" }, await adminOf("r"))).toEqual({ status: 200, body: {} });
    expect(await closed).toEqual({ code: 1008, reason: "removed from the room by the server API" });
    await eventually("the watcher sees bob leave", () => eventsOf(watcher, "participant-left").length === 1);
    expect(eventsOf(watcher, "track-unpublished")).toHaveLength(1);
    expect(relay!.stats()).toMatchObject({ participants: 1, tracks: 0 });
  });

  it("RemoveParticipant of someone away sticks: their resume is told `removed`, and they are gone", async () => {
    await start();
    const watcher = await joined("watcher");
    const bob = await joined("bob");
    bob.dropSignaling();
    await eventually("the relay notices bob's closed WebSocket: bob is away", () => relay!.stats().sessions === 1);
    expect(eventsOf(watcher, "participant-left")).toHaveLength(0);
    expect(await api("RemoveParticipant", { room: "r", identity: "bob" }, await adminOf("r"))).toEqual({ status: 200, body: {} });
    await eventually("the watcher sees bob leave", () => eventsOf(watcher, "participant-left").length === 1);
    const reply = await bob.resume(relay!.signalUrl);
    expect(reply).toEqual({ type: "error", id: expect.any(String), code: "removed", message: 'you were removed from room "r": removed from the room by the server API; do not join again' });
    expect(relay!.stats()).toMatchObject({ participants: 1, resumes: 0, resumeRefusals: 1 });
  });

  it("MutePublishedTrack mutes and unmutes: the publisher and the others are told", async () => {
    await start();
    const watcher = await joined("watcher");
    const bob = await joined("bob");
    const [cam] = await bob.publish([{ kind: "video" }]);
    const admin = await adminOf("r");
    const mute = (muted: boolean) => api("MutePublishedTrack", { room: "r", identity: "bob", trackId: cam!.trackId, muted }, admin);
    expect(await mute(true)).toMatchObject({ status: 200, body: { track: { id: cam!.trackId, muted: true } } });
    const told = { type: "track-muted", trackId: cam!.trackId, participantId: bob.participantId, muted: true };
    await eventually("both hear of the mute", () => eventsOf(watcher, "track-muted").length === 1 && eventsOf(bob, "track-muted").length === 1);
    expect(eventsOf(watcher, "track-muted")).toEqual([told]);
    expect(eventsOf(bob, "track-muted")).toEqual([told]);
    expect(await mute(false)).toMatchObject({ status: 200, body: { track: { muted: false } } });
    await eventually("both hear of the unmute", () => eventsOf(watcher, "track-muted").length === 2 && eventsOf(bob, "track-muted").length === 2);
    expect(eventsOf(watcher, "track-muted")[1]).toMatchObject({ muted: false });
  });

  it("UpdateParticipant: everyone sees the new name and metadata, and a later joiner gets them in joined", async () => {
    await start();
    const watcher = await joined("watcher");
    const bob = await joined("bob");
    const reply = await api("UpdateParticipant", { room: "r", identity: "bob", name: "Bob (host)", metadata: '{"role":"host"}' }, await adminOf("r"));
    expect(reply).toMatchObject({ status: 200, body: { participant: { id: bob.participantId, identity: "bob", name: "Bob (host)", metadata: '{"role":"host"}' } } });
    const update = { type: "participant-updated", participant: { id: bob.participantId, name: "Bob (host)", metadata: '{"role":"host"}', tracks: [] } };
    await eventually("both get participant-updated", () => eventsOf(watcher, "participant-updated").length === 1 && eventsOf(bob, "participant-updated").length === 1);
    expect(eventsOf(watcher, "participant-updated")).toEqual([update]);
    expect(eventsOf(bob, "participant-updated")).toEqual([update]);
    const later = await joined("later");
    expect(later.joined!.participants.find((p) => p.id === bob.participantId)).toMatchObject({ name: "Bob (host)", metadata: '{"role":"host"}' });
  });

  it("DeleteRoom closes everyone's session with the reason; other rooms stay", async () => {
    await start();
    const a = await joined("a");
    const b = await joined("b");
    const other = await joined("other", "s");
    const closed = [closedWith(a), closedWith(b)];
    expect(await api("DeleteRoom", { room: "r" }, await adminOf("r"))).toEqual({ status: 200, body: {} });
    expect(await Promise.all(closed)).toEqual([0, 1].map(() => ({ code: 1008, reason: "the room was closed by the server API" })));
    expect(relay!.stats()).toMatchObject({ rooms: 1, participants: 1 });
    expect(other.ws.readyState).toBe(other.ws.OPEN);
  });

  it("refuses without a valid admin token, for another room, and for unknown names, with its status; nothing changes", async () => {
    const { watcher, bob, mic, before, seen } = await watchedRoom();
    const forged = await mintToken({ id: KEY.id, secret: "not-the-key-not-the-key-not-the-key-0" }, { identity: "x", video: { room: "r", roomAdmin: true }, ttlSeconds: 60 });
    const remove = { room: "r", identity: "bob" };
    const cases: [string, string, unknown, string | undefined, number, string, RegExp][] = [
      ["no token", "RemoveParticipant", remove, undefined, 401, "unauthorized", /needs an admin token: send Authorization: Bearer/],
      ["a forged token", "RemoveParticipant", remove, forged, 401, "unauthorized", /signature does not verify with key "api-key"/],
      ["a participant's token", "RemoveParticipant", remove, await joinToken("bob"), 403, "forbidden", /roomAdmin true for room "r"/],
      ["an admin token for another room", "RemoveParticipant", remove, await adminOf("s"), 403, "forbidden", /administers room "s", not "r"/],
      ["ListRooms with a room admin token", "ListRooms", {}, await adminOf("r"), 403, "forbidden", /roomList true/],
      ["an unknown room", "ListParticipants", { room: "nowhere" }, await adminOf("nowhere"), 404, "unknown-room", /no room "nowhere"/],
      ["an unknown participant", "RemoveParticipant", { room: "r", identity: "zed" }, await adminOf("r"), 404, "unknown-participant", /nobody with identity "zed"/],
      ["someone else's track", "MutePublishedTrack", { room: "r", identity: "watcher", trackId: mic.trackId, muted: true }, await adminOf("r"), 404, "unknown-track", /"watcher" publishes no track/],
      ["an unknown method", "KickEveryone", {}, await adminOf("r"), 404, "unknown-method", /methods are ListRooms, ListParticipants/],
    ];
    for (const [what, method, body, token, status, error, message] of cases) {
      const reply = await api(method, body, token);
      expect({ what, status: reply.status, error: reply.body.error }).toEqual({ what, status, error });
      expect(reply.body.message, what).toMatch(message);
    }
    expect(relay!.stats()).toEqual(before);
    expect(watcher.events.slice(seen)).toEqual([]);
    expect(bob.ws.readyState).toBe(bob.ws.OPEN);
  });

  it("refuses malformed bodies with 400 and what is wrong; nothing changes", async () => {
    const { watcher, bob, mic, before, seen } = await watchedRoom();
    const admin = await adminOf("r");
    const cases: [string, unknown, string, RegExp][] = [
      ["RemoveParticipant", "{not json", "bad-json", /the body is not JSON/],
      ["RemoveParticipant", { room: "r" }, "bad-request", /^RemoveParticipant: identity is missing$/],
      ["RemoveParticipant", { room: "r", identity: "bob", reason: "x" }, "bad-request", /unknown field "reason"/],
      ["MutePublishedTrack", { room: "r", identity: "bob", trackId: mic.trackId, muted: "yes" }, "bad-request", /muted: Invalid type: Expected boolean/],
      ["ListParticipants", { room: "../etc" }, "bad-request", /room: a room name is 1-64 characters/],
      ["UpdateParticipant", { room: "r", identity: "bob" }, "bad-request", /give name or metadata/],
      ["UpdateParticipant", { room: "r", identity: "bob", metadata: "x".repeat(5000) }, "bad-request", /metadata: /],
      ["DeleteRoom", 42, "bad-request", /Expected Object but received 42/],
    ];
    for (const [method, body, error, message] of cases) {
      const reply = await api(method, body, admin);
      expect({ method, status: reply.status, error: reply.body.error }).toEqual({ method, status: 400, error });
      expect(reply.body.message, method).toMatch(message);
    }
    const huge = await api("UpdateParticipant", { room: "r", identity: "bob", metadata: "x".repeat(20_000) }, admin);
    expect(huge).toMatchObject({ status: 413, body: { error: "too-large" } });
    expect((await fetch(`http://127.0.0.1:${relay!.port}/api/ListRooms`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(405);
    expect(relay!.stats()).toEqual(before);
    expect(watcher.events.slice(seen)).toEqual([]);
  });

  it("sfu-relay token mints admin tokens the API accepts", async () => {
    await start();
    await joined("alice");
    const bin = joinPath(dirname(fileURLToPath(import.meta.url)), "..", "..", "packages", "relay", "bin", "sfu-relay.mjs");
    // Run asynchronously: a synchronous spawn would stall the in-process relay for seconds, and alice's
    // connection with it (she was then dropped as lost, and the room with her).
    const cli = async (...args: string[]) => (await promisify(execFile)(process.execPath, [bin, "token", "--identity", "backend", ...args], { env: { ...process.env, SFU_KEYS: `${KEY.id}:${KEY.secret}` }, encoding: "utf8" })).stdout.trim();
    expect(await api("ListRooms", {}, await cli("--room-list", "true"))).toMatchObject({ status: 200, body: { rooms: [{ name: "r", participants: 1 }] } });
    const admin = await cli("--room", "r", "--room-join", "false", "--room-admin", "true");
    expect(await api("ListParticipants", { room: "r" }, admin)).toMatchObject({ status: 200, body: { participants: [{ identity: "alice" }] } });
  });

  it("on a relay without keys the API is off: 401 saying so", async () => {
    await start([]);
    const reply = await api("ListRooms", {}, await mint("backend", { roomList: true }));
    expect(reply).toEqual({ status: 401, body: { error: "unauthorized", message: expect.stringMatching(/runs open \(no --keys\).*start it with --keys/) } });
  });
});
