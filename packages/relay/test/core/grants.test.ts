/** The core enforces a token's grants (docs/auth.md): refusals change nothing and reach only the requester. */
import { describe, expect, it } from "vitest";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import { type DataInput, type Grants, type JoinAccess, openGrants } from "../../src/core/index.ts";
import { audio, newCore, publish, signals, step, video } from "./harness.ts";

const grants = (room: string, extra: Partial<Grants> = {}): Grants => ({ ...openGrants(room), identity: "someone", ...extra });

const join = (core: SfuCore, participantId: string, access: JoinAccess | undefined, room = "r", autoSubscribe = true) =>
  step(core, { type: "join", now: 0, participantId, requestId: `join-${participantId}`, room, name: participantId, autoSubscribe, ...(access ? { access } : {}) });

const data = (participantId: string): DataInput => ({
  type: "data", now: 0, participantId, reliable: true, malformed: undefined, to: undefined, size: 100, messageId: "m1",
});

/** A room with `a` (no token needed: open grants) publishing a microphone track. */
function roomWithPublisher(): SfuCore {
  const core = newCore();
  join(core, "a", undefined);
  publish(core, { now: 0, participantId: "a", requestId: "p", tracks: [audio("a-mic")] });
  return core;
}

describe("join with grants", () => {
  const refusals: [string, JoinAccess, RegExp][] = [
    ["the adapter refused the token", { refused: "your token has expired" }, /^your token has expired$/],
    ["a token for another room", { granted: grants("other") }, /your token is for room "other", not "r"/],
    ["roomJoin false", { granted: grants("r", { roomJoin: false }) }, /roomJoin false/],
  ];
  for (const [what, access, message] of refusals) {
    it(`refuses ${what} with unauthorized, and nothing changes`, () => {
      const core = roomWithPublisher();
      const before = core.stats();
      const out = join(core, "b", access);
      expect(out).toHaveLength(1);
      expect(out[0]).toMatchObject({ type: "signal", participantId: "b", message: { type: "error", id: "join-b", code: "unauthorized" } });
      expect(out[0]!.type === "signal" && out[0]!.message.type === "error" && out[0]!.message.message).toMatch(message);
      expect(core.stats()).toEqual(before);
      expect(core.participantRoom("b")).toBeUndefined();
    });
  }

  it("admits a valid token, under the token's name", () => {
    const core = roomWithPublisher();
    const out = signals(join(core, "b", { granted: grants("r", { name: "Bea" }) }));
    expect(out.find(([to]) => to === "a")).toEqual(["a", { type: "participant-joined", participant: { id: "b", name: "Bea", tracks: [] } }]);
  });
});

describe("publish with grants", () => {
  it("canPublish false: forbidden, no negotiation; subscribing still works", () => {
    const core = roomWithPublisher();
    join(core, "b", { granted: grants("r", { canPublish: false }) });
    const out = publish(core, { now: 0, participantId: "b", requestId: "p2", tracks: [video("b-cam")] });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: "signal", participantId: "b", message: { type: "error", id: "p2", code: "forbidden" } });
    expect(core.stats().tracks).toBe(1);
    expect(core.subscriptionsOf("b").map((s) => s.trackId)).toEqual(["a-mic"]);
  });

  it("a source not in canPublishSources: the whole offer is forbidden, an allowed one publishes", () => {
    const core = roomWithPublisher();
    join(core, "b", { granted: grants("r", { canPublishSources: ["microphone"] }) });
    const out = publish(core, { now: 0, participantId: "b", requestId: "p2", tracks: [audio("b-mic"), video("b-screen", [], { source: "screen" })] });
    expect(out).toHaveLength(1);
    expect(JSON.stringify(out[0])).toMatch(/allows publishing only \\"microphone\\" \(canPublishSources\), not \\"screen\\"/);
    expect(core.stats().tracks).toBe(1);
    const ok = publish(core, { now: 0, participantId: "b", requestId: "p3", tracks: [audio("b-mic")] });
    expect(ok.some((o) => o.type === "signal" && o.message.type === "publish-answer")).toBe(true);
    expect(core.stats().tracks).toBe(2);
  });
});

describe("subscribe with grants", () => {
  it("canSubscribe false: autoSubscribe receives nothing, subscribe is forbidden, publishing works", () => {
    const core = roomWithPublisher();
    join(core, "b", { granted: grants("r", { canSubscribe: false }) });
    expect(core.subscriptionsOf("b")).toEqual([]);
    const out = step(core, { type: "subscribe", now: 0, participantId: "b", requestId: "s1", trackId: "a-mic", subscribe: true });
    expect(out).toEqual([
      { type: "signal", participantId: "b", message: { type: "error", id: "s1", code: "forbidden", message: "your token does not allow receiving tracks (its video grant has canSubscribe false)" } },
    ]);
    publish(core, { now: 0, participantId: "b", requestId: "p2", tracks: [audio("b-mic")] });
    expect(core.subscriptionsOf("b")).toEqual([]); // a's track published later is not received either
    expect(core.subscriptionsOf("a").map((s) => s.trackId)).toEqual(["b-mic"]);
  });
});

describe("data with grants", () => {
  it("canPublishData false: forbidden, nothing delivered; the others' data still reaches them", () => {
    const core = roomWithPublisher();
    join(core, "b", { granted: grants("r", { canPublishData: false }) });
    expect(step(core, data("b"))).toEqual([
      { type: "signal", participantId: "b", message: { type: "error", id: "m1", code: "forbidden", message: "your token does not allow sending data (its video grant has canPublishData false); this frame was dropped" } },
    ]);
    expect(step(core, data("a"))).toEqual([{ type: "deliver-data", from: "a", recipients: ["b"], reliable: true }]);
  });
});

describe("hidden participants", () => {
  it("receive everything but are never listed or announced, and cannot publish", () => {
    const core = roomWithPublisher();
    const joined = signals(join(core, "h", { granted: grants("r", { hidden: true }) }));
    expect(joined.map(([to, m]) => [to, m.type])).toEqual([["h", "joined"]]); // nobody else hears of it
    expect(core.subscriptionsOf("h").map((s) => s.trackId)).toEqual(["a-mic"]);

    const later = signals(join(core, "c", undefined));
    const cJoined = later.find(([to]) => to === "c")![1];
    expect(cJoined.type === "joined" && cJoined.participants.map((p) => p.id)).toEqual(["a"]);
    expect(later.filter(([to]) => to === "h").map(([, m]) => m.type)).toEqual(["participant-joined"]); // the hidden one sees others

    const refused = publish(core, { now: 0, participantId: "h", requestId: "p2", tracks: [audio("h-mic")] });
    expect(refused).toMatchObject([{ type: "signal", participantId: "h", message: { type: "error", code: "forbidden" } }]);

    const left = signals(step(core, { type: "leave", now: 0, participantId: "h", requestId: "bye" }));
    expect(left).toEqual([["h", { type: "ok", id: "bye" }]]);
  });
});

describe("one session per identity and room", () => {
  const as = (identity: string, room = "r"): JoinAccess => ({ granted: grants(room, { identity }) });

  it("a second join of the identity kicks the first: its tracks go, the others see it leave, then the new one join", () => {
    const core = roomWithPublisher();
    join(core, "b1", as("bob"));
    publish(core, { now: 0, participantId: "b1", requestId: "p", tracks: [audio("b1-mic")] });
    const out = join(core, "b2", as("bob"));
    const steps = out.map((o) => (o.type === "signal" ? `${o.participantId}:${o.message.type}` : o.type));
    expect(steps).toEqual(["subscription-removed", "publication-removed", "a:track-unpublished", "a:participant-left", "participant-removed", "b2:joined", "participant-added", "a:participant-joined", "subscription-added"]);
    expect(out.find((o) => o.type === "participant-removed")).toEqual({ type: "participant-removed", participantId: "b1", reason: "another session with your identity joined this room", kick: true });
    expect(core.participantRoom("b1")).toBeUndefined();
    const joined = signals(out).find(([to]) => to === "b2")![1];
    expect(joined.type === "joined" && joined.participants.map((p) => p.id)).toEqual(["a"]);
  });

  it("also frees the place it takes in a full room", () => {
    const core = newCore({ maxParticipantsPerRoom: 2 });
    join(core, "a", as("alice"));
    join(core, "b1", as("bob"));
    expect(signals(join(core, "b2", as("bob"))).find(([to]) => to === "b2")![1]).toMatchObject({ type: "joined" });
    expect(core.stats().participants).toBe(2);
  });

  it("a refused join kicks nobody; other rooms, other identities and an open relay's participants are not touched", () => {
    const core = newCore();
    join(core, "b1", as("bob"));
    expect(join(core, "b2", { granted: grants("r", { identity: "bob", roomJoin: false }) })).toMatchObject([{ message: { code: "unauthorized" } }]);
    join(core, "b3", as("bob", "other"), "other");
    join(core, "c", as("carol"));
    join(core, "o1", undefined);
    join(core, "o2", undefined);
    expect(["b1", "b3", "c", "o1", "o2"].map((id) => core.participantRoom(id))).toEqual(["r", "other", "r", "r", "r"]);
  });
});

describe("refresh-token", () => {
  const refresh = (core: SfuCore, participantId: string, access: JoinAccess | undefined) =>
    step(core, { type: "refresh-token", now: 0, participantId, requestId: "rt", ...(access ? { access } : {}) });
  const unauthorized = (participantId: string, message: string) => [{ type: "signal", participantId, message: { type: "error", id: "rt", code: "unauthorized", message } }];

  it("new grants apply to the requests that follow, and the session stays", () => {
    const core = roomWithPublisher();
    join(core, "b", { granted: grants("r") });
    publish(core, { now: 0, participantId: "b", requestId: "p1", tracks: [audio("b-mic")] });
    expect(refresh(core, "b", { granted: grants("r", { canPublish: false }) })[0]).toEqual({ type: "signal", participantId: "b", message: { type: "ok", id: "rt" } });
    expect(publish(core, { now: 0, participantId: "b", requestId: "p2", tracks: [video("b-cam")] })).toMatchObject([{ message: { type: "error", code: "forbidden" } }]);
    expect(core.stats()).toMatchObject({ participants: 2, tracks: 1 });
    expect(refresh(core, "b", { granted: grants("r") })).toMatchObject([{ message: { type: "ok" } }]);
    expect(publish(core, { now: 0, participantId: "b", requestId: "p3", tracks: [video("b-cam")] }).some((o) => o.type === "signal" && o.message.type === "publish-answer")).toBe(true);
  });

  it("refuses another identity, another room, hidden changed or a refused token, with unauthorized; the grants stay", () => {
    const core = roomWithPublisher();
    join(core, "b", { granted: grants("r") });
    expect(refresh(core, "b", { granted: grants("r", { identity: "mallory", canPublish: false }) })).toEqual(
      unauthorized("b", 'the new token is for identity "mallory", this session is "someone"; a refresh keeps the identity (join again to change it)'),
    );
    expect(refresh(core, "b", { granted: grants("other", { canPublish: false }) })).toEqual(unauthorized("b", 'your token is for room "other", not "r"; ask for a token for this room'));
    expect(refresh(core, "b", { granted: grants("r", { hidden: true }) })).toEqual(
      unauthorized("b", "the new token has hidden true, this session joined with hidden false; a refresh cannot change it (join again)"),
    );
    expect(refresh(core, "b", { refused: "the token expired" })).toEqual(unauthorized("b", "the token expired"));
    expect(publish(core, { now: 0, participantId: "b", requestId: "p", tracks: [audio("b-mic")] }).some((o) => o.type === "signal" && o.message.type === "publish-answer")).toBe(true);
  });

  it("losing canPublish unpublishes what they publish: the others and the publisher are told, subscriptions go", () => {
    const core = roomWithPublisher();
    join(core, "b", { granted: grants("r") });
    publish(core, { now: 0, participantId: "b", requestId: "p1", tracks: [audio("b-mic"), video("b-cam")] });
    const aSubs = core.subscriptionsOf("a").map((s) => s.subscriptionId);
    expect(aSubs).toHaveLength(2);
    const out = refresh(core, "b", { granted: grants("r", { canPublish: false }) });
    expect(out).toEqual([
      { type: "signal", participantId: "b", message: { type: "ok", id: "rt" } },
      { type: "subscription-removed", subscriptionId: aSubs[0], subscriberId: "a" },
      { type: "publication-removed", publisherId: "b", trackId: "b-mic" },
      { type: "signal", participantId: "a", message: { type: "track-unpublished", trackId: "b-mic", participantId: "b" } },
      { type: "signal", participantId: "b", message: { type: "track-unpublished", trackId: "b-mic", participantId: "b" } },
      { type: "subscription-removed", subscriptionId: aSubs[1], subscriberId: "a" },
      { type: "publication-removed", publisherId: "b", trackId: "b-cam" },
      { type: "signal", participantId: "a", message: { type: "track-unpublished", trackId: "b-cam", participantId: "b" } },
      { type: "signal", participantId: "b", message: { type: "track-unpublished", trackId: "b-cam", participantId: "b" } },
    ]);
    expect(core.stats()).toMatchObject({ participants: 2, tracks: 1, subscriptions: 1 });
    // What b receives is untouched: canSubscribe stayed.
    expect(core.subscriptionsOf("b").map((s) => s.trackId)).toEqual(["a-mic"]);
  });

  it("a source left out of canPublishSources unpublishes only the tracks of that source", () => {
    const core = roomWithPublisher();
    join(core, "b", { granted: grants("r") });
    publish(core, { now: 0, participantId: "b", requestId: "p1", tracks: [audio("b-mic"), video("b-screen", [], { source: "screen" })] });
    const out = refresh(core, "b", { granted: grants("r", { canPublishSources: ["camera", "microphone"] }) });
    expect(signals(out).filter(([, m]) => m.type === "track-unpublished")).toEqual([
      ["a", { type: "track-unpublished", trackId: "b-screen", participantId: "b" }],
      ["b", { type: "track-unpublished", trackId: "b-screen", participantId: "b" }],
    ]);
    expect(core.trackOwner("b-mic")).toBe("b");
    expect(core.trackOwner("b-screen")).toBeUndefined();
  });

  it("losing canSubscribe ends every subscription (renegotiated), and autoSubscribe takes no new track", () => {
    const core = roomWithPublisher();
    join(core, "b", { granted: grants("r") });
    const [sub] = core.subscriptionsOf("b");
    const out = refresh(core, "b", { granted: grants("r", { canSubscribe: false }) });
    expect(out).toEqual([
      { type: "signal", participantId: "b", message: { type: "ok", id: "rt" } },
      { type: "subscription-removed", subscriptionId: sub!.subscriptionId, subscriberId: "b" },
    ]);
    expect(core.subscriptionsOf("b")).toEqual([]);
    publish(core, { now: 0, participantId: "a", requestId: "p2", tracks: [video("a-cam")] });
    expect(core.subscriptionsOf("b")).toEqual([]);
    expect(core.stats()).toMatchObject({ tracks: 2 });
  });

  it("a refused refresh withdraws nothing", () => {
    const core = roomWithPublisher();
    join(core, "b", { granted: grants("r") });
    publish(core, { now: 0, participantId: "b", requestId: "p1", tracks: [audio("b-mic")] });
    const before = core.stats();
    expect(refresh(core, "b", { granted: grants("other", { canPublish: false, canSubscribe: false }) })).toHaveLength(1);
    expect(core.stats()).toEqual(before);
  });

  it("needs a joined session; on a relay without keys it is ok and changes nothing", () => {
    const core = roomWithPublisher();
    expect(refresh(core, "nobody", { granted: grants("r") })).toMatchObject([{ participantId: "nobody", message: { type: "error", code: "not-joined" } }]);
    expect(refresh(core, "a", undefined)).toEqual([{ type: "signal", participantId: "a", message: { type: "ok", id: "rt" } }]);
  });
});
