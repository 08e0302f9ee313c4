/** coturn's use-auth-secret credentials, checked against values computed independently. */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mintTurnCredential, turnIceServers, turnServerAddresses, type TurnSettings } from "../src/rtc/turn-credentials.ts";

const SETTINGS: TurnSettings = { urls: ["turn:127.0.0.1:3478?transport=udp"], secret: "north", ttlSeconds: 3600, username: undefined, credential: undefined };

describe("TURN credentials", () => {
  it("matches a known HMAC-SHA1 (secret \"north\", username \"1700003600:Pabc\")", () => {
    // printf %s 1700003600:Pabc | openssl dgst -sha1 -hmac north -binary | base64
    expect(mintTurnCredential("north", "Pabc", 1_700_003_600)).toEqual({ username: "1700003600:Pabc", credential: "BsQLAIHN8zfO7r6Ne0DuBZv4M20=" });
  });

  it("mints one credential per participant, expiring ttl seconds after now", () => {
    const now = 1_700_000_000_123;
    const [a] = turnIceServers(SETTINGS, "Palice", now);
    const [b] = turnIceServers(SETTINGS, "Pbob", now);
    expect(a).toEqual({ urls: SETTINGS.urls, username: "1700003600:Palice", credential: createHmac("sha1", "north").update("1700003600:Palice").digest("base64") });
    expect(b!.username).toBe("1700003600:Pbob");
    expect(b!.credential).not.toBe(a!.credential);
  });

  it("hands out static credentials as they are, and nothing without TURN URLs", () => {
    const fixed: TurnSettings = { ...SETTINGS, secret: undefined, username: "u", credential: "p" };
    expect(turnIceServers(fixed, "P1", 0)).toEqual([{ urls: SETTINGS.urls, username: "u", credential: "p" }]);
    expect(turnIceServers({ ...SETTINGS, urls: [] }, "P1", 0)).toEqual([]);
  });

  it("knows the TURN servers' addresses (literals, bracketed IPv6, names from /etc/hosts) to tell relayed paths", async () => {
    const addresses = await turnServerAddresses(["turn:192.0.2.1:3478?transport=udp", "turns:[2001:db8::1]:443?transport=tcp", "turn:localhost"]);
    expect(addresses.has("192.0.2.1")).toBe(true);
    expect(addresses.has("2001:db8::1")).toBe(true);
    expect(addresses.has("127.0.0.1")).toBe(true);
    expect(addresses.has("192.0.2.2")).toBe(false);
  });
});
