import { describe, expect, it } from "vitest";
import { parseTokenCommand } from "../src/token-command.ts";

const KEYS = `k1:${"s".repeat(32)}`;

describe("sfu-relay token", () => {
  it("reads the grants, the identity claims and the lifetime", () => {
    const r = parseTokenCommand(
      ["--room", "standup", "--identity", "rec-1", "--name", "Recorder", "--hidden", "true", "--can-publish-data", "false", "--sources", "microphone,screen", "--ttl", "30m"],
      { SFU_KEYS: KEYS },
    );
    expect(r).toEqual({
      ok: true,
      keysText: KEYS,
      claims: {
        identity: "rec-1", name: "Recorder", metadata: undefined, ttlSeconds: 1800,
        video: { room: "standup", roomJoin: true, hidden: true, canPublishData: false, canPublishSources: ["microphone", "screen"] },
      },
    });
  });

  it("mints server API tokens: a room admin that does not join, and a room lister with no room", () => {
    const admin = parseTokenCommand(["--room", "r", "--identity", "backend", "--room-join", "false", "--room-admin", "true"], { SFU_KEYS: KEYS });
    expect(admin.ok && admin.claims.video).toEqual({ room: "r", roomJoin: false, roomAdmin: true });
    const lister = parseTokenCommand(["--identity", "backend", "--room-list", "true"], { SFU_KEYS: KEYS });
    expect(lister.ok && lister.claims.video).toEqual({ roomJoin: true, roomList: true });
  });

  it.each([
    [["--identity", "a"], /--room is needed/],
    [["--room", "r"], /--identity is needed/],
    [["--room", "r", "--identity", "a", "--can-publish", "no"], /--can-publish: "no" is not true or false/],
    [["--room", "r", "--identity", "a", "--sources", "camera,webcam"], /--sources: "webcam" is not one of/],
    [["--room", "r", "--identity", "a", "--ttl", "6 hours"], /--ttl: "6 hours" is not a lifetime like 90s/],
    [["--room", "r", "--identity", "a", "--grant", "x"], /unknown option "--grant"/],
    [["--room"], /--room needs a value/],
  ])("refuses %j naming the flag", (argv, message) => {
    const r = parseTokenCommand(argv, { SFU_KEYS: KEYS });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it("needs a key, from --keys or SFU_KEYS", () => {
    const r = parseTokenCommand(["--room", "r", "--identity", "a"], {});
    expect(r).toEqual({ ok: false, error: "no key to sign with: give --keys ID:SECRET or set SFU_KEYS, as for the relay" });
  });
});
