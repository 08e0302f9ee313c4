/**
 * WHEP at /whep/<room> with real peers: a werift WHEP viewer (recvonly audio + video, HTTP by node's
 * fetch) receives a room's publisher byte for byte and is never seen by the room; it follows the
 * participant asked for, or the first publisher and then the next; `quality` picks the simulcast layer;
 * DELETE releases it; every refusal has its status and body and changes nothing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mintToken, type RunningRelay, type SigningKey } from "@sfu-room/relay";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";
import { WhepViewer } from "@sfu-room/test-peer/whep";
import { eventually, joinClient, sleep, startTestRelay } from "../support/relay-harness.ts";

const KEYS: SigningKey[] = [{ id: "whep-key", secret: "the-secret-of-the-whep-tests-0123456789" }];
const endpoint = (relay: RunningRelay, path: string) => `http://127.0.0.1:${relay.port}${path}`;

describe("WHEP", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  let viewers: WhepViewer[] = [];
  let timer: NodeJS.Timeout | undefined;
  const log: SentLog = new Map();
  const pacer = new Pacer(() => clients);
  afterEach(async () => {
    clearInterval(timer);
    await pacer.stop();
    await Promise.all([...clients, ...viewers].map((c) => c.close()));
    clients = [];
    viewers = [];
    await relay?.close();
    relay = undefined;
  });

  function viewer(): WhepViewer {
    const v = new WhepViewer(log);
    viewers.push(v);
    return v;
  }

  it("a viewer receives the room's publisher byte for byte, unseen by the room; DELETE releases it", async () => {
    relay = await startTestRelay();
    const member = await joinClient(relay, "show", "member", log);
    const alice = await joinClient(relay, "show", "alice", log);
    const [mic, camera] = await alice.publish([{ kind: "audio" }, { kind: "video" }]);
    clients.push(member, alice);
    const seen = member.events.length;
    const before = relay.stats();

    const whep = viewer();
    const response = await whep.view(endpoint(relay, "/whep/show"));
    expect(response.status).toBe(201);
    expect(response.headers.get("content-type")).toBe("application/sdp");
    expect(response.headers.get("location")).toMatch(/^\/whep\/show\/[A-Za-z0-9_-]{20,}$/);
    pacer.start();
    await eventually("the viewer receives alice's audio and video", () => whep.received.audio.packets > 50 && whep.received.video.packets > 50);
    expect(whep.received.audio).toMatchObject({ mismatches: 0, tags: [mic!.tag] });
    expect(whep.received.video).toMatchObject({ mismatches: 0, tags: [camera!.tag] });
    expect(whep.received.video.keyframes).toBeGreaterThan(0);
    // One hidden participant with one connection and two subscriptions; the room never hears of it.
    expect(relay.stats()).toMatchObject({ participants: before.participants + 1, subscriptions: before.subscriptions + 2, peerConnections: before.peerConnections + 1 });
    expect(member.events.slice(seen).filter((e) => e.type === "participant-joined")).toEqual([]);

    // ICE restart through PATCH: the media comes back on the new credentials.
    const restarted = await whep.restartIce();
    expect(restarted.status).toBe(200);
    const counted = whep.received.video.packets;
    await eventually("video flows after the ICE restart", () => whep.received.video.packets > counted + 50);
    expect(whep.received.video.mismatches).toBe(0);

    expect((await whep.stop()).status).toBe(200);
    await eventually("the relay released the viewer", () => relay!.stats().participants === before.participants);
    expect(relay.stats()).toMatchObject({ subscriptions: before.subscriptions, peerConnections: before.peerConnections });
    expect((await whep.stop()).status).toBe(404);
    await sleep(200);
    expect(member.events.slice(seen).filter((e) => e.type === "participant-left")).toEqual([]);
  });

  it("follows ?participant=, or the first publisher and then the next one when it leaves", async () => {
    relay = await startTestRelay();
    const first = await joinClient(relay, "follow", "first", log);
    const second = await joinClient(relay, "follow", "second", log);
    const [firstMic, firstCamera] = await first.publish([{ kind: "audio" }, { kind: "video" }]);
    const [secondMic, secondCamera] = await second.publish([{ kind: "audio" }, { kind: "video" }]);
    // The follower's m-lines carry the first publisher, then the second, each on one SSRC. Their seqs are
    // set so that the second's start past the first's wrap (59000.. then 1000..): the line must count
    // on from the first's last seq, or the viewer's SRTP misreads the jump (a wrong rollover counter,
    // or in a browser's libsrtp a replay) and drops the second publisher's media.
    const startAt = (track: { nextSeq: number; losePackets(n: number): void }, seq: number) => track.losePackets((seq - track.nextSeq) & 0xffff);
    for (const track of [firstMic!, firstCamera!]) startAt(track, 59_000);
    for (const track of [secondMic!, secondCamera!]) startAt(track, 1_000);
    clients.push(first, second);
    const secondId = second.participantId;
    const chosen = viewer();
    expect((await chosen.view(endpoint(relay, `/whep/follow?participant=${secondId}`))).status).toBe(201);
    const follower = viewer();
    expect((await follower.view(endpoint(relay, "/whep/follow"))).status).toBe(201);
    pacer.start();
    await eventually("both viewers receive video", () => chosen.received.video.packets > 30 && follower.received.video.packets > 30);
    expect(chosen.received.video.tags).toEqual([secondCamera!.tag]);
    expect(follower.received.video.tags).toEqual([firstCamera!.tag]);

    await first.request({ type: "leave", id: "bye" });
    await eventually("the follower switches to the second publisher", () => follower.received.video.tags.at(-1) === secondCamera!.tag && follower.received.audio.tags.length === 2);
    const counted = follower.received.video.packets;
    await eventually("and keeps receiving it", () => follower.received.video.packets > counted + 30);
    expect(follower.received.video.mismatches).toBe(0);
  });

  it("?quality= pins the simulcast layer each viewer receives", async () => {
    relay = await startTestRelay();
    const pub = await joinClient(relay, "layers", "pub", log);
    clients.push(pub);
    const track = await pub.publishSimulcast(["q", "h", "f"], [{ width: 320, height: 180 }, { width: 640, height: 360 }, { width: 1280, height: 720 }]);
    timer = setInterval(() => track.sendFrame(), 15);
    const low = viewer();
    const high = viewer();
    expect((await low.view(endpoint(relay, "/whep/layers?quality=low"))).status).toBe(201);
    expect((await high.view(endpoint(relay, "/whep/layers?quality=high"))).status).toBe(201);
    const layerOf = (v: WhepViewer) => track.layerOfTag(v.received.video.tags.at(-1) ?? -1);
    await eventually("low gets layer q, high gets layer f", () => layerOf(low) === 0 && layerOf(high) === 2 && low.received.video.packets > 30 && high.received.video.packets > 30);
  });

  it("refusals: each with its status and body, and nothing changes", async () => {
    relay = await startTestRelay({ keys: KEYS });
    const tokenFor = (grant: Record<string, unknown>) => mintToken(KEYS[0]!, { identity: `v-${Math.random()}`, video: { room: "locked", roomJoin: true, ...grant }, ttlSeconds: 600 });
    const member = await joinClient(relay, "locked", "member", log, true, await tokenFor({}));
    clients.push(member);
    const before = relay.stats();
    const offer = await new WhepViewer(log).offer();
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(endpoint(relay!, path), { method: "POST", headers: { "content-type": "application/sdp", ...headers }, body });
    const good = `Bearer ${await tokenFor({})}`;
    const cases: Array<[string, Promise<Response>, number, string, RegExp]> = [
      ["no token", post("/whep/locked", offer), 401, "unauthorized", /token that may subscribe/],
      ["canSubscribe false", post("/whep/locked", offer, { authorization: `Bearer ${await tokenFor({ canSubscribe: false })}` }), 403, "forbidden", /canSubscribe false/],
      ["a sendonly offer", post("/whep/locked", offer.replace(/a=recvonly/g, "a=sendonly"), { authorization: good }), 400, "bad-sdp", /receives no audio or video/],
      ["garbage", post("/whep/locked", "hello", { authorization: good }), 400, "bad-sdp", /must start with v=0/],
      ["an unknown participant", post("/whep/locked?participant=Pnobody", offer, { authorization: good }), 404, "unknown-participant", /no participant Pnobody in room "locked"/],
      ["a bad quality", post("/whep/locked?quality=ultra", offer, { authorization: good }), 400, "bad-quality", /low, medium or high, not "ultra"/],
      ["not SDP", post("/whep/locked", offer, { authorization: good, "content-type": "text/plain" }), 415, "unsupported-media-type", /application\/sdp/],
      ["DELETE of no session", fetch(endpoint(relay, "/whep/locked/nope"), { method: "DELETE" }), 404, "unknown-session", /no WHEP session nope in room "locked".*POST a new offer to \/whep\/locked/],
    ];
    for (const [what, request, status, error, message] of cases) {
      const response = await request;
      expect(response.status, what).toBe(status);
      const body = await response.json();
      expect(body, what).toMatchObject({ error });
      expect(body.message, what).toMatch(message);
    }
    await eventually("nothing of the refused viewers stays", () => relay!.stats().participants === before.participants);
    expect(relay.stats()).toMatchObject({ participants: before.participants, subscriptions: before.subscriptions, peerConnections: before.peerConnections });
  });
});
