/**
 * The server API's rules in the core (core/admin.ts): the grant each method needs, checked before
 * anything else; what each changes and who is told; refusals change nothing.
 */
import { describe, expect, it } from "vitest";
import type { SfuCore } from "../../src/core/sfu-core.ts";
import { type AdminRequest, type AdminResult, type Grants, openGrants, type Output } from "../../src/core/index.ts";
import { audio, newCore, publish, signals, step, video } from "./harness.ts";

const grants = (room: string, extra: Partial<Grants> = {}): Grants => ({ ...openGrants(room), identity: "admin", roomJoin: false, ...extra });
const admin = (room: string): Grants => grants(room, { roomAdmin: true });
const lister: Grants = grants("", { roomList: true });

const join = (core: SfuCore, id: string, room = "r", extra: Partial<Grants> = {}) =>
  step(core, { type: "join", now: 0, participantId: id, requestId: `j-${id}`, room, name: id, autoSubscribe: true, access: { granted: { ...openGrants(room), identity: `user-${id}`, ...extra } } });

function call(core: SfuCore, granted: Grants, request: AdminRequest): { result: AdminResult; others: Output[] } {
  const out = step(core, { type: "admin", now: 0, requestId: "api-1", grants: granted, request });
  const replies = out.filter((o) => o.type === "admin-reply");
  expect(replies).toHaveLength(1);
  expect(replies[0]!.type === "admin-reply" && replies[0]!.requestId).toBe("api-1");
  return { result: replies[0]!.type === "admin-reply" ? replies[0]!.result : (undefined as never), others: out.filter((o) => o.type !== "admin-reply") };
}

/** Room r: a (mic) and b (camera); room s: c. */
function twoRooms(): SfuCore {
  const core = newCore();
  join(core, "a");
  join(core, "b");
  join(core, "c", "s");
  publish(core, { now: 0, participantId: "a", requestId: "p", tracks: [audio("a-mic")] });
  publish(core, { now: 0, participantId: "b", requestId: "p", tracks: [video("b-cam")] });
  return core;
}

describe("server API access", () => {
  const cases: [string, Grants, AdminRequest, string, RegExp][] = [
    ["ListRooms without roomList", admin("r"), { method: "ListRooms" }, "forbidden", /roomList true/],
    ["a room method without roomAdmin", grants("r"), { method: "RemoveParticipant", room: "r", identity: "user-a" }, "forbidden", /roomAdmin true for room "r"/],
    ["a room admin of another room", admin("s"), { method: "DeleteRoom", room: "r" }, "forbidden", /administers room "s", not "r"/],
    ["a room admin of another room, for a room that does not exist", admin("s"), { method: "ListParticipants", room: "nowhere" }, "forbidden", /not "nowhere"/],
  ];
  for (const [what, granted, request, code, message] of cases) {
    it(`refuses ${what} with ${code}, and nothing changes`, () => {
      const core = twoRooms();
      const before = core.stats();
      const { result, others } = call(core, granted, request);
      expect(result).toMatchObject({ ok: false, code });
      expect(!result.ok && result.message).toMatch(message);
      expect(others).toEqual([]);
      expect(core.stats()).toEqual(before);
    });
  }
});

describe("server API methods", () => {
  it("ListRooms lists every room (or those named) with its counts", () => {
    const core = twoRooms();
    expect(call(core, lister, { method: "ListRooms" }).result).toEqual({ ok: true, body: { rooms: [{ name: "r", participants: 2, tracks: 2 }, { name: "s", participants: 1, tracks: 0 }] } });
    expect(call(core, lister, { method: "ListRooms", names: ["s", "gone"] }).result).toEqual({ ok: true, body: { rooms: [{ name: "s", participants: 1, tracks: 0 }] } });
  });

  it("ListParticipants shows everyone, hidden ones too, with identity and tracks; an unknown room is unknown-room", () => {
    const core = twoRooms();
    join(core, "h", "r", { hidden: true, metadata: "recorder" });
    const { result } = call(core, admin("r"), { method: "ListParticipants", room: "r" });
    expect(result.ok && "participants" in result.body && result.body.participants.map((p) => [p.id, p.identity, p.hidden, p.metadata, p.tracks.map((t) => t.id)])).toEqual([
      ["a", "user-a", false, undefined, ["a-mic"]],
      ["b", "user-b", false, undefined, ["b-cam"]],
      ["h", "user-h", true, "recorder", []],
    ]);
    expect(call(core, admin("gone"), { method: "ListParticipants", room: "gone" }).result).toMatchObject({ ok: false, code: "unknown-room" });
  });

  it("RemoveParticipant removes them for good with a reason; the others see them leave", () => {
    const core = twoRooms();
    const { result, others } = call(core, admin("r"), { method: "RemoveParticipant", room: "r", identity: "user-b" });
    expect(result).toEqual({ ok: true, body: {} });
    expect(others).toContainEqual({ type: "participant-removed", participantId: "b", reason: "removed from the room by the server API", kick: true });
    expect(signals(others)).toContainEqual(["a", { type: "participant-left", participantId: "b" }]);
    expect(core.participantRoom("b")).toBeUndefined();
    expect(core.trackOwner("b-cam")).toBeUndefined();
  });

  it("an unknown identity is unknown-participant (also one in another room), and nothing changes", () => {
    const core = twoRooms();
    const before = core.stats();
    for (const identity of ["nobody", "user-c"]) {
      const { result, others } = call(core, admin("r"), { method: "RemoveParticipant", room: "r", identity });
      expect(result).toMatchObject({ ok: false, code: "unknown-participant" });
      expect(others).toEqual([]);
    }
    expect(core.stats()).toEqual(before);
  });

  it("MutePublishedTrack mutes (and unmutes): everyone is told, the publisher too; twice is told once", () => {
    const core = twoRooms();
    const mute = (muted: boolean) => call(core, admin("r"), { method: "MutePublishedTrack", room: "r", identity: "user-b", trackId: "b-cam", muted });
    const first = mute(true);
    expect(first.result).toMatchObject({ ok: true, body: { track: { id: "b-cam", muted: true } } });
    expect(signals(first.others)).toEqual([
      ["a", { type: "track-muted", trackId: "b-cam", participantId: "b", muted: true }],
      ["b", { type: "track-muted", trackId: "b-cam", participantId: "b", muted: true }],
    ]);
    expect(mute(true).others).toEqual([]);
    expect(signals(mute(false).others).map(([to, m]) => [to, m.type === "track-muted" && m.muted])).toEqual([["a", false], ["b", false]]);
  });

  it("MutePublishedTrack of a track that is not theirs is unknown-track, and nothing is muted", () => {
    const core = twoRooms();
    for (const trackId of ["a-mic", "nope"]) {
      const { result, others } = call(core, admin("r"), { method: "MutePublishedTrack", room: "r", identity: "user-b", trackId, muted: true });
      expect(result).toMatchObject({ ok: false, code: "unknown-track" });
      expect(others).toEqual([]);
    }
    const { result } = call(core, admin("r"), { method: "ListParticipants", room: "r" });
    expect(result.ok && "participants" in result.body && result.body.participants.flatMap((p) => p.tracks.map((t) => t.muted))).toEqual([false, false]);
  });

  it("UpdateParticipant changes name and metadata: everyone in the room gets participant-updated, and later joiners see it", () => {
    const core = twoRooms();
    const { result, others } = call(core, admin("r"), { method: "UpdateParticipant", room: "r", identity: "user-a", name: "Alice", metadata: '{"role":"host"}' });
    expect(result).toMatchObject({ ok: true, body: { participant: { id: "a", name: "Alice", metadata: '{"role":"host"}', identity: "user-a" } } });
    const update = { type: "participant-updated", participant: { id: "a", name: "Alice", metadata: '{"role":"host"}', tracks: [expect.objectContaining({ id: "a-mic" })] } };
    expect(signals(others)).toEqual([["a", update], ["b", update]]);
    const joined = signals(join(core, "d")).find(([to, m]) => to === "d" && m.type === "joined");
    expect(joined?.[1].type === "joined" && joined[1].participants[0]).toMatchObject({ id: "a", name: "Alice", metadata: '{"role":"host"}' });
  });

  it("UpdateParticipant of a hidden participant tells only them", () => {
    const core = twoRooms();
    join(core, "h", "r", { hidden: true });
    const { others } = call(core, admin("r"), { method: "UpdateParticipant", room: "r", identity: "user-h", metadata: "x" });
    expect(signals(others).map(([to]) => to)).toEqual(["h"]);
  });

  it("DeleteRoom removes everyone in it with a reason; other rooms stay", () => {
    const core = twoRooms();
    const { result, others } = call(core, admin("r"), { method: "DeleteRoom", room: "r" });
    expect(result).toEqual({ ok: true, body: {} });
    expect(others.filter((o) => o.type === "participant-removed")).toEqual([
      { type: "participant-removed", participantId: "a", reason: "the room was closed by the server API", kick: true },
      { type: "participant-removed", participantId: "b", reason: "the room was closed by the server API", kick: true },
    ]);
    expect(core.stats()).toMatchObject({ rooms: 1, participants: 1, tracks: 0, subscriptions: 0 });
    expect(call(core, admin("r"), { method: "DeleteRoom", room: "r" }).result).toMatchObject({ ok: false, code: "unknown-room" });
  });
});
