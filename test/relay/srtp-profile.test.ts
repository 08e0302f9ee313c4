import { afterEach, describe, expect, it } from "vitest";
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80 } from "werift";
import type { RunningRelay } from "@sfu-room/relay";
import { eventually, joinClient, SEND_PATHS, startTestRelay } from "../support/relay-harness.ts";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";

/** What subscriber connections pick on each send path: its cheaper profile (rtc/fast-send/srtp-preference.ts). */
const CHOSEN = { native: [ProtectionProfileAeadAes128Gcm, "AEAD_AES_128_GCM"], javascript: [ProtectionProfileAes128CmHmacSha1_80, "AES_CM_128_HMAC_SHA1_80"] } as const;

describe.each(SEND_PATHS)("the SRTP profile of each connection (%s send path)", (path, sendPath) => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
  });

  it(`subscriber connections use ${CHOSEN[path][1]} (the relay picks it as DTLS server) and media arrives intact on it`, async () => {
    relay = await startTestRelay(sendPath);
    const log: SentLog = new Map();
    const alice = await joinClient(relay, "profiles", "alice", log);
    await alice.publish([{ kind: "audio" }, { kind: "video" }]);
    const bob = await joinClient(relay, "profiles", "bob", log);
    clients.push(alice, bob);
    await Promise.all(clients.map((c) => c.connected()));
    const pacer = new Pacer(() => clients);
    pacer.start();
    await eventually("bob receives both tracks", () => bob.received.size === 2 && [...bob.received.values()].every((r) => r.packets > 30));
    await pacer.stop();
    expect(bob.subscriber!.dtlsTransports.map((t) => t.srtp.localContext.profile)).toEqual([CHOSEN[path][0]]);
    for (const r of bob.received.values()) expect([r.mismatches, r.seqGaps], r.kind).toEqual([0, 0]);
    // The publisher connection: the client is DTLS server there and picks werift's first, GCM.
    expect(alice.publisher!.dtlsTransports.map((t) => t.srtp.localContext.profile)).toEqual([ProtectionProfileAeadAes128Gcm]);
  });
});
