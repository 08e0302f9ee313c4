import { describe, expect, it } from "vitest";
import { cleanDisplayName, parseClientMessage, parseServerMessage, PROTOCOL_LIMITS } from "../src/index.ts";

describe("display names", () => {
  it("removes bidirectional overrides, isolates, marks and controls", () => {
    expect(cleanDisplayName("evil\u202Egnp.exe")).toBe("evilgnp.exe");
    expect(cleanDisplayName("\u2067admin\u2069\u200E\u200F\u061C")).toBe("admin");
    expect(cleanDisplayName("bo\u0000b\u0007\u001B[31m\u007F\u0085")).toBe("bob[31m");
    expect(cleanDisplayName("zero\u200Bwidth\uFEFF")).toBe("zerowidth");
  });

  it("collapses whitespace (tabs and newlines too) and trims", () => {
    expect(cleanDisplayName("  Ada \t\n  Lovelace\u00A0\u3000 ")).toBe("Ada Lovelace");
    expect(cleanDisplayName("a \u202E b")).toBe("a b");
    expect(cleanDisplayName("\u202E\u202E")).toBe("");
  });

  it("keeps what names need: emoji sequences, joiners, markup as plain text, NFC", () => {
    expect(cleanDisplayName("👩‍👩‍👧 family")).toBe("👩‍👩‍👧 family"); // ZWJ sequence intact
    expect(cleanDisplayName("<img src=x onerror=alert(1)>")).toBe("<img src=x onerror=alert(1)>"); // text; renderers escape it
    expect(cleanDisplayName("Zoe\u0308")).toBe("Zoë");
  });

  it("bounds the length in code points without splitting a surrogate pair", () => {
    const long = "😀".repeat(PROTOCOL_LIMITS.nameLength + 5);
    expect([...cleanDisplayName(long)].length).toBe(PROTOCOL_LIMITS.nameLength);
  });

  it("is applied by the join schema (relay side) and by the participant schema (SDK side)", () => {
    const join = parseClientMessage(JSON.stringify({ type: "join", id: "j", room: "r", name: " \u202Emallory\n " }));
    expect(join.ok && join.message.type === "join" && join.message.name).toBe("mallory");
    const joined = parseServerMessage(JSON.stringify({
      type: "joined", id: "j", participantId: "P1", room: "r", participants: [{ id: "P2", name: "\u2066eve\u2069\t x", tracks: [] }], iceServers: [], resume: { secret: "s", windowMs: 20000 },
    }));
    expect(joined.ok && joined.message.type === "joined" && joined.message.participants[0]!.name).toBe("eve x");
  });

  it("is stable: cleaning a cleaned name changes nothing, and blank fillers do not make a name", () => {
    for (const name of ["e\u200B\u0301", "a\u00ADb", " \u3164\u3164 ", "\u115Fx\uFFA0", "Zoë\u202E \n Ada"]) {
      const once = cleanDisplayName(name);
      expect(cleanDisplayName(once)).toBe(once);
      expect(once).toBe(once.normalize("NFC"));
    }
    expect(cleanDisplayName("e\u200B\u0301")).toBe("\u00E9");
    expect(cleanDisplayName(" \u3164\u3164 ")).toBe("");
  });

  it("still refuses a name longer than the limit in join, as before", () => {
    const r = parseClientMessage(JSON.stringify({ type: "join", id: "j", room: "r", name: "x".repeat(PROTOCOL_LIMITS.nameLength + 1) }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("bad-message");
  });
});
