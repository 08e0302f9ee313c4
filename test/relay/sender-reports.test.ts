import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, joinClient, SEND_PATHS, startTestRelay } from "../support/relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";

/** NTP seconds at the Unix epoch. */
const NTP_EPOCH_OFFSET_S = 2_208_988_800;

describe.each(SEND_PATHS)("RTCP sender reports toward subscribers (%s send path)", (_path, sendPath) => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it("count the packets and payload bytes the relay forwarded on each track, with the wall-clock time", async () => {
    relay = await startTestRelay(sendPath);
    const log: SentLog = new Map();
    const alice = await joinClient(relay, "reports", "alice", log);
    await alice.publish([{ kind: "audio" }, { kind: "video" }]);
    const bob = await joinClient(relay, "reports", "bob", log);
    clients.push(alice, bob);
    await Promise.all(clients.map((c) => c.connected()));
    const pacer = new Pacer(() => clients);
    pacer.start();
    await eventually("bob receives both tracks", () => bob.received.size === 2 && [...bob.received.values()].every((r) => r.packets > 50));
    await pacer.stop();
    // A sender report sent after the last packet counts everything forwarded (loopback: nothing lost).
    const tracks = [...bob.received.values()];
    await eventually("a sender report on each track after the last packet", () =>
      tracks.every((r) => r.senderReports.some((sr) => sr.packetsReceived === r.packets && sr.packetCount === r.packets)),
    );
    for (const r of tracks) {
      expect(r.seqGaps, `${r.kind}: nothing lost`).toBe(0);
      const last = r.senderReports.at(-1)!;
      expect({ packets: last.packetCount, octets: last.octetCount }, r.kind).toEqual({ packets: r.packets, octets: r.bytes });
      // The NTP time is the relay's wall clock (same machine): seconds since 1900, not some other epoch.
      expect(Math.abs(last.ntpSeconds - NTP_EPOCH_OFFSET_S - Date.now() / 1000), r.kind).toBeLessThan(60);
    }
  });
});
