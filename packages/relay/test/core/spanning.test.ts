/**
 * Rooms spanning nodes, as one node's core sees them (participant.ts, Presence): another node's pipe
 * receives only this node's own participants' tracks (no loops), and participants of the other node are
 * mirrors here whose tracks this node's subscribers receive; the layer those subscribers need is asked
 * of the origin (`upstream-layer`).
 */
import { describe, expect, it } from "vitest";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import type { Output } from "../../src/core/index.ts";
import type { MirroredTrack } from "../../src/core/types.ts";
import { audio, newCore, published, rtp, signals, stepAll, video } from "./harness.ts";

const SIZES = [
  { width: 320, height: 180 },
  { width: 640, height: 360 },
  { width: 1280, height: 720 },
];

function join(core: SfuCore, id: string, presence?: { kind: "pipe"; node: string } | { kind: "mirror"; origin: string }): Output[] {
  return stepAll(core, { type: "join", now: 0, participantId: id, requestId: "j", room: "r", name: id, autoSubscribe: true, ...(presence ? { presence } : {}) }, true);
}

const mirroredCam: MirroredTrack = { trackId: "bob-cam", kind: "video", source: "camera", codec: "video/VP8", clockRate: 90000, muted: false, layers: ["q", "h", "f"], layerSizes: SIZES };
const mirroredMic: MirroredTrack = { trackId: "bob-mic", kind: "audio", source: "microphone", codec: "audio/opus", clockRate: 48000, muted: false, layers: [] };

/** alice here (publishing), bob mirrored from node B (publishing), carol here, B's pipe. */
function spanningRoom(): SfuCore {
  const core = newCore();
  join(core, "alice");
  published(core, { now: 0, participantId: "alice", requestId: "p", tracks: [video("alice-cam", ["q", "h", "f"]), audio("alice-mic")] });
  join(core, "bob", { kind: "mirror", origin: "B" });
  stepAll(core, { type: "mirror-publish", now: 0, participantId: "bob", tracks: [mirroredCam, mirroredMic] });
  join(core, "carol");
  return core;
}

const upstream = (outputs: Output[]) => outputs.filter((o) => o.type === "upstream-layer").map((o) => (o.type === "upstream-layer" ? [o.trackId, o.layer] : []));
const subscribed = (core: SfuCore, id: string) => core.subscriptionsOf(id).map((s) => s.trackId);

describe("rooms spanning nodes: one node's core", () => {
  it("a mirror is announced to this node's participants, who receive its tracks; it has no connections here and no webhooks", () => {
    const core = newCore();
    join(core, "alice");
    const joined = join(core, "bob", { kind: "mirror", origin: "B" });
    expect(joined).toContainEqual({ type: "participant-added", participantId: "bob", mirrored: true });
    expect(joined.filter((o) => o.type === "room-event")).toEqual([]);
    expect(signals(joined)).toContainEqual(["alice", { type: "participant-joined", participant: { id: "bob", name: "bob", tracks: [] } }]);

    const out = stepAll(core, { type: "mirror-publish", now: 0, participantId: "bob", tracks: [mirroredCam] }, true);
    expect(out.filter((o) => o.type === "room-event")).toEqual([]);
    // Announced with the origin's layers (the subscribers here choose among them), and subscribed.
    expect(signals(out)).toContainEqual(["alice", { type: "track-published", track: { id: "bob-cam", participantId: "bob", kind: "video", source: "camera", codec: "video/VP8", layers: ["q", "h", "f"], muted: false } }]);
    expect(subscribed(core, "alice")).toEqual(["bob-cam"]);
    // A mirror subscribes to nothing here (its node's pipe carries what it receives).
    published(core, { now: 0, participantId: "alice", requestId: "p", tracks: [audio("alice-mic")] });
    expect(subscribed(core, "bob")).toEqual([]);
  });

  it("another node's pipe receives only this node's own participants and tracks: never a mirror's (no loops)", () => {
    const core = spanningRoom();
    const joined = join(core, "pipe-B", { kind: "pipe", node: "B" });
    const reply = signals(joined).find(([to, m]) => to === "pipe-B" && m.type === "joined")![1];
    expect(reply.type === "joined" && reply.participants.map((p) => p.id)).toEqual(["alice", "carol"]);
    expect(subscribed(core, "pipe-B")).toEqual(["alice-cam", "alice-mic"]);
    // The pipe is hidden: nobody is told of it.
    expect(signals(joined).filter(([to]) => to !== "pipe-B")).toEqual([]);

    // Later: a new mirror and its track are not told to the pipe; a new local's are.
    const dave = join(core, "dave", { kind: "mirror", origin: "B" });
    expect(signals(dave).filter(([to]) => to === "pipe-B")).toEqual([]);
    const daveCam = stepAll(core, { type: "mirror-publish", now: 0, participantId: "dave", tracks: [{ ...mirroredCam, trackId: "dave-cam" }] });
    expect(signals(daveCam).filter(([to]) => to === "pipe-B")).toEqual([]);
    const carolMic = published(core, { now: 0, participantId: "carol", requestId: "p", tracks: [audio("carol-mic")] });
    expect(signals(carolMic).filter(([to]) => to === "pipe-B").map(([, m]) => m.type)).toEqual(["track-published"]);
    expect(subscribed(core, "pipe-B")).toEqual(["alice-cam", "alice-mic", "carol-mic"]);
    // A mirror leaving is not told to the pipe either; a local leaving is.
    expect(signals(stepAll(core, { type: "leave", now: 0, participantId: "dave" })).filter(([to]) => to === "pipe-B")).toEqual([]);
    expect(signals(stepAll(core, { type: "leave", now: 0, participantId: "carol" })).filter(([to]) => to === "pipe-B").map(([, m]) => m.type)).toEqual(["track-unpublished", "participant-left"]);
  });

  it("a mirror's track is forwarded to the subscribers here as any track", () => {
    const core = spanningRoom();
    const sub = core.subscriptionOf("carol", "bob-cam")!;
    stepAll(core, { type: "subscription-ready", now: 0, subscriptionId: sub });
    const out = stepAll(core, rtp("bob", "bob-cam", { seq: 7, keyframe: true, now: 10 }));
    expect(out.filter((o) => o.type === "forward").map((o) => (o.type === "forward" ? o.subscriberId : ""))).toEqual(["carol"]); // alice's subscription is not ready yet
  });

  it("upstream-layer: the highest origin layer any subscriber here picks, -1 when all are paused or none is left", () => {
    const core = newCore();
    join(core, "bob", { kind: "mirror", origin: "B" });
    // Nobody here yet: nothing is needed.
    expect(upstream(stepAll(core, { type: "mirror-publish", now: 0, participantId: "bob", tracks: [mirroredCam] }))).toEqual([["bob-cam", -1]]);
    expect(upstream(join(core, "alice"))).toEqual([["bob-cam", 2]]); // auto, tile size unknown: the top layer
    const settings = (id: string, s: object) => upstream(stepAll(core, { type: "subscription-settings", now: 0, participantId: id, requestId: "s", trackId: "bob-cam", settings: s }));
    expect(settings("alice", { quality: "low" })).toEqual([["bob-cam", 0]]);
    expect(upstream(join(core, "carol"))).toEqual([["bob-cam", 2]]);
    expect(settings("carol", { width: 600, height: 340 })).toEqual([["bob-cam", 1]]); // the 640x360 layer covers the tile
    expect(settings("carol", { width: 620, height: 350 })).toEqual([]); // unchanged: nothing said
    expect(settings("carol", { visible: false })).toEqual([["bob-cam", 0]]);
    expect(settings("alice", { visible: false })).toEqual([["bob-cam", -1]]);
    expect(settings("alice", { visible: true })).toEqual([["bob-cam", 0]]);
    expect(upstream(stepAll(core, { type: "leave", now: 0, participantId: "alice" }))).toEqual([["bob-cam", -1]]);
  });

  it("unpublish, mute and leave of a mirror reach this node's participants; its join never replaces a local session with the same identity", () => {
    const core = spanningRoom();
    expect(signals(stepAll(core, { type: "mute", now: 0, participantId: "bob", requestId: "", trackId: "bob-mic", muted: true })).filter(([to]) => to === "carol").map(([, m]) => m.type)).toEqual(["track-muted"]);
    stepAll(core, { type: "unpublish", now: 0, participantId: "bob", requestId: "", trackId: "bob-mic" });
    expect(subscribed(core, "carol")).toEqual(["alice-cam", "alice-mic", "bob-cam"]);
    const left = stepAll(core, { type: "leave", now: 0, participantId: "bob" }, true);
    expect(left.filter((o) => o.type === "room-event")).toEqual([]);
    expect(signals(left).filter(([to]) => to === "carol").map(([, m]) => m.type)).toEqual(["track-unpublished", "participant-left"]);

    const grants = (identity: string) => ({ granted: { identity, name: undefined, metadata: undefined, room: "r", roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true, canPublishSources: ["camera", "microphone", "screen_share", "screen_share_audio"], hidden: false, roomAdmin: false, roomList: false } as never });
    stepAll(core, { type: "join", now: 0, participantId: "erin", requestId: "j", room: "r", name: "erin", autoSubscribe: true, access: grants("erin@example") });
    stepAll(core, { type: "join", now: 0, participantId: "erin-on-B", requestId: "j", room: "r", name: "erin", autoSubscribe: true, access: grants("erin@example"), presence: { kind: "mirror", origin: "B" } });
    expect(core.participantRoom("erin")).toBe("r");
    expect(core.participantRoom("erin-on-B")).toBe("r");
  });

  it("data: a frame of a participant here goes to those here and once to each pipe (naming the recipients on its node); one that came through a pipe goes to those here only", () => {
    const core = spanningRoom();
    join(core, "pipe-B", { kind: "pipe", node: "B" });
    const data = (from: string, to?: string[]) =>
      stepAll(core, { type: "data", now: 0, participantId: from, reliable: true, malformed: undefined, to, size: 10, messageId: "m" });
    expect(data("alice")).toEqual([{ type: "deliver-data", from: "alice", recipients: ["carol"], reliable: true, relayed: [{ pipe: "pipe-B", to: undefined }] }]);
    expect(data("alice", ["bob"])).toEqual([{ type: "deliver-data", from: "alice", recipients: [], reliable: true, relayed: [{ pipe: "pipe-B", to: ["bob"] }] }]);
    expect(data("alice", ["bob", "carol"])).toEqual([{ type: "deliver-data", from: "alice", recipients: ["carol"], reliable: true, relayed: [{ pipe: "pipe-B", to: ["bob"] }] }]);
    expect(signals(data("alice", ["pipe-B"]))).toEqual([["alice", expect.objectContaining({ type: "error", code: "unknown-participant" })]]);
    // bob's frame came through B's pipe: only those here get it (B delivered to its own), never back.
    expect(data("bob")).toEqual([{ type: "deliver-data", from: "bob", recipients: ["alice", "carol"], reliable: true }]);
    expect(data("bob", ["carol"])).toEqual([{ type: "deliver-data", from: "bob", recipients: ["carol"], reliable: true }]);
    // A mirror of a node with no pipe here (yet): not delivered, and the sender is told why.
    join(core, "dave", { kind: "mirror", origin: "C" });
    const refused = signals(data("alice", ["dave"]));
    expect(refused).toEqual([["alice", expect.objectContaining({ type: "error", code: "unknown-participant", message: expect.stringContaining("relay node C") })]]);
  });

  it("a mirror's name and metadata changed on its node: the participants here are told, the pipes are not", () => {
    const core = spanningRoom();
    join(core, "pipe-B", { kind: "pipe", node: "B" });
    const out = signals(stepAll(core, { type: "mirror-update", now: 0, participantId: "bob", name: "Bob B.", metadata: "{}" }));
    expect(out.map(([to]) => to)).toEqual(["alice", "carol"]);
    expect(out[0]![1]).toMatchObject({ type: "participant-updated", participant: { id: "bob", name: "Bob B.", metadata: "{}" } });
    expect(stepAll(core, { type: "mirror-update", now: 0, participantId: "carol", name: "not a mirror", metadata: undefined })).toEqual([]);
  });

  it("the room starts and finishes with this node's own participants (webhooks), whatever pipes and mirrors come and go; they never fill it", () => {
    const core = newCore({ maxParticipantsPerRoom: 2 });
    const events = (outputs: Output[]) => outputs.filter((o) => o.type === "room-event").map((o) => (o.type === "room-event" ? o.event : ""));
    expect(events(join(core, "bob", { kind: "mirror", origin: "B" }))).toEqual([]);
    expect(events(join(core, "pipe-B", { kind: "pipe", node: "B" }))).toEqual([]);
    expect(events(join(core, "alice"))).toEqual(["room_started", "participant_joined"]);
    // Two people are in it (alice here, bob on B): a third local is refused, another node's are not.
    expect(signals(join(core, "carol"))).toEqual([["carol", expect.objectContaining({ type: "error", code: "room-full" })]]);
    expect(core.participantRoom("carol")).toBeUndefined();
    join(core, "dave", { kind: "mirror", origin: "B" });
    join(core, "pipe-C", { kind: "pipe", node: "C" });
    expect(core.participantRoom("dave")).toBe("r");
    expect(core.participantRoom("pipe-C")).toBe("r");
    expect(events(stepAll(core, { type: "leave", now: 0, participantId: "alice" }, true))).toEqual(["participant_left", "room_finished"]);
    // The pipes and mirrors still there keep it a moment; a new participant here starts it again (once
    // there is room: bob left on B).
    expect(events(stepAll(core, { type: "leave", now: 0, participantId: "bob" }, true))).toEqual([]);
    expect(events(join(core, "erin"))).toEqual(["room_started", "participant_joined"]);
    for (const id of ["dave", "pipe-B", "pipe-C"]) expect(events(stepAll(core, { type: "leave", now: 0, participantId: id }, true))).toEqual([]);
    expect(events(stepAll(core, { type: "leave", now: 0, participantId: "erin" }, true))).toEqual(["participant_left", "room_finished"]);
    expect(core.stats().rooms).toBe(0);
  });

  it("a rejoin keeps its seat in a room other nodes' mirrors filled past the limit meanwhile", () => {
    const core = newCore({ maxParticipantsPerRoom: 2, resumeWindowMs: 10_000 });
    stepAll(core, { type: "join", now: 0, participantId: "alice", requestId: "j", room: "r", name: "alice", autoSubscribe: true, resumeSecret: "alice-secret" });
    join(core, "bob", { kind: "mirror", origin: "B" });
    join(core, "dave", { kind: "mirror", origin: "B" }); // 3 people: joins on two nodes at once
    stepAll(core, { type: "session-closed", now: 0, participantId: "alice" });
    const rejoin = stepAll(core, {
      type: "join", now: 1, participantId: "alice-2", requestId: "j", room: "r", name: "alice", autoSubscribe: true,
      rejoinOf: { participantId: "alice", secret: "alice-secret" },
    }, true);
    expect(signals(rejoin).find(([to]) => to === "alice-2")![1]).toMatchObject({ type: "joined" });
    expect(rejoin.filter((o) => o.type === "room-event").map((o) => (o.type === "room-event" ? o.event : ""))).toEqual(["participant_left", "participant_joined"]);
    expect([core.participantRoom("alice"), core.participantRoom("alice-2")]).toEqual([undefined, "r"]);
  });

  it("a pipe cannot publish (it joins hidden) and a local participant cannot mirror-publish", () => {
    const core = spanningRoom();
    join(core, "pipe-B", { kind: "pipe", node: "B" });
    const offer = stepAll(core, { type: "publish-offer", now: 0, participantId: "pipe-B", requestId: "p", sdp: "o", tracks: [{ trackId: "x", mid: "0", kind: "audio", source: "microphone", layers: [], muted: false }] });
    expect(signals(offer)).toEqual([["pipe-B", expect.objectContaining({ type: "error", code: "forbidden" })]]);
    expect(stepAll(core, { type: "mirror-publish", now: 0, participantId: "carol", tracks: [{ ...mirroredMic, trackId: "fake" }] })).toEqual([]);
    expect(core.trackOwner("fake")).toBeUndefined();
  });
});
