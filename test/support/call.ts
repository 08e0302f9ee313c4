/**
 * A call kept under observation while something else happens to the relay (bad input, attacks, fuzz):
 * two werift participants, each publishing audio and video and receiving the other's, and the checks a
 * user would make — media keeps arriving intact, data messages arrive, signaling still answers.
 */
import { expect } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, joinClient } from "./relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";

export class Call {
  readonly log: SentLog;
  alice!: WeriftClient;
  bob!: WeriftClient;
  private pacer!: Pacer;

  constructor(log: SentLog = new Map()) {
    this.log = log;
  }

  /** A call in `room`, connected, media flowing and data channels open. */
  static async open(relay: RunningRelay, room = "call", log?: SentLog): Promise<Call> {
    const call = new Call(log);
    await call.start(relay, room);
    return call;
  }

  async start(relay: RunningRelay, room = "call"): Promise<void> {
    this.alice = await joinClient(relay, room, "alice", this.log);
    await this.alice.publish([{ kind: "audio" }, { kind: "video" }]);
    this.bob = await joinClient(relay, room, "bob", this.log);
    await this.bob.publish([{ kind: "audio" }, { kind: "video" }]);
    this.pacer = new Pacer(() => [this.alice, this.bob]);
    this.pacer.start();
    await eventually("alice and bob receive each other's audio and video", () => this.alice.received.size === 2 && this.bob.received.size === 2);
    await Promise.all([this.alice.connected(), this.bob.connected(), this.alice.dataReady(), this.bob.dataReady()]);
  }

  /** Media keeps arriving intact on all four streams (more than a few packets each, from now on). */
  async mediaFlows(timeoutMs = 20_000): Promise<void> {
    await expectMediaFlowing([this.alice, this.bob], "between alice and bob", 10, timeoutMs);
    for (const r of [...this.alice.received.values(), ...this.bob.received.values()]) {
      expect(r.mismatches).toBe(0);
      expect(r.ssrcs.size).toBe(1);
    }
  }

  /** Media keeps flowing, signaling still answers both of them, and neither got an error. */
  async undisturbed(): Promise<void> {
    await this.mediaFlows();
    for (const c of [this.alice, this.bob]) {
      const track = c.outgoing.find((t) => t.kind === "audio")!;
      const reply = await c.request({ type: "mute", id: c.id(), trackId: track.trackId, muted: false });
      expect(reply.type).toBe("ok");
    }
    expect(this.alice.errors).toEqual([]);
    expect(this.bob.errors).toEqual([]);
  }

  async stop(): Promise<void> {
    await this.pacer.stop();
    await Promise.all([this.alice.close(), this.bob.close()]);
  }
}

/** Packets received so far on each remote track of these clients. */
export function packetCounts(clients: WeriftClient[]): number[] {
  return clients.flatMap((c) => [...c.received.values()].map((t) => t.packets));
}

/**
 * Every remote track of every client receives at least `packets` more packets within `timeoutMs` (5 s
 * by default: short enough that a stall of the kind an attack caused, 6-9 s, fails it).
 */
export async function expectMediaFlowing(clients: WeriftClient[], what: string, packets = 20, timeoutMs = 5_000): Promise<void> {
  const before = packetCounts(clients);
  await eventually(`media keeps flowing ${what}`, () => packetCounts(clients).every((n, i) => n >= before[i]! + packets), timeoutMs);
}

/** A reliable data message from `from` reaches `to` (the subscriber connections' SCTP still works). */
export async function expectDataArrives(from: WeriftClient, to: WeriftClient, text: string): Promise<void> {
  from.sendData(text, { topic: "probe" });
  const decoder = new TextDecoder();
  await eventually(`data message "${text}" arrives`, () => to.data.some((d) => decoder.decode(d.frame.payload) === text), 5_000);
}
