/** The webhooks' room events (core/room-events.ts): decided where things happen, in the order they happen. */
import { describe, expect, it } from "vitest";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import { type Grants, type Input, type JoinInput, openGrants, type Output } from "../../src/core/index.ts";
import { audio, newCore, stepAll, video } from "./harness.ts";

const token = (room: string, identity: string, extra: Partial<Grants> = {}) => ({ granted: { ...openGrants(room), identity, ...extra } });

/** The room events of one input, as "event room participant track". */
function events(core: SfuCore, input: Input): string[] {
  return stepAll(core, input, true)
    .filter((o): o is Extract<Output, { type: "room-event" }> => o.type === "room-event")
    .map((e) => [e.event, e.room, e.participant?.identity, e.track?.id].filter((x) => x !== undefined).join(" "));
}

const join = (id: string, extra: Partial<Grants> = {}): JoinInput =>
  ({ type: "join", now: 0, participantId: id, requestId: "j", room: "r", name: id, autoSubscribe: true, access: token("r", `user-${id}`, extra) });

function publishBoth(core: SfuCore, id: string, trackId: string, kind: "audio" | "video"): string[] {
  const t = kind === "audio" ? audio(trackId) : video(trackId);
  const offered = events(core, { type: "publish-offer", now: 0, participantId: id, requestId: "p", sdp: "o", tracks: [{ trackId, mid: t.mid, kind, source: t.source, layers: t.layers, muted: false }] });
  return [...offered, ...events(core, { type: "publish-negotiated", now: 0, participantId: id, requestId: "p", sdp: "a", tracks: [{ trackId, codec: t.codec, clockRate: t.clockRate }] })];
}

describe("room events", () => {
  it("a room's life: started, joins, tracks, and on the last leave its tracks, the leave, finished", () => {
    const core = newCore();
    expect(events(core, join("a"))).toEqual(["room_started r", "participant_joined r user-a"]);
    expect(events(core, join("h", { hidden: true }))).toEqual(["participant_joined r user-h"]);
    expect(publishBoth(core, "a", "a-mic", "audio")).toEqual(["track_published r user-a a-mic"]);
    expect(publishBoth(core, "a", "a-cam", "video")).toEqual(["track_published r user-a a-cam"]);
    expect(events(core, { type: "unpublish", now: 0, participantId: "a", requestId: "u", trackId: "a-cam" })).toEqual(["track_unpublished r user-a a-cam"]);
    expect(events(core, { type: "leave", now: 0, participantId: "h", requestId: "l" })).toEqual(["participant_left r user-h"]);
    expect(events(core, { type: "leave", now: 0, participantId: "a", requestId: "l" })).toEqual(["track_unpublished r user-a a-mic", "participant_left r user-a", "room_finished r"]);
  });

  it("a refused join and a refused publish report nothing", () => {
    const core = newCore();
    events(core, join("a", { canPublish: false }));
    expect(events(core, { ...join("b"), access: token("other", "user-b") })).toEqual([]);
    expect(publishBoth(core, "a", "a-mic", "audio")).toEqual([]);
  });

  it("an identity's second session: the first leaves, then the second joins, and the room stays started", () => {
    const core = newCore();
    events(core, join("a"));
    expect(events(core, { ...join("a2"), access: token("r", "user-a") })).toEqual(["participant_left r user-a", "participant_joined r user-a"]);
  });

  it("the event names the participant as the backend knows them: id, identity, name, metadata", () => {
    const core = newCore();
    const out = stepAll(core, join("a", { name: "Ann", metadata: "m" }), true).find((o) => o.type === "room-event" && o.event === "participant_joined");
    expect(out).toEqual({ type: "room-event", event: "participant_joined", room: "r", participant: { id: "a", identity: "user-a", name: "Ann", metadata: "m" } });
  });
});
