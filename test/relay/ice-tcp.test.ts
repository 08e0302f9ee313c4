/**
 * ICE-TCP on the relay side: every connection offers a passive TCP candidate on the announced address,
 * below UDP in priority, while its listener is bound to the bind address (behind 1:1 NAT the announced
 * address is on no interface); the listener goes with the connection. Media over TCP with a client
 * whose UDP is blocked: test/browser/e2e/firewall.e2e.ts.
 */
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, resourceCounts, resumeWindow, sleep, startTestRelay } from "../support/relay-harness.ts";

/** Joins over a bare WebSocket and returns the relay's first subscriber offer (its candidates). */
async function subscriberOffer(relay: RunningRelay, room: string): Promise<{ ws: WebSocket; sdp: string }> {
  const ws = new WebSocket(relay.signalUrl);
  await new Promise((resolve) => ws.once("open", resolve));
  const offer = new Promise<string>((resolve) => {
    ws.on("message", (data) => {
      const m = JSON.parse(String(data)) as { type: string; sdp?: string };
      if (m.type === "subscriber-offer") resolve(m.sdp!);
    });
  });
  ws.send(JSON.stringify({ type: "join", id: "j", room, name: "probe", autoSubscribe: true }));
  return { ws, sdp: await offer };
}

interface SdpCandidate { protocol: string; priority: number; address: string; port: number; tcptype: string | undefined }

function candidates(sdp: string): SdpCandidate[] {
  return [...sdp.matchAll(/^a=candidate:\S+ \d+ (\w+) (\d+) (\S+) (\d+) typ host(?: tcptype (\w+))?/gm)].map((m) => ({
    protocol: m[1]!.toLowerCase(), priority: Number(m[2]), address: m[3]!, port: Number(m[4]), tcptype: m[5],
  }));
}

const canConnect = (port: number, host: string) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ port, host }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

describe("ICE-TCP candidates", () => {
  let relay: RunningRelay | undefined;
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });

  it("announce the announced address below UDP, listen on the bind address, in the TCP port range", async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface, like a public IP behind 1:1 NAT; nothing is sent to it.
    relay = await startTestRelay({ announcedAddresses: ["192.0.2.1"], udpPortRange: [23700, 23719], tcpPortRange: [23740, 23759] });
    const { ws, sdp } = await subscriberOffer(relay, "tcp-candidates");
    try {
      const all = candidates(sdp);
      const udp = all.find((c) => c.protocol === "udp");
      const tcp = all.find((c) => c.protocol === "tcp");
      expect(udp).toMatchObject({ address: "192.0.2.1" });
      expect(tcp).toMatchObject({ address: "192.0.2.1", tcptype: "passive" });
      expect(udp!.port).toBeGreaterThanOrEqual(23700);
      expect(udp!.port).toBeLessThanOrEqual(23719);
      expect(tcp!.port).toBeGreaterThanOrEqual(23740);
      expect(tcp!.port).toBeLessThanOrEqual(23759);
      // A client with both pairs checks UDP first (RFC 8445 pair priority follows candidate priority).
      expect(udp!.priority).toBeGreaterThan(tcp!.priority);
      expect(await canConnect(tcp!.port, "127.0.0.1")).toBe(true);
    } finally {
      ws.terminate();
    }
  });

  it("are not offered with --ice-tcp off", async () => {
    relay = await startTestRelay({ iceTcp: false });
    const { ws, sdp } = await subscriberOffer(relay, "no-tcp");
    ws.terminate();
    expect(candidates(sdp).map((c) => c.protocol)).toEqual(["udp"]);
  });

  it("close their listener when the participant goes: 50 joins and leaves leave no TCP server behind", async () => {
    // No resume window: a dropped socket is a participant gone at once.
    relay = await startTestRelay({ ...resumeWindow(0), udpPortRange: [23800, 23819] });
    await sleep(100);
    const before = resourceCounts().TCPServerWrap ?? 0;
    const ports = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const { ws, sdp } = await subscriberOffer(relay, "tcp-churn");
      ports.add(candidates(sdp).find((c) => c.protocol === "tcp")!.port);
      ws.terminate();
    }
    await eventually("every participant released", () => relay!.stats().participants === 0, 10_000);
    await eventually("TCP listeners back to what they were", () => (resourceCounts().TCPServerWrap ?? 0) === before, 10_000);
    // 50 listeners came and went inside a 20-port range: each port was free again for a later one.
    expect(Math.max(...ports)).toBeLessThanOrEqual(23819);
    expect(await canConnect([...ports][0]!, "127.0.0.1")).toBe(false);
  });
});
