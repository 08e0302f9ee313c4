import { describe, expect, it } from "vitest";
import { peerConfiguration } from "../src/room/ice-config.ts";

describe("peerConfiguration", () => {
  const turn = { urls: ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443"], username: "1767225600:P1", credential: "c2VjcmV0" };

  it("adds the relay's ICE servers after the page's own, keeping the page's policy", () => {
    const page: RTCConfiguration = { iceTransportPolicy: "relay", iceServers: [{ urls: "stun:stun.example.net" }] };
    const config = peerConfiguration(page, [turn]);
    expect(config.iceTransportPolicy).toBe("relay");
    expect(config.iceServers).toEqual([{ urls: "stun:stun.example.net" }, turn]);
    expect(config.bundlePolicy).toBe("max-bundle");
    expect(config.rtcpMuxPolicy).toBe("require");
  });

  it("leaves out credentials the relay did not send, and changes nothing of the page's object", () => {
    const page: RTCConfiguration = {};
    const config = peerConfiguration(page, [{ urls: ["stun:127.0.0.1:3478"] }]);
    expect(config.iceServers).toEqual([{ urls: ["stun:127.0.0.1:3478"] }]);
    expect(Object.keys(config.iceServers![0]!)).toEqual(["urls"]);
    expect(page).toEqual({});
  });

  it("gives an empty server list when neither side has one", () => {
    expect(peerConfiguration({}, []).iceServers).toEqual([]);
  });
});
