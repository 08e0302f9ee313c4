/**
 * `--workers 2`: a primary process with the WebSockets and two forked SFU processes. Rooms are spread
 * over the workers, each worker uses only its slice of the media ports, and a worker that dies takes
 * only its own rooms down: the other room's media never stops, and the dead room's participants join
 * again onto the worker started in its place. WHIP and WHEP reach the room's worker the same way.
 */
import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { mintToken, type RunningRelay, type SigningKey, V8_FLAGS } from "@sfu-room/relay";
import { Pacer, type SentLog, WeriftClient } from "@sfu-room/test-peer";
import { WhepViewer } from "@sfu-room/test-peer/whep";
import { WhipPublisher } from "@sfu-room/test-peer/whip";
import { candidatePorts, relayPortsOf } from "../support/hostile-datagrams.ts";
import { callApi, eventually, joinClient, sleep, startTestRelay } from "../support/relay-harness.ts";
import { Scrape } from "../support/scrape.ts";

/** 40 ports: worker 0 gets 23900-23919, worker 1 23920-23939. */
const PORTS: [number, number] = [23900, 23939];
const SLICES: Array<[number, number]> = [[23900, 23919], [23920, 23939]];

/** Two or three worker processes start in a test (seconds each on a loaded machine): a liveness limit. */
const WORKERS_TEST_TIMEOUT_MS = 150_000;

interface WorkerHealth {
  index: number;
  pid: number;
  ready: boolean;
  rooms: number;
  participants: number;
}

async function workers(relay: RunningRelay): Promise<WorkerHealth[]> {
  const health = (await (await fetch(`http://127.0.0.1:${relay.port}/health`)).json()) as { workers: WorkerHealth[] };
  return health.workers;
}

/** The one worker holding participants now, among those not in `besides`. */
async function busyWorker(relay: RunningRelay, besides: number[] = []): Promise<WorkerHealth> {
  const busy = (await workers(relay)).filter((w) => w.participants > 0 && !besides.includes(w.index));
  expect(busy).toHaveLength(1);
  return busy[0]!;
}

/** A publisher (audio + video) and a subscriber in `room`, both connected. */
async function pair(relay: RunningRelay, room: string, log: SentLog): Promise<[WeriftClient, WeriftClient]> {
  const publisher = await joinClient(relay, room, `${room}-publisher`, log);
  await publisher.publish([{ kind: "audio" }, { kind: "video" }]);
  const subscriber = await joinClient(relay, room, `${room}-subscriber`, log);
  await Promise.all([publisher.connected(), subscriber.connected()]);
  return [publisher, subscriber];
}

/** The subscriber has had more than `packets` of each of the publisher's tracks, every byte as sent and none missing. */
function receivesAll(subscriber: WeriftClient, publisher: WeriftClient, packets: number): boolean {
  return publisher.outgoing.every((t) => (subscriber.received.get(t.trackId)?.packets ?? 0) > packets);
}

function expectIntact(subscriber: WeriftClient, publisher: WeriftClient): void {
  for (const t of publisher.outgoing) {
    const rec = subscriber.received.get(t.trackId);
    expect(rec, `${subscriber.options.name} receives ${t.kind}`).toBeDefined();
    expect(rec!.mismatches).toBe(0);
    expect(rec!.seqGaps).toBe(0);
  }
}

/** The relay's port on the client's subscriber connection (a client that never published has no other). */
function subscriberPort(client: WeriftClient): number {
  return candidatePorts(client.subscriber!.remoteDescription!.sdp)[0]!;
}

/** Waits (a liveness limit) until /health shows a new, ready process in the dead worker's slot. */
async function replaced(relay: RunningRelay, dead: WorkerHealth): Promise<void> {
  // A worker is a fresh Node loading werift: seconds, and many more on a loaded machine.
  const deadline = performance.now() + 60_000;
  for (;;) {
    const w = (await workers(relay))[dead.index]!;
    if (w.ready && w.pid !== dead.pid) return;
    if (performance.now() > deadline) throw new Error(`timed out waiting for worker ${dead.index} to be restarted`);
    await sleep(100);
  }
}

function closeCode(client: WeriftClient): Promise<number> {
  return new Promise((resolve) => client.ws.once("close", (code) => resolve(code)));
}

/** A WHEP viewer has had more than `packets` of each kind of `publisher`'s, every byte as sent. */
function viewsAll(viewer: WhepViewer, publisher: WhipPublisher, packets: number): boolean {
  return viewer.received.audio.packets > packets && viewer.received.video.packets > packets;
}

function expectViewedIntact(viewer: WhepViewer, publisher: WhipPublisher): void {
  for (const track of publisher.outgoing) expect(viewer.received[track.kind], `the viewer's ${track.kind}`).toMatchObject({ mismatches: 0, tags: [track.tag] });
}

describe("--workers 2", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  /** WHIP publishers and WHEP viewers. */
  let peers: Array<WhipPublisher | WhepViewer> = [];
  let pacer: Pacer | undefined;
  afterEach(async () => {
    await pacer?.stop();
    pacer = undefined;
    await Promise.all([...clients, ...peers].map((c) => c.close()));
    clients = [];
    peers = [];
    await relay?.close();
    relay = undefined;
  });

  it("puts two rooms on different workers, each on its own ports, and both forward media byte for byte", async () => {
    relay = await startTestRelay({ workers: 2, udpPortRange: PORTS });
    const log: SentLog = new Map();
    const [alice, bob] = await pair(relay, "first", log);
    clients.push(alice, bob);
    const first = await busyWorker(relay);
    const [carol, dave] = await pair(relay, "second", log);
    clients.push(carol, dave);
    const second = await busyWorker(relay, [first.index]);
    expect(second.index).not.toBe(first.index);
    expect(second.pid).not.toBe(first.pid);
    for (const worker of [first, second]) {
      const argv = readFileSync(`/proc/${worker.pid}/cmdline`, "utf8").split("\0");
      expect(argv.slice(1, 1 + V8_FLAGS.length), "a worker runs with the relay's V8 flags").toEqual([...V8_FLAGS]);
    }

    for (const [publisher, subscriber, worker] of [[alice, bob, first], [carol, dave, second]] as const) {
      const [lo, hi] = SLICES[worker.index]!;
      const ports = [relayPortsOf(publisher).publisher, relayPortsOf(publisher).subscriber, subscriberPort(subscriber)];
      for (const port of ports) {
        expect(port, `${publisher.room}'s relay ports are in worker ${worker.index}'s slice`).toBeGreaterThanOrEqual(lo);
        expect(port).toBeLessThanOrEqual(hi);
      }
    }

    pacer = new Pacer(() => clients);
    pacer.start();
    await eventually("both subscribers receive their room's tracks", () => receivesAll(bob, alice, 50) && receivesAll(dave, carol, 50));
    await pacer.stop();
    expectIntact(bob, alice);
    expectIntact(dave, carol);
    // /health and /metrics add the workers up.
    const health = (await (await fetch(`http://127.0.0.1:${relay.port}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: "ok", rooms: 2, participants: 4, tracks: 4, peerConnections: 6 });
    const scrape = await Scrape.of(relay);
    expect(scrape.value("sfu_participants")).toBe(4);
    const forwarded = [bob, dave].reduce((n, c) => n + [...c.received.values()].reduce((m, r) => m + r.packets, 0), 0);
    const out = scrape.value("sfu_rtp_packets_total", { direction: "out", kind: "video" })! + scrape.value("sfu_rtp_packets_total", { direction: "out", kind: "audio" })!;
    expect(out, "the relay counts at least what the two subscribers received").toBeGreaterThanOrEqual(forwarded);
    // Each worker's own process, by index (process_* are the primary's): it has run and holds memory.
    for (const worker of ["0", "1"]) {
      expect(scrape.value("sfu_worker_cpu_seconds_total", { worker })).toBeGreaterThan(0);
      expect(scrape.value("sfu_worker_resident_memory_bytes", { worker })).toBeGreaterThan(10 * 1024 * 1024);
      expect(scrape.value("sfu_worker_event_loop_delay_p99_seconds", { worker })).toBeGreaterThan(0);
    }
    // Each room sees only its own: nobody of the other room's worker leaks in.
    expect(bob.received.size).toBe(2);
    expect(dave.received.size).toBe(2);
  }, WORKERS_TEST_TIMEOUT_MS);

  it("the server API reaches every worker: ListRooms lists the rooms of both, RemoveParticipant acts on the room's worker", async () => {
    const key: SigningKey = { id: "workers-key", secret: "the-secret-of-the-workers-test-key-0123" };
    relay = await startTestRelay({ workers: 2, udpPortRange: PORTS, keys: [key] });
    const token = (identity: string, video: Record<string, unknown>) => mintToken(key, { identity, video, ttlSeconds: 600 });
    const log: SentLog = new Map();
    for (const room of ["north", "south"]) {
      for (const name of [`${room}-1`, `${room}-2`]) clients.push(await joinClient(relay, room, name, log, true, await token(name, { room, roomJoin: true })));
    }
    expect((await workers(relay)).map((w) => w.participants)).toEqual([2, 2]);
    const api = (method: string, body: unknown, bearer: string) => callApi(relay!, method, body, bearer);
    const listed = await api("ListRooms", {}, await token("backend", { roomList: true }));
    expect(listed.status).toBe(200);
    expect((listed.body.rooms as Array<{ name: string; participants: number }>).map((r) => [r.name, r.participants]).sort()).toEqual([["north", 2], ["south", 2]]);
    const removed = closeCode(clients[2]!);
    expect(await api("RemoveParticipant", { room: "south", identity: "south-1" }, await token("backend", { room: "south", roomAdmin: true }))).toMatchObject({ status: 200 });
    expect(await removed).toBe(1008);
    expect((await workers(relay)).map((w) => w.participants).sort()).toEqual([1, 2]);
  }, WORKERS_TEST_TIMEOUT_MS);

  it("a resume reaches the room's worker: the participant is back as itself, and its later messages act as it", async () => {
    relay = await startTestRelay({ workers: 2, udpPortRange: PORTS });
    const log: SentLog = new Map();
    const [alice, bob] = await pair(relay, "held", log);
    clients.push(alice, bob);
    const held = await busyWorker(relay);
    pacer = new Pacer(() => clients);
    pacer.start();
    await eventually("bob receives alice", () => receivesAll(bob, alice, 30));

    bob.dropSignaling();
    const reply = await bob.resume(relay.signalUrl);
    expect(reply.type, JSON.stringify(reply)).toBe("resumed");
    const resumedAt = bob.received.get(alice.outgoing[0]!.trackId)!.packets;
    await eventually("media goes on after the resume", () => receivesAll(bob, alice, resumedAt + 50));
    // The resumed socket speaks as bob on his room's worker: his leave removes him there.
    await bob.leave();
    const after = (await workers(relay))[held.index]!;
    expect(after).toMatchObject({ pid: held.pid, participants: 1, rooms: 1 });
    await pacer.stop();
    expectIntact(bob, alice);
  }, WORKERS_TEST_TIMEOUT_MS);

  it("a killed worker takes only its room: the other room's media goes on untouched, and the killed room's participants join again on the new worker", async () => {
    relay = await startTestRelay({ workers: 2, udpPortRange: PORTS });
    const log: SentLog = new Map();
    const [alice, bob] = await pair(relay, "doomed", log);
    const doomed = await busyWorker(relay);
    const [carol, dave] = await pair(relay, "spared", log);
    clients.push(alice, bob, carol, dave);
    pacer = new Pacer(() => clients.filter((c) => c.ws.readyState === c.ws.OPEN));
    pacer.start();
    await eventually("both rooms forward", () => receivesAll(bob, alice, 30) && receivesAll(dave, carol, 30));

    const closes = [closeCode(alice), closeCode(bob)];
    process.kill(doomed.pid, "SIGKILL");
    // 1012 (service restart): what the SDK takes for a lost connection, so it reconnects.
    expect(await Promise.all(closes)).toEqual([1012, 1012]);
    const carolVideo = carol.outgoing.find((t) => t.kind === "video")!;
    const before = dave.received.get(carolVideo.trackId)!.packets;
    await replaced(relay, doomed);

    const [alice2, bob2] = await pair(relay, "doomed", log);
    clients.push(alice2, bob2);
    const rejoined = (await workers(relay)).find((w) => w.index === doomed.index)!;
    expect(rejoined.participants, "the room was placed on the new (least-loaded) worker").toBe(2);
    const [lo, hi] = SLICES[doomed.index]!;
    expect(subscriberPort(bob2)).toBeGreaterThanOrEqual(lo);
    expect(subscriberPort(bob2)).toBeLessThanOrEqual(hi);
    await eventually("the rejoined subscriber receives the rejoined publisher", () => receivesAll(bob2, alice2, 50));
    await eventually("the spared room kept forwarding", () => dave.received.get(carolVideo.trackId)!.packets > before + 100);
    await pacer.stop();
    expectIntact(bob2, alice2);
    // Not one packet of the spared room lost or altered across the other worker's death.
    expectIntact(dave, carol);
    expect(carol.ws.readyState).toBe(carol.ws.OPEN);
    expect(dave.ws.readyState).toBe(dave.ws.OPEN);
  }, WORKERS_TEST_TIMEOUT_MS);

  it("WHIP and WHEP reach the room's worker: byte-equal media in two rooms on two workers, PATCH and DELETE go to the session's worker, and a killed worker's resources answer 404 while the other worker's viewer goes on", async () => {
    relay = await startTestRelay({ workers: 2, udpPortRange: PORTS });
    const url = (path: string) => `http://127.0.0.1:${relay!.port}${path}`;
    const log: SentLog = new Map();
    /** A WHIP publisher and then a WHEP viewer in `room`. */
    const show = async (room: string): Promise<[WhipPublisher, WhepViewer]> => {
      const publisher = new WhipPublisher(log);
      const viewer = new WhepViewer(log);
      peers.push(publisher, viewer);
      const published = await publisher.publish(url(`/whip/${room}?name=Camera`));
      expect(published.status).toBe(201);
      expect(published.headers.get("location")).toMatch(new RegExp(`^/whip/${room}/[A-Za-z0-9_-]{20,}$`));
      expect(published.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]+"$/);
      expect(published.headers.get("accept-patch")).toBe("application/trickle-ice-sdpfrag");
      const viewed = await viewer.view(url(`/whep/${room}`));
      expect(viewed.status).toBe(201);
      expect(viewed.headers.get("content-type")).toBe("application/sdp");
      expect(viewed.headers.get("location")).toMatch(new RegExp(`^/whep/${room}/[A-Za-z0-9_-]{20,}$`));
      return [publisher, viewer];
    };
    const [alpha, alphaViewer] = await show("alpha");
    const first = await busyWorker(relay);
    expect(first.participants, "the viewer was placed on its room's worker").toBe(2);
    const [beta, betaViewer] = await show("beta");
    const second = await busyWorker(relay, [first.index]);
    expect(second).toMatchObject({ participants: 2, rooms: 1 });
    for (const [peer, worker] of [[alpha, first], [alphaViewer, first], [beta, second], [betaViewer, second]] as const) {
      const [lo, hi] = SLICES[worker.index]!;
      for (const port of candidatePorts(peer.answer!)) {
        expect(port, `the answer's ports are worker ${worker.index}'s`).toBeGreaterThanOrEqual(lo);
        expect(port).toBeLessThanOrEqual(hi);
      }
    }

    pacer = new Pacer(() => peers.filter((p): p is WhipPublisher => p instanceof WhipPublisher));
    pacer.start();
    await eventually("each viewer receives its room's publisher", () => viewsAll(alphaViewer, alpha, 50) && viewsAll(betaViewer, beta, 50));
    expectViewedIntact(alphaViewer, alpha);
    expectViewedIntact(betaViewer, beta);

    // PATCH reaches the session's worker: its ETag is checked there, a trickle is taken.
    const trickle = (etag: string) => fetch(alpha.resource!, { method: "PATCH", headers: { "content-type": "application/trickle-ice-sdpfrag", "if-match": etag }, body: "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n" });
    expect((await trickle('"stale"')).status).toBe(412);
    expect((await trickle(alpha.etag!)).status).toBe(204);
    // Refused in the worker as in one process, and nothing stays: no room, no participant.
    const garbage = await fetch(url("/whip/gamma"), { method: "POST", headers: { "content-type": "application/sdp" }, body: "hello" });
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ error: "bad-sdp" });
    // DELETE reaches the viewer's worker and releases it there; then the resource is gone.
    expect((await alphaViewer.stop()).status).toBe(200);
    expect((await workers(relay)).map((w) => w.participants)).toEqual(first.index === 0 ? [1, 2] : [2, 1]);
    expect(await (await alphaViewer.stop()).json()).toMatchObject({ error: "unknown-session" });

    const counted = betaViewer.received.video.packets;
    process.kill(first.pid, "SIGKILL");
    const gone = await alpha.stop();
    expect(gone.status, "the killed worker's WHIP session is gone").toBe(404);
    expect(await gone.json()).toMatchObject({ error: "unknown-session" });
    await eventually("the other worker's viewer keeps receiving", () => betaViewer.received.video.packets > counted + 100);
    await pacer.stop();
    expectViewedIntact(betaViewer, beta);
    expect((await workers(relay)).find((w) => w.index === second.index)).toMatchObject({ pid: second.pid, participants: 2 });
  }, WORKERS_TEST_TIMEOUT_MS);
});
