/**
 * Away and resume: a participant whose session drops is kept for the resume window (the others see
 * nothing, signals to them are dropped, media and data go on), taken back by a new session with the
 * secret of their join, and removed as a leave when the window ends. ICE restart's two phases.
 */
import { describe, expect, it } from "vitest";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import { type Input, openGrants, type Output } from "../../src/core/index.ts";
import { audio, drain, newCore, published, signals, stepAll, video } from "./harness.ts";

const WINDOW = 20_000;

function join(core: SfuCore, participantId: string, now = 0, room = "r"): Output[] {
  return stepAll(core, { type: "join", now, participantId, requestId: `j-${participantId}`, room, name: participantId, autoSubscribe: true, resumeSecret: `secret-${participantId}` });
}

const resume = (core: SfuCore, sessionId: string, resumeOf: string, fields: Partial<Extract<Input, { type: "resume" }>> = {}) =>
  stepAll(core, { type: "resume", now: 0, participantId: sessionId, requestId: "res", room: "r", resumeOf, secret: `secret-${resumeOf}`, iceServers: [], ...fields });

const drop = (core: SfuCore, participantId: string, now = 0) => stepAll(core, { type: "session-closed", now, participantId });

const REFUSED = {
  type: "signal",
  participantId: "S2",
  message: {
    type: "error", id: "res", code: "resume-refused",
    message: "the relay no longer keeps this session (resume window passed, relay restarted, or the grant is not valid); join again",
  },
};

describe("away", () => {
  it("a dropped session keeps its participant for the window: the others see nothing, signals to them are dropped, their data and subscriptions go on", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    join(core, "a");
    join(core, "b");
    expect(drop(core, "a", 1000)).toEqual([]);
    expect(drain(core).at).toBe(1000 + WINDOW);
    expect(core.participantRoom("a")).toBe("r");
    // b publishes: a is subscribed (its connection stays), but is not told (no session).
    const out = published(core, { now: 2000, participantId: "b", requestId: "p", tracks: [audio("b-mic")] });
    expect(out.filter((o) => o.type === "signal" && o.participantId === "a")).toEqual([]);
    expect(out.filter((o) => o.type === "subscription-added").map((o) => o.type === "subscription-added" && o.subscriberId)).toEqual(["a"]);
    // A joiner is announced to b only.
    expect(signals(join(core, "c", 3000)).map(([to, m]) => [to, m.type])).toEqual([["c", "joined"], ["b", "participant-joined"]]);
    // Data to and from a is still routed: their data channels are on the connection that stays up.
    const data = (from: string) => stepAll(core, { type: "data", now: 3000, participantId: from, reliable: true, malformed: undefined, to: undefined, size: 10, messageId: undefined });
    expect(data("b")).toEqual([{ type: "deliver-data", from: "b", recipients: ["a", "c"], reliable: true }]);
    expect(data("a")).toEqual([{ type: "deliver-data", from: "a", recipients: ["b", "c"], reliable: true }]);
  });

  it("is removed as a leave when the window ends, and only then", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    join(core, "a");
    join(core, "b");
    published(core, { now: 0, participantId: "a", requestId: "p", tracks: [audio("a-mic")] });
    drop(core, "a", 1000);
    expect(stepAll(core, { type: "timeout", now: 1000 + WINDOW - 1 })).toEqual([]);
    expect(core.participantRoom("a")).toBe("r");
    const out = stepAll(core, { type: "timeout", now: 1000 + WINDOW });
    expect(out.map((o) => (o.type === "signal" ? `${o.participantId}:${o.message.type}` : o.type))).toEqual([
      "subscription-removed", "publication-removed", "b:track-unpublished", "b:participant-left", "participant-removed",
    ]);
    expect(out.at(-1)).toEqual({ type: "participant-removed", participantId: "a" });
    expect(core.participantRoom("a")).toBeUndefined();
    expect(drain(core).at).toBe(Infinity);
    expect(resume(core, "S2", "a")).toEqual([REFUSED]);
    expect(core.stats()).toMatchObject({ participants: 1, resumes: 0, resumeRefusals: 1 });
  });

  it("the next wake-up is the earliest of the away deadlines and the keyframe throttle's", () => {
    const core = newCore({ resumeWindowMs: WINDOW, keyframeRequestIntervalMs: 500 });
    join(core, "a");
    join(core, "b");
    drop(core, "a", 100);
    drop(core, "b", 50);
    expect(drain(core).at).toBe(50 + WINDOW);
    published(core, { now: 1000, participantId: "a", requestId: "p", tracks: [video("a-cam")] });
    const sub = core.subscriptionOf("b", "a-cam")!;
    stepAll(core, { type: "subscription-ready", now: 1000, subscriptionId: sub });
    stepAll(core, { type: "picture-loss", now: 1001, subscriptionId: sub }); // coalesced: waits for the throttle
    expect(drain(core).at).toBe(1500);
    stepAll(core, { type: "timeout", now: 1500 });
    expect(drain(core).at).toBe(50 + WINDOW);
  });

  it("with a window of 0 a dropped session is removed at once", () => {
    const core = newCore({ resumeWindowMs: 0 });
    join(core, "a");
    join(core, "b");
    const out = drop(core, "a");
    expect(out).toEqual([
      { type: "signal", participantId: "b", message: { type: "participant-left", participantId: "a" } },
      { type: "participant-removed", participantId: "a" },
    ]);
    expect(signals(join(core, "c"))[0]![1]).toMatchObject({ type: "joined", resume: { secret: "secret-c", windowMs: 0 } });
    expect(resume(core, "S2", "c")).toEqual([REFUSED]);
  });

  it("a session that never joined leaves nothing behind", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    expect(drop(core, "nobody")).toEqual([]);
    expect(drain(core).at).toBe(Infinity);
  });
});

describe("resume", () => {
  it("re-binds the new session, then sends the room as it is now, the last dynacast word, and asks for missed offers again", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    join(core, "a");
    expect(signals(join(core, "b"))[0]![1]).toMatchObject({ type: "joined", resume: { secret: "secret-b", windowMs: WINDOW } });
    published(core, { now: 0, participantId: "a", requestId: "p", tracks: [video("a-cam", ["q", "h", "f"]), audio("a-mic")] });
    drop(core, "a", 100);
    // While a is away, b asks for the low layer: the layers-wanted to a is dropped with a's session.
    const changed = stepAll(core, { type: "subscription-settings", now: 200, participantId: "b", requestId: "s", trackId: "a-cam", settings: { quality: "low" } });
    expect(changed).toEqual([{ type: "signal", participantId: "b", message: { type: "ok", id: "s" } }]);
    // b mutes, c joins: a is told nothing now.
    expect(signals(published(core, { now: 300, participantId: "b", requestId: "pb", tracks: [audio("b-mic")] })).filter(([to]) => to === "a")).toEqual([]);
    stepAll(core, { type: "mute", now: 300, participantId: "b", requestId: "m", trackId: "b-mic", muted: true });
    join(core, "c", 400);

    const out = resume(core, "S2", "a", { iceServers: [{ urls: ["turn:127.0.0.1:3478"], username: "u", credential: "c" }] });
    expect(out[0]).toEqual({ type: "session-resumed", sessionId: "S2", participantId: "a" });
    expect(out[1]).toEqual({
      type: "signal",
      participantId: "a",
      message: {
        type: "resumed",
        id: "res",
        participantId: "a",
        room: "r",
        participants: [
          { id: "b", name: "b", tracks: [expect.objectContaining({ id: "b-mic", muted: true })] },
          { id: "c", name: "c", tracks: [] },
        ],
        tracks: [expect.objectContaining({ id: "a-cam", layers: ["q", "h", "f"] }), expect.objectContaining({ id: "a-mic" })],
        iceServers: [{ urls: ["turn:127.0.0.1:3478"], username: "u", credential: "c" }],
        resume: { secret: "secret-a", windowMs: WINDOW },
      },
    });
    expect(out.slice(2)).toEqual([
      { type: "signal", participantId: "a", message: { type: "layers-wanted", trackId: "a-cam", rids: ["q", "f"] } }, // c (auto, top layer) and b (low)
      { type: "participant-resumed", participantId: "a" },
    ]);
    expect(drain(core).at).toBe(Infinity); // no longer away
    expect(core.stats()).toMatchObject({ participants: 3, resumes: 1, resumeRefusals: 0 });
    // Signals reach a again: c's leave frees the top layer of a's camera.
    expect(signals(stepAll(core, { type: "leave", now: 500, participantId: "c", requestId: "bye" }))).toEqual([
      ["c", { type: "ok", id: "bye" }],
      ["a", { type: "layers-wanted", trackId: "a-cam", rids: ["q"] }],
      ["a", { type: "participant-left", participantId: "c" }],
      ["b", { type: "participant-left", participantId: "c" }],
    ]);
  });

  it("takes over a session that is still attached (a half-open socket) and an ICE restart works after it", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    join(core, "a");
    const out = resume(core, "S2", "a");
    expect(out.map((o) => (o.type === "signal" ? o.message.type : o.type))).toEqual(["session-resumed", "resumed", "participant-resumed"]);
    expect(stepAll(core, { type: "restart-ice", now: 0, participantId: "a", requestId: "ri", sdp: undefined })).toEqual([
      { type: "restart-ice", participantId: "a", requestId: "ri", sdp: undefined },
    ]);
  });

  it("refuses a wrong secret, another room, an unknown participant and a relay without a window alike, and nothing changes", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    join(core, "a");
    join(core, "b");
    drop(core, "a", 0);
    const before = core.stats();
    expect(resume(core, "S2", "a", { secret: "secret-b" })).toEqual([REFUSED]);
    expect(resume(core, "S2", "a", { secret: "secret-a-longer" })).toEqual([REFUSED]);
    expect(resume(core, "S2", "a", { room: "other" })).toEqual([REFUSED]);
    expect(resume(core, "S2", "zed", { secret: "secret-zed" })).toEqual([REFUSED]);
    expect(core.stats()).toEqual({ ...before, resumeRefusals: 4 });
    expect(drain(core).at).toBe(WINDOW); // a is still away, and still resumable
    expect(resume(core, "S2", "a")[0]).toEqual({ type: "session-resumed", sessionId: "S2", participantId: "a" });
  });

  it("refuses a participant that joined without a secret", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    stepAll(core, { type: "join", now: 0, participantId: "a", requestId: "j", room: "r", name: "a", autoSubscribe: true });
    drop(core, "a");
    expect(resume(core, "S2", "a", { secret: "" })).toEqual([REFUSED]);
  });

  it("a joined session cannot resume (already-joined) and a resumed one cannot join", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    join(core, "a");
    join(core, "b");
    drop(core, "a");
    expect(resume(core, "b", "a")).toEqual([
      { type: "signal", participantId: "b", message: { type: "error", id: "res", code: "already-joined", message: "this session is a participant already; resume is the first message on a new WebSocket" } },
    ]);
    expect(drain(core).at).toBe(WINDOW);
    resume(core, "S2", "a");
    // The session is "a" from now on (the adapter re-binds it): its join is already-joined.
    expect(signals(join(core, "a"))).toEqual([["a", expect.objectContaining({ type: "error", code: "already-joined" })]]);
  });
});

describe("media lost", () => {
  it("removes a participant whose session is attached, with the reason; keeps one who is away until the window ends", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    join(core, "a");
    join(core, "b");
    expect(stepAll(core, { type: "media-lost", now: 0, participantId: "b", reason: "connection lost (failed)" })).toEqual([
      { type: "signal", participantId: "a", message: { type: "participant-left", participantId: "b" } },
      { type: "participant-removed", participantId: "b", reason: "connection lost (failed)" },
    ]);
    drop(core, "a", 1000);
    expect(stepAll(core, { type: "media-lost", now: 11_000, participantId: "a", reason: "connection lost (disconnected)" })).toEqual([]);
    expect(resume(core, "S2", "a", { now: 15_000 })[0]).toEqual({ type: "session-resumed", sessionId: "S2", participantId: "a" });
    // Back and attached: a media loss now removes them.
    expect(stepAll(core, { type: "media-lost", now: 30_000, participantId: "a", reason: "r" }).at(-1)).toEqual({ type: "participant-removed", participantId: "a", reason: "r" });
  });
});

describe("restart-ice", () => {
  it("needs a joined session, goes one at a time, never beside a publish, and is answered once negotiated", () => {
    const core = newCore();
    expect(stepAll(core, { type: "restart-ice", now: 0, participantId: "x", requestId: "ri", sdp: "o" })).toEqual([
      { type: "signal", participantId: "x", message: { type: "error", id: "ri", code: "not-joined", message: '"restart-ice" needs a joined session; send "join" first' } },
    ]);
    join(core, "a");
    expect(stepAll(core, { type: "restart-ice", now: 0, participantId: "a", requestId: "ri", sdp: "o" })).toEqual([{ type: "restart-ice", participantId: "a", requestId: "ri", sdp: "o" }]);
    const again = stepAll(core, { type: "restart-ice", now: 0, participantId: "a", requestId: "ri2", sdp: "o" });
    expect(again).toEqual([{ type: "signal", participantId: "a", message: expect.objectContaining({ type: "error", id: "ri2", code: "publish-pending" }) }]);
    const offer = stepAll(core, { type: "publish-offer", now: 0, participantId: "a", requestId: "p", sdp: "o", tracks: [{ ...audio("mic") }] });
    expect(offer).toEqual([{ type: "signal", participantId: "a", message: expect.objectContaining({ type: "error", id: "p", code: "publish-pending" }) }]);
    // A reply to another request id is not this restart's.
    expect(stepAll(core, { type: "ice-restarted", now: 0, participantId: "a", requestId: "other", sdp: "x" })).toEqual([]);
    expect(stepAll(core, { type: "ice-restarted", now: 0, participantId: "a", requestId: "ri", sdp: "answer" })).toEqual([
      { type: "signal", participantId: "a", message: { type: "ice-restarted", id: "ri", sdp: "answer" } },
    ]);
    // Failed: the error, and the next restart may go.
    stepAll(core, { type: "restart-ice", now: 0, participantId: "a", requestId: "ri3", sdp: undefined });
    expect(stepAll(core, { type: "negotiation-failed", now: 0, participantId: "a", requestId: "ri3", code: "bad-sdp", message: "m" })).toEqual([
      { type: "signal", participantId: "a", message: { type: "error", id: "ri3", code: "bad-sdp", message: "m" } },
    ]);
    expect(stepAll(core, { type: "restart-ice", now: 0, participantId: "a", requestId: "ri4", sdp: undefined })).toEqual([
      { type: "restart-ice", participantId: "a", requestId: "ri4", sdp: undefined },
    ]);
    expect(stepAll(core, { type: "ice-restarted", now: 0, participantId: "a", requestId: "ri4", sdp: undefined })).toEqual([
      { type: "signal", participantId: "a", message: { type: "ice-restarted", id: "ri4" } },
    ]);
  });

  it("waits while a publish negotiates", () => {
    const core = newCore();
    join(core, "a");
    stepAll(core, { type: "publish-offer", now: 0, participantId: "a", requestId: "p", sdp: "o", tracks: [{ ...audio("mic") }] });
    expect(stepAll(core, { type: "restart-ice", now: 0, participantId: "a", requestId: "ri", sdp: "o" })).toEqual([
      { type: "signal", participantId: "a", message: expect.objectContaining({ type: "error", id: "ri", code: "publish-pending" }) },
    ]);
  });
});

describe("a grant is used once; a rejoin replaces the session it names", () => {
  it("a resume takes the next secret: the old grant no longer resumes", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    join(core, "a");
    drop(core, "a");
    const out = resume(core, "S2", "a", { nextSecret: "secret-2" });
    const resumed = signals(out).find(([, m]) => m.type === "resumed")![1];
    expect(resumed).toMatchObject({ resume: { secret: "secret-2", windowMs: WINDOW } });
    drop(core, "a");
    expect(resume(core, "S3", "a", { participantId: "S3" })).toEqual([{ ...REFUSED, participantId: "S3" }]);
    expect(signals(resume(core, "S4", "a", { participantId: "S4", secret: "secret-2" })).map(([, m]) => m.type)).toEqual(["resumed"]);
  });

  it("a join naming a held session with its secret removes it first: the others see it leave, then the new one join", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    join(core, "a");
    join(core, "b");
    drop(core, "a");
    const rejoin = (participantId: string, secret: string) =>
      stepAll(core, { type: "join", now: 0, participantId, requestId: "j", room: "r", name: "a", autoSubscribe: true, resumeSecret: `secret-${participantId}`, rejoinOf: { participantId: "a", secret } });
    // A wrong secret removes nobody (and is still a rejoin by its own word).
    expect(signals(rejoin("a2", "guess")).map(([to, m]) => `${to}:${m.type}`)).toEqual(["a2:joined", "b:participant-joined"]);
    expect(core.participantRoom("a")).toBe("r");
    const out = rejoin("a3", "secret-a");
    const steps = out.map((o) => (o.type === "signal" ? `${o.participantId}:${o.message.type}` : o.type));
    // a published nothing, so only the membership changes: gone first, then the newcomer.
    expect(steps).toEqual(["b:participant-left", "a2:participant-left", "participant-removed", "a3:joined", "participant-added", "b:participant-joined", "a2:participant-joined"]);
    expect(out.find((o) => o.type === "participant-removed")).toEqual({ type: "participant-removed", participantId: "a", reason: "replaced by a new session of yours (a rejoin)" });
    expect(core.participantRoom("a")).toBeUndefined();
    expect(core.stats()).toMatchObject({ participants: 3, rejoins: 2 });
  });
});

describe("removed for good while away", () => {
  const joinAs = (core: SfuCore, id: string, identity: string, now = 0) =>
    stepAll(core, { type: "join", now, participantId: id, requestId: `j-${id}`, room: "r", name: id, autoSubscribe: true, resumeSecret: `secret-${id}`, access: { granted: { ...openGrants("r"), identity } } });
  const removeByApi = (core: SfuCore, identity: string, now: number) =>
    stepAll(core, { type: "admin", now, requestId: "api", grants: { ...openGrants("r"), identity: "admin", roomJoin: false, roomAdmin: true }, request: { method: "RemoveParticipant", room: "r", identity } });
  const removedError = (reason: string) => ({
    type: "signal",
    participantId: "S2",
    message: { type: "error", id: "res", code: "removed", message: `you were removed from room "r": ${reason}; do not join again` },
  });

  it("a participant the server API removes while away is told `removed` when it resumes, not let back in", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    joinAs(core, "a", "alice");
    joinAs(core, "b", "bob");
    drop(core, "a", 1000);
    removeByApi(core, "alice", 2000);
    expect(core.participantRoom("a")).toBeUndefined();
    expect(resume(core, "S2", "a")).toEqual([removedError("removed from the room by the server API")]);
    expect(core.stats()).toMatchObject({ participants: 1, resumes: 0, resumeRefusals: 1 });
  });

  it("only the right secret learns it was removed; after the window it is an ordinary refusal", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    joinAs(core, "a", "alice");
    removeByApi(core, "alice", 0);
    expect(resume(core, "S2", "a", { secret: "secret-wrong" })).toEqual([REFUSED]);
    expect(resume(core, "S2", "a", { room: "other" }).map((o) => o.type === "signal" && o.message.type === "error" && o.message.code)).toEqual(["resume-refused"]);
    stepAll(core, { type: "timeout", now: WINDOW });
    expect(resume(core, "S2", "a")).toEqual([REFUSED]);
  });

  it("a session replaced by a newer one of the same identity is told `removed` too, so it does not take the place back", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    joinAs(core, "a", "alice");
    drop(core, "a", 1000);
    joinAs(core, "a2", "alice", 2000);
    expect(resume(core, "S2", "a")).toEqual([removedError("another session with your identity joined this room")]);
    expect(core.participantRoom("a2")).toBe("r");
  });

  it("a participant that left is refused as usual (nothing is kept for it)", () => {
    const core = newCore({ resumeWindowMs: WINDOW });
    join(core, "a");
    stepAll(core, { type: "leave", now: 0, participantId: "a", requestId: "l" });
    expect(resume(core, "S2", "a")).toEqual([REFUSED]);
  });
});
