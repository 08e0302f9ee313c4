/**
 * Resume and ICE restart with real werift participants: a participant whose signaling drops is kept for
 * the resume window and taken back by a new WebSocket (same id, same subscriber SSRCs, media and data
 * never stopped, the others noticed nothing); after the window they are gone and must join again;
 * what happened meanwhile is in the `resumed` snapshot and the offers sent again; `restart-ice` gives
 * both connections fresh ICE credentials.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import type { ServerMessage } from "@sfu-room/protocol";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";
import { Call, expectMediaFlowing } from "../support/call.ts";
import { sendProtectedAlert } from "../support/dtls-alert.ts";
import { eventually, joinClient, resumeWindow, sleep, startTestRelay } from "../support/relay-harness.ts";

let relay: RunningRelay | undefined;
let call: Call | undefined;
const extra: WeriftClient[] = [];

afterEach(async () => {
  await call?.stop();
  await Promise.all(extra.splice(0).map((c) => c.close()));
  await relay?.close();
  call = undefined;
  relay = undefined;
});

/** Each received track's SSRCs, by track id. */
const ssrcsOf = (c: WeriftClient) => new Map([...c.received].map(([id, r]) => [id, [...r.ssrcs]]));
/** Who joined or left, as another participant saw it. */
const roster = (c: WeriftClient) => c.events.filter((e) => e.type === "participant-joined" || e.type === "participant-left");
const ufrag = (sdp: string | undefined) => /^a=ice-ufrag:(\S+)/m.exec(sdp ?? "")?.[1];
const texts = (c: WeriftClient, topic: string) => c.data.filter((d) => d.frame.header.topic === topic).map((d) => new TextDecoder().decode(d.frame.payload));

async function start(overrides = {}): Promise<Call> {
  relay = await startTestRelay(overrides);
  call = await Call.open(relay, "call");
  return call;
}

describe("resume", () => {
  it("signaling dropped and reopened within the window: same participant, same SSRCs, media on both ways, nobody noticed", async () => {
    const { alice, bob } = await start();
    const before = { alice: ssrcsOf(alice), bob: ssrcsOf(bob) };
    const rosterBefore = roster(bob).length;
    expect(alice.grant?.windowMs).toBe(20_000);

    alice.dropSignaling();
    await eventually("the relay noticed the drop", () => relay!.stats().sessions === 1);
    // Away: the relay still holds alice, and media keeps flowing over the untouched connections.
    expect(relay!.stats()).toMatchObject({ participants: 2, peerConnections: 4 });
    await expectMediaFlowing([alice, bob], "while alice's signaling is down");

    const reply = await alice.resume(relay!.signalUrl);
    expect(reply).toMatchObject({
      type: "resumed",
      participantId: alice.participantId,
      room: "call",
      participants: [{ id: bob.participantId, name: "bob", tracks: bob.outgoing.map((t) => expect.objectContaining({ id: t.trackId })) }],
      tracks: alice.outgoing.map((t) => expect.objectContaining({ id: t.trackId, participantId: alice.participantId })),
      resume: { secret: expect.not.stringMatching(`^${alice.joined!.resume.secret}$`), windowMs: 20_000 },
    });
    // A grant is used once: the reply carries a new secret, as strong as the first.
    expect((reply as { resume: { secret: string } }).resume.secret).toHaveLength(alice.joined!.resume.secret.length);
    await call!.mediaFlows();
    expect(ssrcsOf(alice)).toEqual(before.alice);
    expect(ssrcsOf(bob)).toEqual(before.bob);
    expect(roster(bob).length).toBe(rosterBefore);

    // The new socket speaks as alice: her mute reaches bob under her id; a join on it is refused.
    const mic = alice.outgoing.find((t) => t.kind === "audio")!;
    expect(await alice.request({ type: "mute", id: "m", trackId: mic.trackId, muted: true })).toEqual({ type: "ok", id: "m" });
    await eventually("bob sees alice's mute", () => bob.events.some((e) => e.type === "track-muted" && e.participantId === alice.participantId && e.trackId === mic.trackId));
    await call!.undisturbed();
    expect(await alice.request({ type: "join", id: "j2", room: "call", name: "again", autoSubscribe: true })).toMatchObject({ type: "error", code: "already-joined" });
    expect(relay!.stats()).toMatchObject({ participants: 2, sessions: 2, resumes: 1, resumeRefusals: 0 });
    const health = (await (await fetch(`http://127.0.0.1:${relay!.port}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: "ok", participants: 2, resumes: 1, resumeRefusals: 0 });
  });

  it("after the window: resume is refused, the others saw the participant leave, and a new join works", async () => {
    const { alice, bob } = await start(resumeWindow(1000));
    expect(alice.grant?.windowMs).toBe(1000);
    alice.dropSignaling();
    await eventually("bob saw alice leave", () => bob.events.some((e) => e.type === "participant-left" && e.participantId === alice.participantId));
    await eventually("the relay released alice's connections", () => relay!.stats().participants === 1 && relay!.stats().peerConnections === 2);
    const reply = await alice.resume(relay!.signalUrl);
    expect(reply).toMatchObject({ type: "error", code: "resume-refused", message: expect.stringMatching(/join again$/) });
    expect(relay!.stats()).toMatchObject({ resumes: 0, resumeRefusals: 1 });

    const again = await joinClient(relay!, "call", "alice-again", call!.log);
    extra.push(again);
    await again.publish([{ kind: "audio" }]);
    const pacer = new Pacer(() => [again]);
    pacer.start();
    try {
      await eventually("bob sees the new participant", () => bob.events.some((e) => e.type === "participant-joined" && e.participant.id === again.participantId));
      await eventually("each receives the other", () => again.received.size === 2 && bob.received.size === 3);
      await expectMediaFlowing([again], "to the rejoined participant");
    } finally {
      await pacer.stop();
    }
  });

  it("events during the gap are in the snapshot, and the missed subscriber offer arrives after it, with media", async () => {
    const { alice, bob } = await start();
    const dave = await joinClient(relay!, "call", "dave", call!.log);
    extra.push(dave);
    await eventually("alice knows dave", () => roster(alice).some((e) => e.type === "participant-joined" && e.participant.id === dave.participantId));
    const offersBefore = alice.subscriberOffers;

    alice.dropSignaling();
    await eventually("the relay noticed the drop", () => relay!.stats().sessions === 3);
    // During the gap: bob publishes a third track and mutes his microphone, carol joins, dave leaves.
    const [screen] = await bob.publish([{ kind: "video" }]);
    const bobMic = bob.outgoing.find((t) => t.kind === "audio")!;
    expect(await bob.request({ type: "mute", id: "m", trackId: bobMic.trackId, muted: true })).toMatchObject({ type: "ok" });
    const carol = await joinClient(relay!, "call", "carol", call!.log);
    extra.push(carol);
    await dave.leave();
    await eventually("bob receives carol and saw dave go", () => roster(bob).some((e) => e.type === "participant-left" && e.participantId === dave.participantId));
    await sleep(300); // the subscriber offer for bob's new track went to alice's dead socket by now
    expect(alice.subscriberOffers).toBe(offersBefore);

    const reply = await alice.resume(relay!.signalUrl);
    expect(reply.type).toBe("resumed");
    if (reply.type !== "resumed") return;
    expect(reply.participants.map((p) => p.name)).toEqual(["bob", "carol"]);
    const bobInfo = reply.participants.find((p) => p.id === bob.participantId)!;
    expect(bobInfo.tracks.map((t) => [t.id, t.muted])).toEqual(bob.outgoing.map((t) => [t.trackId, t === bobMic]));
    // The offer for bob's new track comes after `resumed`, and its media flows.
    await eventually("alice receives bob's new track", () => (alice.received.get(screen!.trackId)?.packets ?? 0) > 20);
    const resumedAt = alice.events.findIndex((e) => e.type === "resumed");
    const offerAt = alice.events.findIndex((e) => e.type === "subscriber-offer" && e.tracks.some((t) => t.trackId === screen!.trackId));
    expect(offerAt).toBeGreaterThan(resumedAt);
    expect(alice.errors).toEqual([]);
    await call!.mediaFlows();
  });

  it("reliable data sent to and by the away participant during the gap is delivered exactly once", async () => {
    const { alice, bob } = await start();
    alice.dropSignaling();
    await eventually("the relay noticed the drop", () => relay!.stats().sessions === 1);
    const N = 50;
    for (let i = 0; i < N; i++) {
      bob.sendData(`to-alice ${i}`, { topic: "gap" });
      alice.sendData(`to-bob ${i}`, { topic: "gap" });
    }
    expect((await alice.resume(relay!.signalUrl)).type).toBe("resumed");
    for (let i = N; i < 2 * N; i++) {
      bob.sendData(`to-alice ${i}`, { topic: "gap" });
      alice.sendData(`to-bob ${i}`, { topic: "gap" });
    }
    const expected = (who: string) => Array.from({ length: 2 * N }, (_, i) => `${who} ${i}`);
    await eventually("every message arrived", () => texts(alice, "gap").length >= 2 * N && texts(bob, "gap").length >= 2 * N);
    await sleep(300); // nothing more (no duplicate) arrives later
    expect(texts(alice, "gap")).toEqual(expected("to-alice"));
    expect(texts(bob, "gap")).toEqual(expected("to-bob"));
    expect(alice.data.filter((d) => d.frame.header.topic === "gap").every((d) => d.reliable && d.frame.header.from === bob.participantId)).toBe(true);
  });

  it("a wrong secret, another room, or a resume from a joined session are refused, and nothing changes for anyone", async () => {
    const { alice, bob } = await start();
    alice.dropSignaling();
    await eventually("the relay noticed the drop", () => relay!.stats().sessions === 1);
    const mallory = await joinClient(relay!, "elsewhere", "mallory", call!.log);
    extra.push(mallory);
    const secret = alice.joined!.resume.secret;
    const attempt = async (fields: { room?: string; secret?: string }, client?: WeriftClient): Promise<ServerMessage> => {
      let c = client;
      if (c === undefined) {
        const { WeriftClient } = await import("@sfu-room/test-peer");
        c = new WeriftClient({ name: "guesser", log: call!.log });
        extra.push(c);
        await c.connect(relay!.signalUrl);
      }
      return c.request({ type: "resume", id: c.id(), room: fields.room ?? "call", participantId: alice.participantId, secret: fields.secret ?? secret });
    };
    const refused = { type: "error", code: "resume-refused" };
    const wrongSecret = await attempt({ secret: `${secret}x` });
    const otherRoom = await attempt({ room: "elsewhere" });
    const unknown = await attempt({ secret: "s" });
    expect(wrongSecret).toMatchObject(refused);
    expect(otherRoom).toMatchObject(refused);
    expect(unknown).toMatchObject(refused);
    // One message for every cause: nothing to learn from which part was wrong.
    expect(new Set([wrongSecret, otherRoom, unknown].map((e) => e.type === "error" && e.message)).size).toBe(1);
    // mallory, joined elsewhere, holding alice's real grant: refused as a joined session, still mallory.
    expect(await attempt({ room: "call" }, mallory)).toMatchObject({ type: "error", code: "already-joined" });
    expect(relay!.stats()).toMatchObject({ participants: 3, resumes: 0, resumeRefusals: 3 });
    expect(roster(bob).filter((e) => e.type === "participant-left")).toEqual([]);
    // alice herself can still come back.
    expect((await alice.resume(relay!.signalUrl)).type).toBe("resumed");
    await call!.undisturbed();
    expect(mallory.errors.map((e) => e.type === "error" && e.code)).toEqual(["already-joined"]);
  });

  it("a resume takes over a session the relay still holds (a half-open socket): the old one is closed", async () => {
    const { alice } = await start();
    const old = alice.ws;
    const oldClosed = new Promise<void>((resolve) => old.once("close", () => resolve()));
    expect((await alice.resume(relay!.signalUrl)).type).toBe("resumed");
    await oldClosed;
    await eventually("one session per participant", () => relay!.stats().sessions === 2);
    expect(relay!.stats()).toMatchObject({ participants: 2, resumes: 1 });
    await call!.undisturbed();
  });

  it("signaling and media both stalled past the media grace but within the window: still resumable, and ICE restarts", async () => {
    const { alice, bob } = await start({ pingIntervalMs: 200, peerTimeoutMs: 1000, ...resumeWindow(10_000) });
    // The network goes: no pongs (the relay drops the socket after two missed pings), no media.
    (alice.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    alice.stallMedia(true);
    await eventually("the relay dropped alice's socket", () => relay!.stats().sessions === 1);
    await sleep(2500); // well past the 1 s media grace
    expect(roster(bob).filter((e) => e.type === "participant-left")).toEqual([]);
    expect(relay!.stats()).toMatchObject({ participants: 2, peerConnections: 4 });

    // The network is back: a new socket, resume, ICE restart; media flows again both ways.
    alice.stallMedia(false);
    alice.dropSignaling();
    expect((await alice.resume(relay!.signalUrl)).type).toBe("resumed");
    expect((await alice.restartIce()).type).toBe("ice-restarted");
    await call!.mediaFlows();
  });

  it("a media connection that fails while away does not remove the participant before the window; still down once back, it does", async () => {
    const { alice, bob } = await start({ peerTimeoutMs: 1000, ...resumeWindow(8000) });
    alice.dropSignaling();
    await eventually("the relay noticed the drop", () => relay!.stats().sessions === 1);
    await sendProtectedAlert(alice.publisher, 1, 0); // close_notify: the relay's publisher connection for alice fails
    await sleep(2500); // past the failed grace (1 s here), twice
    expect(roster(bob).filter((e) => e.type === "participant-left")).toEqual([]);
    expect(relay!.stats().participants).toBe(2);
    // Back, with that connection still dead (DTLS cannot be restarted): the next grace removes her, saying why.
    expect((await alice.resume(relay!.signalUrl)).type).toBe("resumed");
    const closed = new Promise<string>((resolve) => alice.ws.once("close", (_code, reason) => resolve(reason.toString())));
    expect(await closed).toMatch(/^connection lost \(failed\)/);
    await eventually("bob saw alice leave", () => roster(bob).some((e) => e.type === "participant-left" && e.participantId === alice.participantId));
  });
});

describe("restart-ice", () => {
  it("gives both connections of a publisher fresh ICE credentials, and media flows on with the same SSRCs", async () => {
    const { alice } = await start();
    const before = {
      publisherOffer: ufrag(alice.publisher!.localDescription?.sdp),
      publisherAnswer: ufrag(alice.lastPublisherAnswer),
      subscriberOffer: ufrag(alice.lastSubscriberOffer),
      subscriberAnswer: ufrag(alice.subscriber!.localDescription?.sdp),
    };
    const ssrcs = ssrcsOf(alice);
    const offers = alice.subscriberOffers;
    const reply = await alice.restartIce();
    expect(reply).toMatchObject({ type: "ice-restarted", sdp: expect.stringMatching(/^v=0/) });
    await eventually("the relay's new subscriber offer is answered", () => alice.subscriberOffers > offers && alice.subscriber!.signalingState === "stable");
    const after = {
      publisherOffer: ufrag(alice.publisher!.localDescription?.sdp),
      publisherAnswer: ufrag(alice.lastPublisherAnswer),
      subscriberOffer: ufrag(alice.lastSubscriberOffer),
      subscriberAnswer: ufrag(alice.subscriber!.localDescription?.sdp),
    };
    for (const key of Object.keys(before) as Array<keyof typeof before>) {
      expect(before[key], key).toBeDefined();
      expect(after[key], key).toBeDefined();
      expect(after[key], key).not.toBe(before[key]);
    }
    await call!.mediaFlows();
    expect(ssrcsOf(alice)).toEqual(ssrcs);
    await call!.undisturbed();
  });

  it("a client that has not published restarts its subscriber connection alone; an sdp that does not fit is bad-sdp; without sdp only the subscriber restarts", async () => {
    const { alice, bob } = await start();
    const carol = await joinClient(relay!, "call", "carol", call!.log);
    extra.push(carol);
    await eventually("carol receives everything", () => carol.received.size === 4);
    await carol.connected();
    const offerUfrag = ufrag(carol.lastSubscriberOffer);
    const offers = carol.subscriberOffers;

    // carol has no publisher connection: an sdp is refused, and nothing restarted.
    expect(await carol.request({ type: "restart-ice", id: "x", sdp: alice.publisher!.localDescription!.sdp })).toMatchObject({ type: "error", id: "x", code: "bad-sdp", message: expect.stringMatching(/without sdp/) });
    expect(carol.subscriberOffers).toBe(offers);
    // alice has one but sends no offer (she may have rolled back a publish answered while she was away):
    // her subscriber connection restarts alone, her publisher connection goes on.
    const aliceUfrag = ufrag(alice.lastSubscriberOffer);
    const aliceOffers = alice.subscriberOffers;
    expect(await alice.request({ type: "restart-ice", id: "y" })).toEqual({ type: "ice-restarted", id: "y" });
    await eventually("alice answered the relay's restart offer", () => alice.subscriberOffers > aliceOffers && alice.subscriber!.signalingState === "stable");
    expect(ufrag(alice.lastSubscriberOffer)).not.toBe(aliceUfrag);

    expect(await carol.restartIce()).toEqual({ type: "ice-restarted", id: expect.any(String) });
    await eventually("carol answered the relay's restart offer", () => carol.subscriberOffers > offers && carol.subscriber!.signalingState === "stable");
    expect(ufrag(carol.lastSubscriberOffer)).not.toBe(offerUfrag);
    await expectMediaFlowing([carol], "to carol after her ICE restart");
    await call!.undisturbed();
    expect(bob.errors).toEqual([]);
  });
});
