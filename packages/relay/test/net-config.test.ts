/** The firewall options: ICE-TCP and its ports, TURN URLs and credentials (docs/deploy.md). */
import { describe, expect, it } from "vitest";
import { DEFAULT_RELAY_CONFIG, parseConfig } from "../src/config.ts";

const TURN = "turn:turn.example.org:3478?transport=udp";

describe("ICE-TCP and TURN configuration", () => {
  it("offers ICE-TCP on the UDP range by default, and no TURN", () => {
    expect(DEFAULT_RELAY_CONFIG.iceTcp).toBe(true);
    expect(DEFAULT_RELAY_CONFIG.tcpPortRange).toBeUndefined();
    expect(DEFAULT_RELAY_CONFIG.turn.urls).toEqual([]);
    expect(DEFAULT_RELAY_CONFIG.turn.ttlSeconds).toBe(86_400);
  });

  it("reads --ice-tcp, --tcp-ports and the TURN settings from flags and the environment", () => {
    const r = parseConfig(["--tcp-ports", "41000-41999", "--turn-ttl=3600"], {
      SFU_ICE_TCP: "on", SFU_TURN_URLS: `${TURN}, turns:turn.example.org:443?transport=tcp`, SFU_TURN_SECRET: "s3cret",
    });
    if (!r.ok) throw new Error(r.error);
    expect(r.config.iceTcp).toBe(true);
    expect(r.config.tcpPortRange).toEqual([41000, 41999]);
    expect(r.config.turn).toEqual({
      urls: [TURN, "turns:turn.example.org:443?transport=tcp"], secret: "s3cret", ttlSeconds: 3600, username: undefined, credential: undefined,
    });
    const off = parseConfig(["--ice-tcp", "off"], {});
    expect(off.ok && off.config.iceTcp).toBe(false);
  });

  it("--turn-url given several times adds up, and replaces the environment's list", () => {
    const r = parseConfig(["--turn-url", TURN, "--turn-url", "turn:[2001:db8::1]?transport=tcp,turn:192.0.2.1", "--turn-username", "u", "--turn-credential", "p"], {
      SFU_TURN_URLS: "turn:ignored.example.org",
    });
    if (!r.ok) throw new Error(r.error);
    expect(r.config.turn.urls).toEqual([TURN, "turn:[2001:db8::1]?transport=tcp", "turn:192.0.2.1"]);
    expect(r.config.turn).toMatchObject({ username: "u", credential: "p", secret: undefined });
  });

  it.each([
    [["--ice-tcp", "yes"], /--ice-tcp: "yes" is not on or off/],
    [["--tcp-ports", "41000"], /--tcp-ports: "41000" is not a range like 40000-40999/],
    [["--tcp-ports", "41000-41001"], /--tcp-ports: the range needs at least 2 ports/],
    [["--tcp-ports", "41000-41999", "--ice-tcp", "off"], /--tcp-ports has no effect with --ice-tcp off/],
    [["--turn-url", "stun:turn.example.org"], /"stun:turn.example.org" is not a TURN URL like turn:/],
    [["--turn-url", "turn:turn.example.org:99999", "--turn-secret", "s"], /port 99999 is not 1-65535/],
    [["--turn-url", "turn:turn.example.org?transport=sctp", "--turn-secret", "s"], /transport must be udp or tcp, not sctp/],
    [["--turn-url", "turns:turn.example.org:443?transport=udp", "--turn-secret", "s"], /turns: is TURN over TLS \(TCP\)/],
    [["--turn-url", " , "], /names no TURN URL/],
    [["--turn-url", TURN], /--turn-url needs credentials: --turn-secret/],
    [["--turn-secret", "s"], /need --turn-url/],
    [["--turn-url", TURN, "--turn-secret", "s", "--turn-username", "u", "--turn-credential", "p"], /exclude each other/],
    [["--turn-url", TURN, "--turn-username", "u"], /--turn-username and --turn-credential go together/],
    [["--turn-url", TURN, "--turn-secret="], /--turn-secret: must not be empty/],
    [["--turn-url", TURN, "--turn-secret", "s", "--turn-ttl", "10"], /--turn-ttl: "10" is not a number of seconds from 60/],
  ])("rejects %j with a message naming the flag", (argv, message) => {
    const r = parseConfig(argv, {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it("names the environment variable of a bad TURN URL", () => {
    expect(parseConfig([], { SFU_TURN_URLS: "http://x" })).toEqual({
      ok: false, error: 'SFU_TURN_URLS: "http://x" is not a TURN URL like turn:turn.example.org:3478?transport=udp or turns:turn.example.org:443?transport=tcp',
    });
  });
});
