/**
 * A call kept under observation while something attacks it: two werift participants publishing audio
 * and video and receiving each other, and the checks a user would make (media keeps arriving, data
 * messages arrive).
 */
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, joinClient } from "./relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";

export interface ObservedCall {
  a: WeriftClient;
  b: WeriftClient;
  close(): Promise<void>;
}

export async function startObservedCall(relay: RunningRelay, room: string, log: SentLog): Promise<ObservedCall> {
  const a = await joinClient(relay, room, "a", log);
  await a.publish([{ kind: "audio" }, { kind: "video" }]);
  const b = await joinClient(relay, room, "b", log);
  await b.publish([{ kind: "audio" }, { kind: "video" }]);
  const pacer = new Pacer(() => [a, b]);
  pacer.start();
  await eventually("a and b receive each other's audio and video", () => a.received.size === 2 && b.received.size === 2);
  await Promise.all([a.connected(), b.connected(), a.dataReady(), b.dataReady()]);
  return {
    a, b,
    async close() {
      await pacer.stop();
      await Promise.all([a.close(), b.close()]);
    },
  };
}

/** Packets received so far on each remote track of these clients. */
export function packetCounts(clients: WeriftClient[]): number[] {
  return clients.flatMap((c) => [...c.received.values()].map((t) => t.packets));
}

/** Every remote track of every client receives at least `packets` more packets (liveness limit 5 s). */
export async function expectMediaFlowing(clients: WeriftClient[], what: string, packets = 20): Promise<void> {
  const before = packetCounts(clients);
  await eventually(`media keeps flowing ${what}`, () => packetCounts(clients).every((n, i) => n >= before[i]! + packets), 5_000);
}

/** A reliable data message from `from` reaches `to` (the subscriber connections' SCTP still works). */
export async function expectDataArrives(from: WeriftClient, to: WeriftClient, text: string): Promise<void> {
  from.sendData(text, { topic: "probe" });
  const decoder = new TextDecoder();
  await eventually(`data message "${text}" arrives`, () => to.data.some((d) => decoder.decode(d.frame.payload) === text), 5_000);
}
