/**
 * `--redis ... --cluster-rooms span`: a room whose participants reach two nodes lives on both, and each
 * node pipes its own participants' tracks once to the other (docs/scale.md). Real relays (one process
 * each), a real redis-server, werift peers: 2 publishers on node A and 2 on node B; everyone receives
 * all 4 byte for byte; a subscriber on B asking for the low layer of a simulcast track of A's makes A
 * forward only that layer across the pipe (A's publisher is told to send only it); leaving empties
 * both nodes and the room's set in Redis.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mintToken, type RelayConfig, type RunningRelay, type SigningKey } from "@sfu-room/relay";
import { Pacer, type SentLog, type SimulcastTrack, type WeriftClient } from "@sfu-room/test-peer";
import { callApi, eventually, joinClient, resumeWindow, startTestRelay } from "../support/relay-harness.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";

const PORTS_A: [number, number] = [24200, 24239];
const PORTS_B: [number, number] = [24240, 24279];
const TEST_TIMEOUT_MS = 120_000;

function node(id: string, redis: TestRedis, ports: [number, number], overrides: Partial<RelayConfig> = {}): Promise<RunningRelay> {
  return startTestRelay({ redisUrl: redis.url, nodeId: id, udpPortRange: ports, clusterRooms: "span", ...overrides });
}

async function cluster(httpPort: number): Promise<Record<string, unknown>> {
  const health = (await (await fetch(`http://127.0.0.1:${httpPort}/health`)).json()) as { cluster: Record<string, unknown> };
  return health.cluster;
}

/** The ids of the participants `client` was told are in the room (joined, then joins and leaves). */
function seen(client: WeriftClient): string[] {
  const ids = new Set<string>();
  for (const e of client.events) {
    if (e.type === "joined") for (const p of e.participants) ids.add(p.id);
    if (e.type === "participant-joined") ids.add(e.participant.id);
    if (e.type === "participant-left") ids.delete(e.participantId);
  }
  return [...ids].sort();
}

/** The ids of every track `publisher` sends (its synthetic tracks and its simulcast ones). */
function trackIds(publisher: WeriftClient): string[] {
  return [...publisher.outgoing.map((t) => t.trackId), ...publisher.simulcast.map((t) => t.trackId)];
}

function receivesAll(subscriber: WeriftClient, publisher: WeriftClient, packets: number): boolean {
  return trackIds(publisher).every((id) => (subscriber.received.get(id)?.packets ?? 0) > packets);
}

/** Packets received of each layer of a simulcast track (by the layer's tag). */
function perLayer(subscriber: WeriftClient, track: SimulcastTrack): number[] {
  return track.layers.map((l) => subscriber.received.get(track.trackId)?.indices.get(l.tag)?.size ?? 0);
}

describe("--cluster-rooms span: one room on two nodes", () => {
  let redis: TestRedis;
  let relays: RunningRelay[] = [];
  let clients: WeriftClient[] = [];
  let pacer: Pacer | undefined;
  let frames: NodeJS.Timeout | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  }, 300_000);
  afterAll(async () => {
    await redis?.close();
  });
  afterEach(async () => {
    clearInterval(frames);
    await pacer?.stop();
    pacer = undefined;
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await Promise.all(relays.map((r) => r.close()));
    relays = [];
    await (await redis.client()).flushAll();
  });

  /**
   * Alice joins room "span" through node `a`, Bea through node `b` (with a token each when `tokenFor`),
   * both publish `kinds`, the pacer runs: resolves once each receives the other's tracks.
   */
  async function pair(a: RunningRelay, b: RunningRelay, log: SentLog, kinds: Array<"audio" | "video"> = ["audio", "video"], tokenFor?: (name: string) => Promise<string>): Promise<[WeriftClient, WeriftClient]> {
    const pairOf: WeriftClient[] = [];
    for (const [relay, name] of [[a, "alice"], [b, "bea"]] as const) {
      const client = await joinClient(relay, "span", name, log, true, await tokenFor?.(name));
      clients.push(client);
      await client.publish(kinds.map((kind) => ({ kind })));
      pairOf.push(client);
    }
    const [alice, bea] = pairOf as [WeriftClient, WeriftClient];
    pacer = new Pacer(() => clients.filter((c) => c.ws.readyState === c.ws.OPEN));
    pacer.start();
    await eventually("alice and bea receive each other across the nodes", () => receivesAll(alice, bea, 30) && receivesAll(bea, alice, 30));
    return [alice, bea];
  }

  it.each([1, 2])("2 publishers on each node: everyone receives all 4 byte for byte; a low-layer wish on B makes A send only that layer across; leaving empties both nodes and Redis (node A with %i worker(s))", async (workersOfA) => {
    const a = await node("node-a", redis, PORTS_A, { workers: workersOfA });
    const b = await node("node-b", redis, PORTS_B);
    relays.push(a, b);
    const log: SentLog = new Map();
    const join = async (relay: RunningRelay, name: string) => {
      const client = await joinClient(relay, "span", name, log);
      clients.push(client);
      return client;
    };
    const alice = await join(a, "alice");
    const cam = await alice.publishSimulcast(["q", "h", "f"], [{ width: 320, height: 180 }, { width: 640, height: 360 }, { width: 1280, height: 720 }]);
    await alice.publish([{ kind: "audio" }]);
    const amir = await join(a, "amir");
    await amir.publish([{ kind: "audio" }, { kind: "video" }]);
    const bea = await join(b, "bea");
    await bea.publish([{ kind: "audio" }, { kind: "video" }]);
    const bo = await join(b, "bo");
    await bo.publish([{ kind: "audio" }, { kind: "video" }]);
    const everyone = [alice, amir, bea, bo];
    pacer = new Pacer(() => clients.filter((c) => c.ws.readyState === c.ws.OPEN));
    pacer.start();
    frames = setInterval(() => cam.sendFrame(), 20);

    await eventually("everyone receives the other three's tracks", () => everyone.every((s) => everyone.every((p) => p === s || receivesAll(s, p, 30))));
    // Each participant is on the node it connected to, nobody is proxied, and each node keeps one pipe
    // from the other (and runs the other's pipe into its room: hosted).
    for (const relay of [a, b]) {
      expect(await cluster(relay.port)).toMatchObject({ rooms: ["span"], roomsSpan: true, pipes: 1, proxiedSessions: 0, hostedSessions: 1 });
    }
    expect(await (await redis.client()).sMembers("sfu-room:span:span").then((m) => m.sort())).toEqual(["node-a", "node-b"]);
    for (const s of everyone) {
      expect(seen(s), `${s.options.name} sees the other three, and nobody else (no pipe)`).toEqual(everyone.filter((p) => p !== s).map((p) => p.participantId).sort());
      for (const p of everyone) {
        if (p === s) continue;
        for (const id of trackIds(p)) expect(s.received.get(id)!.mismatches, `${s.options.name} receives ${p.options.name}'s ${id} byte for byte`).toBe(0);
      }
    }

    // Data crosses too: a broadcast reaches everyone once, from its sender; a message to listed
    // participants reaches exactly them, on whichever node they are.
    await Promise.all(everyone.map((c) => c.dataReady()));
    alice.sendData("hello from A", { topic: "chat" });
    await eventually("amir, bea and bo receive alice's message", () => [amir, bea, bo].every((c) => c.data.length === 1));
    for (const c of [amir, bea, bo]) {
      expect(c.data[0]!.frame.header).toEqual({ topic: "chat", from: alice.participantId });
      expect(new TextDecoder().decode(c.data[0]!.frame.payload)).toBe("hello from A");
    }
    bea.sendData("for alice and bo", { to: [alice.participantId, bo.participantId], topic: "dm" });
    await eventually("alice and bo receive bea's message", () => alice.data.length === 1 && bo.data.length === 2);
    expect(alice.data[0]!.frame.header).toEqual({ topic: "dm", from: bea.participantId });
    await new Promise((r) => setTimeout(r, 300));
    expect([alice, amir, bea, bo].map((c) => c.data.length), "nobody else gets it, nobody gets anything twice").toEqual([1, 1, 1, 2]);

    // On A only the pipe to B is left watching alice's camera (amir unsubscribes), and on B only bea,
    // who asks for the low layer (bo unsubscribes): A is to send only the low layer across.
    for (const [who, trackId] of [[amir, cam.trackId], [bo, cam.trackId]] as const) {
      expect(await who.request({ type: "subscribe", id: `u-${who.options.name}`, trackId, subscribe: false })).toMatchObject({ type: "ok" });
    }
    expect(await bea.request({ type: "subscription-settings", id: "low", trackId: cam.trackId, quality: "low" })).toMatchObject({ type: "ok" });
    await eventually("alice is told only the low layer is wanted", () => [...cam.wanted].join() === "q");
    const before = perLayer(bea, cam);
    await eventually("bea receives more of the low layer", () => perLayer(bea, cam)[0]! > before[0]! + 50);
    const after = perLayer(bea, cam);
    expect([after[1]! - before[1]!, after[2]! - before[2]!], "nothing of the medium and high layers reaches B").toEqual([0, 0]);

    // Back to high: the pipe asks A for the top layer again.
    expect(await bea.request({ type: "subscription-settings", id: "high", trackId: cam.trackId, quality: "high" })).toMatchObject({ type: "ok" });
    await eventually("alice is told the high layer is wanted", () => [...cam.wanted].join() === "f");
    const high = perLayer(bea, cam)[2]!;
    await eventually("bea receives the high layer", () => perLayer(bea, cam)[2]! > high + 30);

    clearInterval(frames);
    await pacer.stop();
    pacer = undefined;
    for (const c of everyone) await c.leave();
    // Leaving is done once neither node counts anybody (mirrors and pipes included) and the room's set
    // in Redis is gone (a liveness limit).
    const c = await redis.client();
    const deadline = performance.now() + 20_000;
    while ((await a.readStats()).participants + (await b.readStats()).participants > 0 || (await c.keys("sfu-room:span:*")).length > 0) {
      if (performance.now() > deadline) throw new Error(`participants left on A ${(await a.readStats()).participants}, on B ${(await b.readStats()).participants}; keys ${JSON.stringify(await c.keys("sfu-room:*"))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await a.readStats()).peerConnections + (await b.readStats()).peerConnections, "no connection is left").toBe(0);
  }, TEST_TIMEOUT_MS);

  it("a node that stops takes its participants out of the room on the other node (its pipe ends); they come back through the other node and the call goes on", async () => {
    const a = await node("node-a", redis, PORTS_A);
    const b = await node("node-b", redis, PORTS_B);
    relays.push(a);
    const log: SentLog = new Map();
    const [alice, bea] = await pair(a, b, log);

    await b.close();
    await eventually("alice is told bea left (node B's pipe ended)", () => !seen(alice).includes(bea.participantId));
    expect(await cluster(a.port)).toMatchObject({ rooms: ["span"], pipes: 0, hostedSessions: 0 });
    expect(await (await redis.client()).sMembers("sfu-room:span:span")).toEqual(["node-a"]);

    // Bea comes back through node A (as the SDK does after its node went): one node, one room again.
    const again = await joinClient(a, "span", "bea", log);
    clients.push(again);
    await again.publish([{ kind: "audio" }, { kind: "video" }]);
    await eventually("alice and bea receive each other on node A", () => receivesAll(alice, again, 30) && receivesAll(again, alice, 30));
    expect(seen(alice)).toEqual([again.participantId]);
  }, TEST_TIMEOUT_MS);

  it.each([1, 2])("a participant whose socket drops stays in the room on both nodes through the resume window: its resume, through its node or the other, brings its media back, and nobody on the other node saw it leave (node A with %i worker(s))", async (workersOfA) => {
    const a = await node("node-a", redis, PORTS_A, { ...resumeWindow(15_000), workers: workersOfA });
    const b = await node("node-b", redis, PORTS_B, resumeWindow(15_000));
    relays.push(a, b);
    const log: SentLog = new Map();
    const [alice, bea] = await pair(a, b, log);

    // Bea is node B's only participant: her socket dropping must not take node B out of the room.
    bea.dropSignaling();
    await new Promise((r) => setTimeout(r, 2500)); // two heartbeats: a node that left the room would have closed its pipes by now
    expect(await cluster(b.port)).toMatchObject({ rooms: ["span"], pipes: 1 });
    const resumed = await bea.resume(b.signalUrl);
    expect(resumed.type, JSON.stringify(resumed)).toBe("resumed");
    const [fromBea, fromAlice] = [alice.received.get(trackIds(bea)[1]!)!.packets, bea.received.get(trackIds(alice)[1]!)!.packets];
    await eventually("media flows both ways after bea's resume", () => alice.received.get(trackIds(bea)[1]!)!.packets > fromBea + 30 && bea.received.get(trackIds(alice)[1]!)!.packets > fromAlice + 30);
    expect(alice.events.filter((e) => e.type === "participant-left"), "alice never saw bea leave").toEqual([]);

    // Her next reconnect lands on node A (a load balancer without stickiness): node A knows her as node
    // B's participant and proxies her resume there, so she is the same participant, her media on node B.
    bea.dropSignaling();
    const elsewhere = await bea.resume(a.signalUrl);
    expect(elsewhere.type, JSON.stringify(elsewhere)).toBe("resumed");
    const [fromBea2, fromAlice2] = [alice.received.get(trackIds(bea)[1]!)!.packets, bea.received.get(trackIds(alice)[1]!)!.packets];
    await eventually("media flows both ways after bea's resume through node A", () => alice.received.get(trackIds(bea)[1]!)!.packets > fromBea2 + 30 && bea.received.get(trackIds(alice)[1]!)!.packets > fromAlice2 + 30);
    expect(await cluster(a.port)).toMatchObject({ proxiedSessions: 1 });
    expect(await cluster(b.port)).toMatchObject({ hostedSessions: 2 }); // A's pipe and bea's session
    expect(alice.events.filter((e) => e.type === "participant-left"), "alice never saw bea leave").toEqual([]);
    expect(seen(alice)).toEqual([bea.participantId]);
  }, TEST_TIMEOUT_MS);

  it("with tokens: the pipes need none; the server API through either node sees the whole room once and acts on the node a participant is on", async () => {
    const key: SigningKey = { id: "span-key", secret: "the-secret-of-the-spanning-test-key-012" };
    const a = await node("node-a", redis, PORTS_A, { keys: [key] });
    const b = await node("node-b", redis, PORTS_B, { keys: [key] });
    relays.push(a, b);
    const token = (identity: string, video: Record<string, unknown>) => mintToken(key, { identity, video, ttlSeconds: 600 });
    const log: SentLog = new Map();
    const [alice, bea] = await pair(a, b, log, ["audio"], (name) => token(name, { room: "span", roomJoin: true }));

    const api = callApi;
    const admin = await token("backend", { room: "span", roomAdmin: true });
    for (const relay of [a, b]) {
      const rooms = await api(relay, "ListRooms", {}, await token("backend", { roomList: true }));
      expect((rooms.body.rooms as Array<{ name: string; participants: number; tracks: number }>).map((r) => [r.name, r.participants, r.tracks])).toEqual([["span", 2, 2]]);
      const listed = await api(relay, "ListParticipants", { room: "span" }, admin);
      expect((listed.body.participants as Array<{ identity: string }>).map((p) => p.identity).sort()).toEqual(["alice", "bea"]);
    }
    const closed = new Promise<number>((resolve) => alice.ws.once("close", (code) => resolve(code)));
    expect(await api(b, "RemoveParticipant", { room: "span", identity: "alice" }, admin)).toMatchObject({ status: 200 });
    expect(await closed, "alice (on node A) is removed, through node B").toBe(1008);
    await eventually("bea is told alice left", () => !seen(bea).includes(alice.participantId));
    const after = await api(a, "ListParticipants", { room: "span" }, admin);
    expect((after.body.participants as Array<{ identity: string }>).map((p) => p.identity)).toEqual(["bea"]);
    expect(await api(a, "RemoveParticipant", { room: "span", identity: "nobody" }, admin)).toMatchObject({ status: 404, body: { error: "unknown-participant" } });
  }, TEST_TIMEOUT_MS);
});
