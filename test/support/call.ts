/** Two participants in a call, for tests that check that something else leaves them undisturbed. */
import { expect } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, joinClient } from "./relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";

/** Two participants in a call, each publishing audio and video, and a check that it is undisturbed. */
export class Call {
  readonly log: SentLog = new Map();
  alice!: WeriftClient;
  bob!: WeriftClient;
  private pacer!: Pacer;

  async start(relay: RunningRelay, room = "call"): Promise<void> {
    this.alice = await joinClient(relay, room, "alice", this.log);
    this.bob = await joinClient(relay, room, "bob", this.log);
    await this.alice.publish([{ kind: "audio" }, { kind: "video" }]);
    await this.bob.publish([{ kind: "audio" }, { kind: "video" }]);
    this.pacer = new Pacer(() => [this.alice, this.bob]);
    this.pacer.start();
    await eventually("alice and bob receive each other", () => this.alice.received.size === 2 && this.bob.received.size === 2);
  }

  /** Media keeps arriving intact on all four streams (more than a few packets each, from now on). */
  async mediaFlows(timeoutMs = 20_000): Promise<void> {
    const streams = () => [...this.alice.received.values(), ...this.bob.received.values()];
    const before = streams().map((r) => r.packets);
    await eventually("alice and bob still receive growing media", () => streams().every((r, i) => r.packets > before[i]! + 10), timeoutMs);
    for (const r of streams()) {
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
