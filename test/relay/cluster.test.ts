/**
 * `--redis`: relays as nodes of one cluster, with a real redis-server started by the test. A client
 * reaches its room through any node: its session is proxied to the node holding the room, and its
 * media goes to that node. The directory (room -> node) holds only live rooms, a node that stops
 * deletes its entries and its peers' sessions in its rooms reconnect, and a node that dies (SIGKILL)
 * is found by its expired registry entry: its rooms are taken over by the node the participants come
 * back through.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { mintToken, type RelayConfig, type RunningRelay, type SigningKey } from "@sfu-room/relay";
import { Pacer, type SentLog, WeriftClient } from "@sfu-room/test-peer";
import { WhipPublisher } from "@sfu-room/test-peer/whip";
import { candidatePorts } from "../support/hostile-datagrams.ts";
import { callApi, eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { Scrape } from "../support/scrape.ts";

const BIN = fileURLToPath(new URL("../../packages/relay/bin/sfu-relay.mjs", import.meta.url));
const PORTS_A: [number, number] = [24100, 24139];
const PORTS_B: [number, number] = [24140, 24179];
/** Relays, a Redis and peer connections start in each test: a liveness limit. */
const CLUSTER_TEST_TIMEOUT_MS = 120_000;

interface ClusterHealth {
  node: string;
  redis: string;
  rooms: string[];
  proxiedSessions: number;
  hostedSessions: number;
  nodes: Array<{ id: string }>;
}

async function cluster(httpPort: number): Promise<ClusterHealth> {
  const health = (await (await fetch(`http://127.0.0.1:${httpPort}/health`)).json()) as { cluster: ClusterHealth };
  return health.cluster;
}

function node(id: string, redis: TestRedis, ports: [number, number], overrides: Partial<RelayConfig> = {}): Promise<RunningRelay> {
  return startTestRelay({ redisUrl: redis.url, nodeId: id, udpPortRange: ports, ...overrides });
}

/** Every port the relay offered the client, on both its connections. */
function relayPorts(client: WeriftClient): number[] {
  return [client.publisher, client.subscriber].flatMap((pc) => (pc?.remoteDescription ? candidatePorts(pc.remoteDescription.sdp) : []));
}

function within(ports: number[], [lo, hi]: [number, number]): boolean {
  return ports.length > 0 && ports.every((p) => p >= lo && p <= hi);
}

/** Has `subscriber` had more than `packets` of each of `publisher`'s tracks? */
function receivesAll(subscriber: WeriftClient, publisher: WeriftClient, packets: number): boolean {
  return publisher.outgoing.length > 0 && publisher.outgoing.every((t) => (subscriber.received.get(t.trackId)?.packets ?? 0) > packets);
}

function expectIntact(subscriber: WeriftClient, publisher: WeriftClient): void {
  for (const t of publisher.outgoing) {
    const rec = subscriber.received.get(t.trackId);
    expect(rec, `${subscriber.options.name} receives ${publisher.options.name}'s ${t.kind}`).toBeDefined();
    expect(rec!.mismatches, "payloads byte for byte as sent").toBe(0);
  }
}

function closeCode(client: WeriftClient): Promise<number> {
  return new Promise((resolve) => client.ws.once("close", (code) => resolve(code)));
}

/** A publishing participant (audio + video) in `room` through `relay`, connected. */
async function publisher(relay: RunningRelay, room: string, name: string, log: SentLog): Promise<WeriftClient> {
  const client = await joinClient(relay, room, name, log);
  await client.publish([{ kind: "audio" }, { kind: "video" }]);
  return client;
}

/** Polls the async `check` until it holds, or throws with `what` and the last value after 20 s (a liveness limit). */
async function until<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  const deadline = performance.now() + 20_000;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function keys(redis: TestRedis, pattern: string): Promise<Record<string, string | null>> {
  const c = await redis.client();
  const found = await c.keys(pattern);
  const out: Record<string, string | null> = {};
  for (const k of found) out[k] = await c.get(k);
  return out;
}

describe("--redis: a cluster of relay nodes", () => {
  let redis: TestRedis;
  let relays: RunningRelay[] = [];
  let clients: WeriftClient[] = [];
  let pacer: Pacer | undefined;
  let child: ChildProcess | undefined;
  // A fresh machine installs redis-server from Debian first (apt: tens of seconds).
  beforeAll(async () => {
    redis = await startRedis();
  }, 300_000);
  afterAll(async () => {
    await redis?.close();
  });
  afterEach(async () => {
    await pacer?.stop();
    pacer = undefined;
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await Promise.all(relays.map((r) => r.close()));
    relays = [];
    child?.kill("SIGKILL");
    child = undefined;
    await (await redis.client()).flushAll();
  });

  /**
   * Alice publishes through `first` (the room's node, as the room's first participant), Bob through
   * `second`; the pacer runs; resolves once each receives the other's audio and video.
   */
  async function call(first: RunningRelay, second: RunningRelay, log: SentLog, packets = 30): Promise<[WeriftClient, WeriftClient]> {
    const alice = await publisher(first, "standup", "alice", log);
    const bob = await publisher(second, "standup", "bob", log);
    clients.push(alice, bob);
    await Promise.all([alice.connected(), bob.connected()]);
    pacer ??= new Pacer(() => clients.filter((c) => c.ws.readyState === c.ws.OPEN));
    pacer.start();
    await eventually("alice and bob receive each other", () => receivesAll(alice, bob, packets) && receivesAll(bob, alice, packets));
    return [alice, bob];
  }

  it.each([1, 2])("participants of one room joining through different nodes see each other's media byte for byte, from the room's node, and leave an empty directory (node A with %i worker(s))", async (workersOfA) => {
    const a = await node("node-a", redis, PORTS_A, { workers: workersOfA });
    const b = await node("node-b", redis, PORTS_B);
    relays.push(a, b);
    const log: SentLog = new Map();
    const [alice, bob] = await call(a, b, log, 50);
    expect(await keys(redis, "sfu-room:room:*")).toEqual({ "sfu-room:room:standup": "node-a" });
    // Bob's WebSocket is on node B, his media on node A (the room's), whose ports his connections were offered.
    expect(within(relayPorts(bob), PORTS_A), `bob's relay ports ${relayPorts(bob)}`).toBe(true);
    expect(await cluster(a.port)).toMatchObject({ node: "node-a", redis: "ok", rooms: ["standup"], hostedSessions: 1, proxiedSessions: 0 });
    expect(await cluster(b.port)).toMatchObject({ node: "node-b", rooms: [], hostedSessions: 0, proxiedSessions: 1 });
    expect((await cluster(b.port)).nodes.map((n) => n.id).sort()).toEqual(["node-a", "node-b"]);
    const [scrapeA, scrapeB] = [await Scrape.of(a), await Scrape.of(b)];
    for (const s of [scrapeA, scrapeB]) {
      expect(s.value("sfu_cluster_redis_up")).toBe(1);
      expect(s.value("sfu_cluster_nodes")).toBe(2);
    }
    expect([scrapeA.value("sfu_cluster_rooms_held"), scrapeA.value("sfu_cluster_sessions", { side: "hosted" }), scrapeA.value("sfu_cluster_sessions", { side: "proxied" })]).toEqual([1, 1, 0]);
    expect([scrapeB.value("sfu_cluster_rooms_held"), scrapeB.value("sfu_cluster_sessions", { side: "hosted" }), scrapeB.value("sfu_cluster_sessions", { side: "proxied" })]).toEqual([0, 0, 1]);
    expect((await a.readStats()).participants).toBe(2);
    expect((await b.readStats()).participants).toBe(0);

    // A resume through bob's node reaches his participant on node A: the same participant, media goes on.
    bob.dropSignaling();
    const resumed = await bob.resume(b.signalUrl);
    expect(resumed.type, JSON.stringify(resumed)).toBe("resumed");
    const resumedAt = bob.received.get(alice.outgoing[1]!.trackId)!.packets;
    await eventually("alice's video reaches bob after his resume", () => receivesAll(bob, alice, resumedAt + 30));

    // WHIP can not be proxied: a POST for the room to node B is refused, naming the node that holds it.
    const whipPeer = new WhipPublisher(log);
    const whip = await whipPeer.publish(`http://127.0.0.1:${b.port}/whip/standup`);
    await whipPeer.close();
    expect(whip.status).toBe(409);
    expect(await whip.json()).toMatchObject({ error: "room-on-another-node", message: expect.stringContaining("node-a") });

    await pacer!.stop();
    pacer = undefined;
    expectIntact(alice, bob);
    expectIntact(bob, alice);
    await bob.leave();
    await alice.leave();
    // Leaving is done once node A counts nobody and the directory has forgotten the room (a liveness limit).
    const deadline = performance.now() + 20_000;
    while ((await a.readStats()).participants > 0 || Object.keys(await keys(redis, "sfu-room:room:*")).length > 0) {
      if (performance.now() > deadline) throw new Error(`node A still counts participants, or the directory still names the room: ${JSON.stringify(await keys(redis, "sfu-room:*"))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await cluster(a.port)).toMatchObject({ rooms: [], hostedSessions: 0 });
    expect(await cluster(b.port)).toMatchObject({ proxiedSessions: 0 });
    await Promise.all(relays.map((r) => r.close()));
    relays = [];
    expect(await keys(redis, "sfu-room:*"), "stopped nodes leave no registry or directory entry").toEqual({});
  }, CLUSTER_TEST_TIMEOUT_MS);

  it("a node that shuts down ends its rooms' entries first: participants proxied to it reconnect (1012) at once, its own are drained, and everyone rejoins through the other node", async () => {
    const a = await node("node-a", redis, PORTS_A, { drainMs: 3000 });
    const b = await node("node-b", redis, PORTS_B);
    relays.push(b);
    const log: SentLog = new Map();
    const [alice, bob] = await call(a, b, log);

    const bobClosed = closeCode(bob);
    const aliceClosed = closeCode(alice);
    const stopped = a.shutdown();
    expect(await bobClosed, "the SDK reconnects on 1012 (service restart)").toBe(1012);
    // Bob is told before node A's drain is over: the directory forgot the room already, so his rejoin lands on B.
    expect(await keys(redis, "sfu-room:room:*")).toEqual({});
    expect(await aliceClosed, "node A's own participants are drained as by any relay (1001 going away: the SDK reconnects)").toBe(1001);
    await stopped;
    expect(await keys(redis, "sfu-room:*"), "node A's registry and directory entries are gone").toEqual({
      "sfu-room:node:node-b": expect.any(String),
    });

    const [alice2, bob2] = await call(b, b, log, 50);
    expect(within(relayPorts(alice2), PORTS_B)).toBe(true);
    expect(await keys(redis, "sfu-room:room:*")).toEqual({ "sfu-room:room:standup": "node-b" });
    expect(await cluster(b.port)).toMatchObject({ rooms: ["standup"], proxiedSessions: 0 });
    await pacer!.stop();
    pacer = undefined;
    expectIntact(alice2, bob2);
    expectIntact(bob2, alice2);
  }, CLUSTER_TEST_TIMEOUT_MS);

  it("a worker of a node that dies takes its room off the directory: the participants proxied to it reconnect (1012), and the node holds nothing of them", async () => {
    const a = await node("node-a", redis, PORTS_A, { workers: 2 });
    const b = await node("node-b", redis, PORTS_B);
    relays.push(a, b);
    const log: SentLog = new Map();
    const [alice, bob] = await call(a, b, log);
    const health = (await (await fetch(`http://127.0.0.1:${a.port}/health`)).json()) as { workers: Array<{ pid: number; participants: number }> };
    const busy = health.workers.find((w) => w.participants > 0)!;
    const closes = [closeCode(alice), closeCode(bob)];
    process.kill(busy.pid, "SIGKILL");
    expect(await Promise.all(closes)).toEqual([1012, 1012]);
    const deadline = performance.now() + 20_000;
    while (Object.keys(await keys(redis, "sfu-room:room:*")).length > 0) {
      if (performance.now() > deadline) throw new Error(`the dead worker's room is still in the directory: ${JSON.stringify(await keys(redis, "sfu-room:*"))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await until("node A holding nothing", () => cluster(a.port), (c) => c.rooms.length === 0 && c.hostedSessions === 0);
    await until("node B proxying nothing", () => cluster(b.port), (c) => c.proxiedSessions === 0);
  }, CLUSTER_TEST_TIMEOUT_MS);

  it("a node that dies (SIGKILL) is found by its expired entry: its proxied participants reconnect, and the room is taken over where they come back", async () => {
    child = spawn(process.execPath, [BIN, "--port", "0", "--workers", "1", "--redis", redis.url, "--node-id", "node-doomed", "--udp-ports", PORTS_A.join("-")], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    const port = await new Promise<number>((resolve, reject) => {
      child!.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /"msg":"relay listening"/.test(out) ? /"port":(\d+)/.exec(out.split("\n").find((l) => l.includes('"relay listening"'))!) : null;
        if (m) resolve(Number(m[1]));
      });
      child!.once("exit", (code) => reject(new Error(`the relay node exited (${code}) before listening:\n${out}`)));
    });
    const doomed = { signalUrl: `ws://127.0.0.1:${port}/ws` } as RunningRelay;
    const b = await node("node-b", redis, PORTS_B);
    relays.push(b);
    const log: SentLog = new Map();
    const [alice, bob] = await call(doomed, b, log);
    expect(await keys(redis, "sfu-room:room:*")).toEqual({ "sfu-room:room:standup": "node-doomed" });

    const bobClosed = closeCode(bob);
    child.kill("SIGKILL");
    expect(await bobClosed, "node B notices within the registry's TTL and tells bob to reconnect").toBe(1012);
    const [alice2, bob2] = await call(b, b, log, 50);
    expect(await keys(redis, "sfu-room:room:*"), "node B took the dead node's room over").toEqual({ "sfu-room:room:standup": "node-b" });
    await pacer!.stop();
    pacer = undefined;
    expectIntact(bob2, alice2);
  }, CLUSTER_TEST_TIMEOUT_MS);

  it("Redis going away stops no call: media flows on, /health and /metrics say so, a join that needs the directory is told to reconnect (1012); back, the directory is rebuilt and joins work", async () => {
    const own = await startRedis();
    try {
      const a = await node("node-a", own, PORTS_A);
      const b = await node("node-b", own, PORTS_B);
      relays.push(a, b);
      const log: SentLog = new Map();
      const [alice, bob] = await call(a, b, log);

      await own.close();
      const video = (c: WeriftClient, from: WeriftClient) => c.received.get(from.outgoing[1]!.trackId)!.packets;
      const [aliceHad, bobHad] = [video(alice, bob), video(bob, alice)];
      await eventually("media flows on both ways without Redis", () => video(alice, bob) > aliceHad + 100 && video(bob, alice) > bobHad + 100);
      expect(bob.ws.readyState, "bob's proxied session stays open").toBe(bob.ws.OPEN);
      // Until he says something: it cannot reach the room's node, so he is told to reconnect rather than left waiting.
      const bobClosed = closeCode(bob);
      bob.send({ type: "leave", id: "l1" });
      expect(await bobClosed).toBe(1012);

      const carol = new WeriftClient({ name: "carol", log });
      await carol.connect(b.signalUrl);
      clients.push(carol);
      const carolClosed = new Promise<[number, string]>((resolve) => carol.ws.once("close", (code, reason) => resolve([code, reason.toString()])));
      carol.send({ type: "join", id: "j1", room: "retro", name: "carol", autoSubscribe: true });
      expect(await carolClosed).toEqual([1012, "the relay could not reach its room directory (Redis); reconnect"]);
      expect(await cluster(b.port)).toMatchObject({ redis: "unreachable" });
      expect((await Scrape.of(b)).value("sfu_cluster_redis_up")).toBe(0);

      // Redis back (on the same address): the nodes reconnect on their own, and joins through either work again.
      const again = await startRedis({ port: Number(new URL(own.url).port) });
      try {
        const back = performance.now() + 20_000;
        while ((await cluster(b.port)).redis !== "ok" || (await cluster(b.port)).nodes.length < 2) {
          if (performance.now() > back) throw new Error(`node B did not come back to Redis: ${JSON.stringify(await cluster(b.port))}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        const dave = await joinClient(b, "retro", "dave", log);
        clients.push(dave);
        // The new Redis started empty: the holders write their rooms back with their heartbeats.
        const rebuilt = await until("the directory rebuilt", () => keys(again, "sfu-room:room:*"), (k) => Object.keys(k).length === 2);
        expect(rebuilt).toEqual({ "sfu-room:room:retro": "node-b", "sfu-room:room:standup": "node-a" });
      } finally {
        await again.close();
      }
      await pacer!.stop();
      pacer = undefined;
      expectIntact(alice, bob);
      expectIntact(bob, alice);
      await Promise.all(relays.map((r) => r.close()));
      relays = [];
    } finally {
      await own.close();
    }
  }, CLUSTER_TEST_TIMEOUT_MS);

  it("the server API spans the nodes: ListRooms through either lists every node's rooms, RemoveParticipant through one acts on the room's node", async () => {
    const key: SigningKey = { id: "cluster-key", secret: "the-secret-of-the-cluster-test-key-0123" };
    const a = await node("node-a", redis, PORTS_A, { keys: [key] });
    const b = await node("node-b", redis, PORTS_B, { keys: [key] });
    relays.push(a, b);
    const token = (identity: string, video: Record<string, unknown>) => mintToken(key, { identity, video, ttlSeconds: 600 });
    const log: SentLog = new Map();
    const join = async (relay: RunningRelay, room: string, name: string) => {
      const client = await joinClient(relay, room, name, log, true, await token(name, { room, roomJoin: true }));
      clients.push(client);
      return client;
    };
    await join(a, "north", "north-1");
    const proxied = await join(b, "north", "north-2"); // through node B, held on node A
    await join(b, "south", "south-1");
    const api = callApi;
    for (const relay of [a, b]) {
      const listed = await api(relay, "ListRooms", {}, await token("backend", { roomList: true }));
      expect(listed.status).toBe(200);
      expect((listed.body.rooms as Array<{ name: string; participants: number }>).map((r) => [r.name, r.participants]).sort()).toEqual([["north", 2], ["south", 1]]);
    }
    const removed = closeCode(proxied);
    expect(await api(b, "RemoveParticipant", { room: "north", identity: "north-2" }, await token("backend", { room: "north", roomAdmin: true }))).toMatchObject({ status: 200 });
    expect(await removed, "a removed participant's socket is closed as a policy close: the SDK does not come back").toBe(1008);
    const north = await api(b, "ListParticipants", { room: "north" }, await token("backend", { room: "north", roomAdmin: true }));
    expect((north.body.participants as Array<{ identity: string }>).map((p) => p.identity)).toEqual(["north-1"]);
    expect(await api(a, "ListRooms", {}, await token("nobody", {}))).toMatchObject({ status: 403 });

    // A join without a valid token for its room is refused where it arrived and claims no room.
    const intruder = new WeriftClient({ name: "intruder", log });
    await intruder.connect(b.signalUrl);
    clients.push(intruder);
    const noToken = await intruder.request({ type: "join", id: "j1", room: "ghost", name: "intruder", autoSubscribe: true });
    expect(noToken).toMatchObject({ type: "error", code: "unauthorized" });
    const otherRoom = await intruder.request({ type: "join", id: "j2", room: "ghost", name: "intruder", autoSubscribe: true, token: await token("intruder", { room: "south", roomJoin: true }) });
    expect(otherRoom.type).toBe("error");
    expect(Object.keys(await keys(redis, "sfu-room:room:*")).sort()).toEqual(["sfu-room:room:north", "sfu-room:room:south"]);
  }, CLUSTER_TEST_TIMEOUT_MS);

  it("a relay pointed at a Redis that is not there refuses to start, naming the URL and why", async () => {
    await expect(startTestRelay({ redisUrl: "redis://127.0.0.1:1", nodeId: "nowhere" })).rejects.toThrow(/could not connect to Redis at redis:\/\/127\.0\.0\.1:1 \(--redis\): .*ECONNREFUSED/);
  });
});
