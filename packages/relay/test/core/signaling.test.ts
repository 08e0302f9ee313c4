import { describe, expect, it } from "vitest";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import type { Input, Output } from "../../src/core/index.ts";
import { audio, drain, newCore, publish, published, rtp, step, video } from "./harness.ts";

const join = (core: SfuCore, participantId: string, room = "r1", autoSubscribe = true, name = participantId.toUpperCase()) =>
  step(core, { type: "join", now: 0, participantId, requestId: `join-${participantId}`, room, name, autoSubscribe });

const ZERO = {
  rooms: 0, participants: 0, tracks: 0, subscriptions: 0, pendingKeyframeRequests: 0, resumes: 0, resumeRefusals: 0, rejoins: 0,
  layerSwitches: 0, dataRelayed: 0, dataRefused: 0, retransmits: 0, retransmitsWithheld: 0, nackedToPublishers: 0, lossesGivenUp: 0,
  pacerDropped: 0, probes: 0, probesSucceeded: 0, probePackets: 0,
};

const info = (id: string, participantId: string, kind: "audio" | "video", layers: string[] = [], muted = false) => ({
  id,
  participantId,
  kind,
  source: kind === "audio" ? "microphone" : "camera",
  codec: kind === "audio" ? "audio/opus" : "video/VP8",
  layers,
  muted,
});

describe("join", () => {
  it("creates the room and replies joined with nobody else", () => {
    const core = newCore();
    expect(join(core, "a")).toEqual([
      { type: "signal", participantId: "a", message: { type: "joined", id: "join-a", participantId: "a", room: "r1", participants: [], iceServers: [], resume: { secret: "", windowMs: 20000 } } },
      { type: "participant-added", participantId: "a" },
    ]);
    expect(core.stats()).toEqual({ ...ZERO, rooms: 1, participants: 1 });
    expect(core.participantRoom("a")).toBe("r1");
    expect(drain(core).at).toBe(Infinity);
  });

  it("lists the others with their tracks, announces the joiner, then auto-subscribes the joiner", () => {
    const core = newCore();
    join(core, "a");
    published(core, { now: 0, participantId: "a", requestId: "p1", tracks: [audio("a-mic"), video("a-cam", ["q", "h", "f"])] });
    join(core, "b", "r1", false);
    const out = join(core, "c");
    expect(out).toEqual([
      {
        type: "signal",
        participantId: "c",
        message: {
          type: "joined",
          id: "join-c",
          participantId: "c",
          room: "r1",
          participants: [
            { id: "a", name: "A", tracks: [info("a-mic", "a", "audio"), info("a-cam", "a", "video", ["q", "h", "f"])] },
            { id: "b", name: "B", tracks: [] },
          ],
          iceServers: [],
          resume: { secret: "", windowMs: 20000 },
        },
      },
      { type: "participant-added", participantId: "c" },
      { type: "signal", participantId: "a", message: { type: "participant-joined", participant: { id: "c", name: "C", tracks: [] } } },
      { type: "signal", participantId: "b", message: { type: "participant-joined", participant: { id: "c", name: "C", tracks: [] } } },
      { type: "subscription-added", subscriptionId: 1, subscriberId: "c", publisherId: "a", trackId: "a-mic", kind: "audio", codec: "audio/opus" },
      { type: "subscription-added", subscriptionId: 2, subscriberId: "c", publisherId: "a", trackId: "a-cam", kind: "video", codec: "video/VP8" },
    ]);
    expect(core.stats()).toEqual({ ...ZERO, rooms: 1, participants: 3, tracks: 2, subscriptions: 2 });
  });

  it("does not auto-subscribe a late joiner with autoSubscribe false", () => {
    const core = newCore();
    join(core, "a");
    published(core, { now: 0, participantId: "a", requestId: "p1", tracks: [audio("a-mic")] });
    const out = join(core, "b", "r1", false);
    expect(out.map((o) => o.type)).toEqual(["signal", "participant-added", "signal"]);
    expect(core.stats().subscriptions).toBe(0);
  });

  it("refuses an already joined participant without changing anything", () => {
    const core = newCore();
    join(core, "a");
    join(core, "b");
    const before = core.stats();
    expect(join(core, "a", "r2")).toEqual([
      {
        type: "signal",
        participantId: "a",
        message: { type: "error", id: "join-a", code: "already-joined", message: expect.stringContaining("already joined") },
      },
    ]);
    expect(core.stats()).toEqual(before);
    expect(core.participantRoom("a")).toBe("r1");
  });

  it("refuses a join beyond maxParticipantsPerRoom: only the joiner hears of it", () => {
    const core = newCore({ maxParticipantsPerRoom: 2 });
    join(core, "a");
    join(core, "b");
    const before = core.stats();
    expect(join(core, "c")).toEqual([
      {
        type: "signal",
        participantId: "c",
        message: { type: "error", id: "join-c", code: "room-full", message: expect.stringContaining("full") },
      },
    ]);
    expect(core.stats()).toEqual(before);
    expect(core.participantRoom("c")).toBeUndefined();
    // Another room is not affected, and a place freed is usable.
    expect(join(core, "c", "r2")[0]).toMatchObject({ message: { type: "joined", room: "r2" } });
    step(core, { type: "leave", now: 0, participantId: "a" });
    expect(join(core, "d")[0]).toMatchObject({ message: { type: "joined", room: "r1" } });
  });
});

describe("publish", () => {
  it("announces each track to the others and subscribes those with autoSubscribe", () => {
    const core = newCore();
    join(core, "a");
    join(core, "b");
    join(core, "c", "r1", false);
    join(core, "x", "other-room");
    const tracks = [audio("a-mic", { mid: "0" }), video("a-cam", ["q", "f"], { mid: "1", muted: true })];
    const out = publish(core, { now: 0, participantId: "a", requestId: "p1", tracks });
    expect(out).toEqual([
      // Phase 1: allowed, nothing announced yet: the adapter negotiates the SDP.
      {
        type: "negotiate-publish",
        participantId: "a",
        requestId: "p1",
        sdp: "offer",
        tracks: [
          { trackId: "a-mic", mid: "0", kind: "audio", layers: [] },
          { trackId: "a-cam", mid: "1", kind: "video", layers: ["q", "f"] },
        ],
      },
      // Phase 2: negotiated: the reply, then the room learns the tracks.
      { type: "signal", participantId: "a", message: { type: "publish-answer", id: "p1", sdp: "answer", tracks: [{ mid: "0", trackId: "a-mic" }, { mid: "1", trackId: "a-cam" }] } },
      { type: "signal", participantId: "b", message: { type: "track-published", track: info("a-mic", "a", "audio") } },
      { type: "signal", participantId: "c", message: { type: "track-published", track: info("a-mic", "a", "audio") } },
      { type: "subscription-added", subscriptionId: 1, subscriberId: "b", publisherId: "a", trackId: "a-mic", kind: "audio", codec: "audio/opus" },
      { type: "signal", participantId: "b", message: { type: "track-published", track: info("a-cam", "a", "video", ["q", "f"], true) } },
      { type: "signal", participantId: "c", message: { type: "track-published", track: info("a-cam", "a", "video", ["q", "f"], true) } },
      { type: "subscription-added", subscriptionId: 2, subscriberId: "b", publisherId: "a", trackId: "a-cam", kind: "video", codec: "video/VP8" },
    ]);
    expect(core.stats()).toEqual({ ...ZERO, rooms: 2, participants: 4, tracks: 2, subscriptions: 2 });
    expect(core.trackOwner("a-cam")).toBe("a");
    expect(core.subscriptionOf("b", "a-cam")).toBe(2);
    expect(core.subscriptionOf("c", "a-cam")).toBeUndefined();
  });

  it("refuses too many tracks with no state change and nothing to the others", () => {
    const core = newCore({ maxTracksPerParticipant: 2 });
    join(core, "a");
    join(core, "b");
    published(core, { now: 0, participantId: "a", requestId: "p1", tracks: [audio("a1")] });
    const before = core.stats();
    const out = published(core, { now: 0, participantId: "a", requestId: "p2", tracks: [video("a2"), video("a3")] });
    expect(out).toEqual([
      {
        type: "signal",
        participantId: "a",
        message: { type: "error", id: "p2", code: "too-many-tracks", message: expect.stringContaining("at most 2") },
      },
    ]);
    expect(core.stats()).toEqual(before);
    expect(core.trackOwner("a2")).toBeUndefined();
    // Exactly at the limit is fine.
    expect(published(core, { now: 0, participantId: "a", requestId: "p3", tracks: [video("a2")] }).length).toBe(2);
  });

  it("refuses a track id already in use, publishing none of the offer", () => {
    const core = newCore();
    join(core, "a");
    join(core, "b");
    published(core, { now: 0, participantId: "a", requestId: "p1", tracks: [audio("t1")] });
    const before = core.stats();
    for (const tracks of [[video("t2"), audio("t1")], [video("t3", [], { mid: "m1" }), video("t3", [], { mid: "m2" })]]) {
      const out = published(core, { now: 0, participantId: "b", requestId: "p2", tracks });
      expect(out).toEqual([
        { type: "signal", participantId: "b", message: { type: "error", id: "p2", code: "internal", message: expect.stringContaining("already in use") } },
      ]);
    }
    expect(core.stats()).toEqual(before);
  });

  it("refuses offers that reuse an m-line, before any SDP is touched", () => {
    const core = newCore();
    join(core, "a");
    join(core, "b");
    published(core, { now: 0, participantId: "a", requestId: "p1", tracks: [audio("a-mic", { mid: "0" })] });
    const before = core.stats();
    expect(publish(core, { now: 0, participantId: "a", requestId: "p2", tracks: [video("a-cam", [], { mid: "0" })] })).toEqual([
      { type: "signal", participantId: "a", message: { type: "error", id: "p2", code: "already-published", message: expect.stringContaining('mid "0" already carries your track "a-mic"') } },
    ]);
    expect(publish(core, { now: 0, participantId: "a", requestId: "p3", tracks: [video("x", [], { mid: "1" }), video("y", [], { mid: "1" })] })).toEqual([
      { type: "signal", participantId: "a", message: { type: "error", id: "p3", code: "bad-message", message: expect.stringContaining('mid "1" is listed twice') } },
    ]);
    expect(core.stats()).toEqual(before);
    // After unpublishing, the m-line may carry a new track.
    step(core, { type: "unpublish", now: 0, participantId: "a", requestId: "u", trackId: "a-mic" });
    expect(publish(core, { now: 0, participantId: "a", requestId: "p4", tracks: [audio("a-mic2", { mid: "0" })] })[0]).toMatchObject({ type: "negotiate-publish" });
  });

  it("one offer at a time; a failed negotiation publishes nothing and frees the way", () => {
    const core = newCore();
    join(core, "a");
    join(core, "b");
    const offer = (requestId: string, trackId: string) =>
      step(core, { type: "publish-offer", now: 0, participantId: "a", requestId, sdp: "offer", tracks: [{ trackId, mid: trackId, kind: "audio", source: "microphone", layers: [], muted: false }] });
    expect(offer("p1", "t1").map((o) => o.type)).toEqual(["negotiate-publish"]);
    expect(offer("p2", "t2")).toEqual([
      { type: "signal", participantId: "a", message: { type: "error", id: "p2", code: "publish-pending", message: expect.stringContaining("wait for its publish-answer") } },
    ]);
    expect(step(core, { type: "negotiation-failed", now: 0, participantId: "a", requestId: "p1", code: "bad-sdp", message: "the SDP offer could not be parsed" })).toEqual([
      { type: "signal", participantId: "a", message: { type: "error", id: "p1", code: "bad-sdp", message: "the SDP offer could not be parsed" } },
    ]);
    expect(core.stats()).toEqual({ ...ZERO, rooms: 1, participants: 2 });
    // A late result for the failed offer changes nothing.
    expect(step(core, { type: "publish-negotiated", now: 0, participantId: "a", requestId: "p1", sdp: "answer", tracks: [{ trackId: "t1", codec: "audio/opus", clockRate: 48000 }] })).toEqual([]);
    expect(core.trackOwner("t1")).toBeUndefined();
    expect(offer("p3", "t3").map((o) => o.type)).toEqual(["negotiate-publish"]);
  });

  it("a publisher who leaves while negotiating leaves nothing behind", () => {
    const core = newCore();
    join(core, "a");
    join(core, "b");
    step(core, { type: "publish-offer", now: 0, participantId: "a", requestId: "p1", sdp: "offer", tracks: [{ trackId: "t1", mid: "0", kind: "audio", source: "microphone", layers: [], muted: false }] });
    step(core, { type: "leave", now: 0, participantId: "a" });
    join(core, "a");
    expect(step(core, { type: "publish-negotiated", now: 0, participantId: "a", requestId: "p1", sdp: "answer", tracks: [{ trackId: "t1", codec: "audio/opus", clockRate: 48000 }] })).toEqual([]);
    expect(core.stats()).toEqual({ ...ZERO, rooms: 1, participants: 2 });
  });
});

describe("unpublish and mute", () => {
  const setup = () => {
    const core = newCore();
    join(core, "a");
    join(core, "b");
    join(core, "c");
    join(core, "z", "elsewhere");
    published(core, { now: 0, participantId: "a", requestId: "p1", tracks: [audio("a-mic"), video("a-cam")] });
    published(core, { now: 0, participantId: "z", requestId: "p1", tracks: [audio("z-mic")] });
    return core;
  };

  it("unpublish removes the subscriptions, tells the others, answers ok", () => {
    const core = setup();
    expect(step(core, { type: "unpublish", now: 0, participantId: "a", requestId: "u1", trackId: "a-cam" })).toEqual([
      { type: "subscription-removed", subscriptionId: 3, subscriberId: "b" },
      { type: "subscription-removed", subscriptionId: 4, subscriberId: "c" },
      { type: "publication-removed", publisherId: "a", trackId: "a-cam" },
      { type: "signal", participantId: "b", message: { type: "track-unpublished", trackId: "a-cam", participantId: "a" } },
      { type: "signal", participantId: "c", message: { type: "track-unpublished", trackId: "a-cam", participantId: "a" } },
      { type: "signal", participantId: "a", message: { type: "ok", id: "u1" } },
    ]);
    expect(core.stats()).toEqual({ ...ZERO, rooms: 2, participants: 4, tracks: 2, subscriptions: 2 });
    expect(step(core, { type: "unpublish", now: 0, participantId: "a", requestId: "u2", trackId: "a-mic" }).map((o) => o.type)).toEqual([
      "subscription-removed",
      "subscription-removed",
      "publication-removed",
      "signal",
      "signal",
      "signal",
    ]);
    // The track is gone: packets for it are ignored.
    expect(step(core, rtp("a", "a-mic"))).toEqual([]);
  });

  it("unknown-track and not-your-track change nothing and tell nobody else", () => {
    const core = setup();
    const before = core.stats();
    const cases: [string, string, string][] = [
      ["b", "nope", "unknown-track"],
      ["b", "z-mic", "unknown-track"], // exists, but in another room
      ["b", "a-cam", "not-your-track"],
    ];
    for (const [participantId, trackId, code] of cases) {
      const expected: Output[] = [
        { type: "signal", participantId, message: { type: "error", id: "q", code: code as "unknown-track", message: expect.any(String) } },
      ];
      expect(step(core, { type: "unpublish", now: 0, participantId, requestId: "q", trackId })).toEqual(expected);
      expect(step(core, { type: "mute", now: 0, participantId, requestId: "q", trackId, muted: true })).toEqual(expected);
    }
    expect(core.stats()).toEqual(before);
    expect(core.trackOwner("a-cam")).toBe("a");
  });

  it("mute tells the others once per change and answers ok", () => {
    const core = setup();
    expect(step(core, { type: "mute", now: 0, participantId: "a", requestId: "m1", trackId: "a-mic", muted: true })).toEqual([
      { type: "signal", participantId: "b", message: { type: "track-muted", trackId: "a-mic", participantId: "a", muted: true } },
      { type: "signal", participantId: "c", message: { type: "track-muted", trackId: "a-mic", participantId: "a", muted: true } },
      { type: "signal", participantId: "a", message: { type: "ok", id: "m1" } },
    ]);
    expect(step(core, { type: "mute", now: 0, participantId: "a", requestId: "m2", trackId: "a-mic", muted: true })).toEqual([
      { type: "signal", participantId: "a", message: { type: "ok", id: "m2" } },
    ]);
    // A late joiner sees the muted state.
    const joined = join(core, "d")[0]!;
    expect(joined.type === "signal" && joined.message.type === "joined" && joined.message.participants[0]).toMatchObject({
      id: "a",
      tracks: [{ id: "a-mic", muted: true }, { id: "a-cam", muted: false }],
    });
  });
});

describe("subscribe", () => {
  const setup = () => {
    const core = newCore();
    join(core, "a");
    join(core, "b", "r1", false);
    join(core, "z", "elsewhere");
    published(core, { now: 0, participantId: "a", requestId: "p1", tracks: [audio("a-mic")] });
    published(core, { now: 0, participantId: "z", requestId: "p1", tracks: [audio("z-mic")] });
    return core;
  };

  it("subscribes, is idempotent, unsubscribes", () => {
    const core = setup();
    expect(step(core, { type: "subscribe", now: 0, participantId: "b", requestId: "s1", trackId: "a-mic", subscribe: true })).toEqual([
      { type: "subscription-added", subscriptionId: 1, subscriberId: "b", publisherId: "a", trackId: "a-mic", kind: "audio", codec: "audio/opus" },
      { type: "signal", participantId: "b", message: { type: "ok", id: "s1" } },
    ]);
    expect(step(core, { type: "subscribe", now: 0, participantId: "b", requestId: "s2", trackId: "a-mic", subscribe: true })).toEqual([
      { type: "signal", participantId: "b", message: { type: "ok", id: "s2" } },
    ]);
    expect(core.stats().subscriptions).toBe(1);
    expect(step(core, { type: "subscribe", now: 0, participantId: "b", requestId: "s3", trackId: "a-mic", subscribe: false })).toEqual([
      { type: "subscription-removed", subscriptionId: 1, subscriberId: "b" },
      { type: "signal", participantId: "b", message: { type: "ok", id: "s3" } },
    ]);
    expect(step(core, { type: "subscribe", now: 0, participantId: "b", requestId: "s4", trackId: "a-mic", subscribe: false })).toEqual([
      { type: "signal", participantId: "b", message: { type: "ok", id: "s4" } },
    ]);
    expect(core.stats().subscriptions).toBe(0);
    // A new subscription gets a new id: ids are never reused.
    expect(step(core, { type: "subscribe", now: 0, participantId: "b", requestId: "s5", trackId: "a-mic", subscribe: true })[0]).toMatchObject({
      subscriptionId: 2,
    });
  });

  it("refuses unknown tracks, tracks of other rooms and one's own track", () => {
    const core = setup();
    const before = core.stats();
    expect(step(core, { type: "subscribe", now: 0, participantId: "b", requestId: "s1", trackId: "nope", subscribe: true })).toEqual([
      { type: "signal", participantId: "b", message: { type: "error", id: "s1", code: "unknown-track", message: expect.any(String) } },
    ]);
    expect(step(core, { type: "subscribe", now: 0, participantId: "b", requestId: "s2", trackId: "z-mic", subscribe: true })).toEqual([
      { type: "signal", participantId: "b", message: { type: "error", id: "s2", code: "unknown-track", message: expect.any(String) } },
    ]);
    expect(step(core, { type: "subscribe", now: 0, participantId: "a", requestId: "s3", trackId: "a-mic", subscribe: true })).toEqual([
      { type: "signal", participantId: "a", message: { type: "error", id: "s3", code: "own-track", message: expect.stringContaining("your own track") } },
    ]);
    expect(core.stats()).toEqual(before);
  });

  it("settings and keyframe requests name a track one receives: answered ok, or unknown-track", () => {
    const core = setup();
    step(core, { type: "subscribe", now: 0, participantId: "b", requestId: "s1", trackId: "a-mic", subscribe: true });
    step(core, { type: "subscription-ready", now: 0, subscriptionId: 1 });
    const before = core.stats();
    for (const trackId of ["nope", "z-mic"]) {
      const unknown = (id: string) => [
        { type: "signal", participantId: "b", message: { type: "error", id, code: "unknown-track", message: `you are not subscribed to a track "${trackId}"; subscribe first` } },
      ];
      expect(step(core, { type: "subscription-settings", now: 0, participantId: "b", requestId: "q1", trackId, settings: { quality: "low" } })).toEqual(unknown("q1"));
      expect(step(core, { type: "keyframe-request", now: 0, participantId: "b", requestId: "k1", trackId })).toEqual(unknown("k1"));
    }
    expect(step(core, { type: "subscription-settings", now: 0, participantId: "b", requestId: "q2", trackId: "a-mic", settings: { visible: false } })).toEqual([
      { type: "signal", participantId: "b", message: { type: "ok", id: "q2" } },
    ]);
    // Audio has no keyframes: the request is answered, and no PLI goes to the publisher.
    expect(step(core, { type: "keyframe-request", now: 0, participantId: "b", requestId: "k2", trackId: "a-mic" })).toEqual([
      { type: "signal", participantId: "b", message: { type: "ok", id: "k2" } },
    ]);
    expect(core.stats()).toEqual(before);
  });
});

describe("leave", () => {
  it("removes the leaver's tracks, tells the others, drops their subscriptions silently", () => {
    const core = newCore();
    join(core, "a");
    join(core, "b");
    join(core, "c");
    published(core, { now: 0, participantId: "a", requestId: "p", tracks: [audio("a-mic"), video("a-cam")] }); // subs 1-4
    published(core, { now: 0, participantId: "b", requestId: "p", tracks: [audio("b-mic")] }); // subs 5 (a), 6 (c)
    // A pending keyframe request of a's camera is dropped with it.
    step(core, { type: "subscription-ready", now: 0, subscriptionId: 3 });
    step(core, { type: "subscription-ready", now: 1, subscriptionId: 4 });
    expect(core.stats().pendingKeyframeRequests).toBe(1);

    expect(step(core, { type: "leave", now: 2, participantId: "a" })).toEqual([
      { type: "subscription-removed", subscriptionId: 1, subscriberId: "b" },
      { type: "subscription-removed", subscriptionId: 2, subscriberId: "c" },
      { type: "publication-removed", publisherId: "a", trackId: "a-mic" },
      { type: "signal", participantId: "b", message: { type: "track-unpublished", trackId: "a-mic", participantId: "a" } },
      { type: "signal", participantId: "c", message: { type: "track-unpublished", trackId: "a-mic", participantId: "a" } },
      { type: "subscription-removed", subscriptionId: 3, subscriberId: "b" },
      { type: "subscription-removed", subscriptionId: 4, subscriberId: "c" },
      { type: "publication-removed", publisherId: "a", trackId: "a-cam" },
      { type: "signal", participantId: "b", message: { type: "track-unpublished", trackId: "a-cam", participantId: "a" } },
      { type: "signal", participantId: "c", message: { type: "track-unpublished", trackId: "a-cam", participantId: "a" } },
      { type: "signal", participantId: "b", message: { type: "participant-left", participantId: "a" } },
      { type: "signal", participantId: "c", message: { type: "participant-left", participantId: "a" } },
      { type: "participant-removed", participantId: "a" },
    ]);
    expect(core.stats()).toEqual({ ...ZERO, rooms: 1, participants: 2, tracks: 1, subscriptions: 1 });
    expect(drain(core).at).toBe(Infinity);
    expect(core.subscriptionsOf("c").map((s) => s.subscriptionId)).toEqual([6]);
    expect(core.participantRoom("a")).toBeUndefined();

    // The same id may join again after leaving.
    expect(join(core, "a")[0]).toMatchObject({ message: { type: "joined" } });
  });

  it("releases everything once all have left", () => {
    const core = newCore();
    for (const room of ["r1", "r2"]) {
      for (const p of ["a", "b", "c"]) {
        join(core, `${room}-${p}`, room);
        published(core, { now: 0, participantId: `${room}-${p}`, requestId: "p", tracks: [audio(`${room}-${p}-mic`), video(`${room}-${p}-cam`, ["q", "h", "f"])] });
      }
    }
    expect(core.stats()).toEqual({ ...ZERO, rooms: 2, participants: 6, tracks: 12, subscriptions: 24 });
    for (let id = 1; id <= 24; id++) step(core, { type: "subscription-ready", now: 5, subscriptionId: id });
    expect(core.stats().pendingKeyframeRequests).toBeGreaterThan(0);
    const last = step(core, { type: "leave", now: 6, participantId: "r1-a" });
    expect(last.at(-1)).toEqual({ type: "participant-removed", participantId: "r1-a" });
    for (const room of ["r1", "r2"]) for (const p of ["a", "b", "c"]) step(core, { type: "leave", now: 6, participantId: `${room}-${p}` });
    expect(core.stats()).toEqual(ZERO);
    expect(drain(core).at).toBe(Infinity);
  });

  it("the last one out tells nobody; a second leave is ignored, one asked for is answered ok", () => {
    const core = newCore();
    join(core, "a");
    published(core, { now: 0, participantId: "a", requestId: "p", tracks: [audio("a-mic")] });
    expect(step(core, { type: "leave", now: 0, participantId: "a" })).toEqual([
      { type: "publication-removed", publisherId: "a", trackId: "a-mic" },
      { type: "participant-removed", participantId: "a" },
    ]);
    expect(core.stats()).toEqual(ZERO);
    expect(step(core, { type: "leave", now: 0, participantId: "a" })).toEqual([]);
    expect(step(core, { type: "leave", now: 0, participantId: "a", requestId: "bye" })).toEqual([
      { type: "signal", participantId: "a", message: { type: "ok", id: "bye" } },
    ]);
  });
});

describe("inputs about unknown things", () => {
  it("facts about unknown ids are ignored: nothing changes, nothing is said", () => {
    const core = newCore();
    join(core, "a");
    join(core, "b");
    published(core, { now: 0, participantId: "a", requestId: "p", tracks: [audio("a-mic")] });
    const before = core.stats();
    const inputs: Input[] = [
      { type: "leave", now: 0, participantId: "ghost" },
      { type: "publish-negotiated", now: 0, participantId: "ghost", requestId: "p", sdp: "answer", tracks: [] },
      { type: "publish-negotiated", now: 0, participantId: "a", requestId: "never-offered", sdp: "answer", tracks: [] },
      { type: "subscription-ready", now: 0, subscriptionId: 99 },
      { type: "layer-preference", now: 0, subscriptionId: 99, maxLayer: 0 },
      { type: "picture-loss", now: 0, subscriptionId: 99 },
      { type: "bandwidth-estimate", now: 0, participantId: "ghost", bitsPerSecond: 1 },
      { type: "data", now: 0, participantId: "ghost", reliable: true, malformed: undefined, to: undefined, size: 10, messageId: undefined },
      { type: "data-backed-up", now: 0, participantId: "ghost", recipients: ["a"], messageId: undefined },
      rtp("a", "nope"),
      rtp("b", "a-mic"), // not the publisher of that track
      { type: "timeout", now: 1e9 },
    ];
    for (const input of inputs) expect(step(core, input)).toEqual([]);
    expect(core.stats()).toEqual(before);
  });

  it("every request of someone who has not joined is answered not-joined, and changes nothing", () => {
    const core = newCore();
    join(core, "a");
    published(core, { now: 0, participantId: "a", requestId: "p", tracks: [audio("a-mic")] });
    const before = core.stats();
    const requests: [Input, string][] = [
      [{ type: "publish-offer", now: 0, participantId: "ghost", requestId: "r", sdp: "offer", tracks: [] }, "publish-offer"],
      [{ type: "unpublish", now: 0, participantId: "ghost", requestId: "r", trackId: "a-mic" }, "unpublish"],
      [{ type: "mute", now: 0, participantId: "ghost", requestId: "r", trackId: "a-mic", muted: true }, "mute"],
      [{ type: "subscribe", now: 0, participantId: "ghost", requestId: "r", trackId: "a-mic", subscribe: true }, "subscribe"],
      [{ type: "subscription-settings", now: 0, participantId: "ghost", requestId: "r", trackId: "a-mic", settings: { quality: "low" } }, "subscription-settings"],
      [{ type: "keyframe-request", now: 0, participantId: "ghost", requestId: "r", trackId: "a-mic" }, "request-keyframe"],
    ];
    for (const [input, name] of requests) {
      expect(step(core, input)).toEqual([
        { type: "signal", participantId: "ghost", message: { type: "error", id: "r", code: "not-joined", message: `"${name}" needs a joined session; send "join" first` } },
      ]);
    }
    // A subscriber answer (no request id) that the adapter could not apply for a stranger.
    expect(step(core, { type: "negotiation-failed", now: 0, participantId: "ghost", requestId: undefined, code: "stale-offer", message: "no offer" })).toEqual([
      { type: "signal", participantId: "ghost", message: { type: "error", code: "not-joined", message: expect.stringContaining('send "join" first') } },
    ]);
    expect(core.stats()).toEqual(before);
  });
});
