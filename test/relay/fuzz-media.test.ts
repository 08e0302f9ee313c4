/**
 * A seeded, bounded fuzz of the relay's media boundary while a call runs: thousands of datagrams shaped
 * like RTP, RTCP, STUN, DTLS records and noise from stranger sockets to both participants' relay ports,
 * and malformed RTCP from the legitimate peers inside their real SRTCP sessions. The call must keep its
 * media and data flowing, and the relay must not crash (an uncaught error fails the run).
 * The same seed gives the same datagrams: a failure names it.
 */
import { afterAll, expect, it } from "vitest";
import type { RTCPeerConnection } from "werift";
import {
  bindingRequest, clientHello, dtlsRecord, iceUfrag, prng, relayPortsOf, StrangerSocket,
} from "../support/hostile-datagrams.ts";
import { Call, expectDataArrives, expectMediaFlowing, packetCounts } from "../support/call.ts";
import { sleep, startTestRelay } from "../support/relay-harness.ts";
import type { SentLog } from "@sfu-room/test-peer";

const SEED = 0x5eed_0010;
const STRANGER_DATAGRAMS = 8000;
const STRANGERS = 4;
const PER_TICK = 80;
const TICK_MS = 50;
/** Longest time any remote track may go without a packet while the fuzzer runs (the finding was 9.4 s). */
const MAX_STALL_MS = 2000;

type Random = ReturnType<typeof prng>;

/** RTP-shaped: version 2, random flags, payload type, SSRC, CSRC count and extension length that may lie. */
function rtpLike(r: Random): Buffer {
  const b = r.bytes(12 + r.int(1200));
  b[0] = 0x80 | r.int(0x40);
  b[1] = [96, 111, 102, r.int(128)][r.int(4)]! | (r.int(2) << 7);
  return b;
}

/** RTCP-shaped: one or more packets of types 192..223 (SR, RR, SDES, BYE, APP, RTPFB, PSFB...) with lengths that may lie. */
function rtcpLike(r: Random): Buffer {
  const parts: Buffer[] = [];
  for (let n = 1 + r.int(3); n > 0; n--) {
    const body = r.bytes(4 + 4 * r.int(12));
    const header = Buffer.alloc(4);
    header[0] = 0x80 | r.int(32);
    header[1] = r.int(4) === 0 ? 192 + r.int(32) : 200 + r.int(7);
    header.writeUInt16BE(r.int(4) === 0 ? r.int(65536) : body.length / 4, 2);
    if (header[1] === 206 && r.int(2) === 0) {
      header[0] = 0x80 | 15; // REMB: "REMB", SSRC count, exponent and mantissa at random
      body.write("REMB", Math.min(8, body.length - 4));
    }
    parts.push(header, body);
  }
  return Buffer.concat(parts);
}

/** STUN-shaped: the magic cookie, random method and class, attributes (USERNAME, USE-CANDIDATE, MESSAGE-INTEGRITY...) that may lie. */
function stunLike(r: Random, ufrags: string[]): Buffer {
  if (r.int(3) === 0) {
    return bindingRequest({ username: `${ufrags[r.int(ufrags.length)]}:${r.int(1e6)}`, useCandidate: r.int(2) === 0, integrityKey: r.int(2) ? r.bytes(16) : undefined });
  }
  const attributes: Buffer[] = [];
  for (let n = r.int(6); n > 0; n--) {
    const value = r.bytes(r.int(40));
    const header = Buffer.alloc(4);
    header.writeUInt16BE([0x0006, 0x0008, 0x0024, 0x0025, 0x8028, 0x8029, 0x802a, 0x0020, r.int(65536)][r.int(9)]!, 0);
    header.writeUInt16BE(r.int(5) === 0 ? r.int(65536) : value.length, 2);
    attributes.push(header, value, Buffer.alloc((4 - (value.length % 4)) % 4));
  }
  const body = Buffer.concat(attributes);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(r.int(0x4000), 0);
  header.writeUInt16BE(r.int(5) === 0 ? r.int(65536) : body.length, 2);
  header.writeUInt32BE(0x2112a442, 4);
  r.bytes(12).copy(header, 8);
  return Buffer.concat([header, body]);
}

/** DTLS-shaped: records of every content type (and unknown ones), epochs 0/1/other, handshake fragments, mutated ClientHellos. */
function dtlsLike(r: Random): Buffer {
  const records: Buffer[] = [];
  for (let n = 1 + r.int(3); n > 0; n--) {
    const kind = r.int(5);
    if (kind === 0) {
      const hello = clientHello(r.bytes(32));
      for (let flips = r.int(4); flips > 0; flips--) hello[r.int(hello.length)] = r.int(256);
      records.push(hello);
      continue;
    }
    const contentType = kind === 1 ? 20 + r.int(44) : [20, 21, 22, 23][r.int(4)]!;
    let fragment = r.bytes(r.int(200));
    if (contentType === 22 && fragment.length >= 12) fragment[0] = [1, 2, 3, 11, 12, 14, 15, 16, 20][r.int(9)]!;
    if (contentType === 21) fragment = Buffer.from([1 + r.int(2), r.int(256)]);
    const record = dtlsRecord(contentType, fragment, [0, 1, r.int(65536)][r.int(3)]!, r.int(2 ** 32));
    if (r.int(6) === 0) record.writeUInt16BE(r.int(65536), 11); // a length that lies
    records.push(record);
  }
  return Buffer.concat(records);
}

function noise(r: Random): Buffer {
  return r.bytes(r.int(1500));
}

function strangerDatagram(r: Random, ufrags: string[]): Buffer {
  switch (r.int(5)) {
    case 0: return rtpLike(r);
    case 1: return rtcpLike(r);
    case 2: return stunLike(r, ufrags);
    case 3: return dtlsLike(r);
    default: return noise(r);
  }
}

/** Malformed RTCP from a legitimate peer, inside its real SRTCP session (so the relay decrypts and parses it). */
function sendMalformedRtcp(pc: RTCPeerConnection | undefined, r: Random): void {
  const transport = pc?.dtlsTransports[0];
  if (!transport) return;
  const raw = rtcpLike(r);
  transport.sendRtcp([{ serialize: () => raw } as never]).catch(() => undefined);
}

const strangers: StrangerSocket[] = [];
afterAll(async () => {
  await Promise.all(strangers.map((s) => s.close()));
});

it(`seed ${SEED.toString(16)}: ${STRANGER_DATAGRAMS} fuzzed datagrams from strangers and malformed RTCP from the peers leave the call flowing`, async () => {
  const relay = await startTestRelay();
  const log: SentLog = new Map();
  const call = await Call.open(relay, "fuzz", log);
  const { alice: a, bob: b } = call;
  try {
    const ports = [relayPortsOf(a), relayPortsOf(b)].flatMap((p) => [p.publisher, p.subscriber]);
    const ufrags = [a, b].flatMap((c) => [iceUfrag(c.publisher!.remoteDescription!.sdp), iceUfrag(c.subscriber!.remoteDescription!.sdp)]);
    for (let i = 0; i < STRANGERS; i++) strangers.push(await StrangerSocket.open());
    const r = prng(SEED);

    // Watch every remote track while the fuzzer runs: the longest time one goes without a packet.
    let last = packetCounts([a, b]);
    const lastGrowth = last.map(() => performance.now());
    let longestStallMs = 0;
    const watch = setInterval(() => {
      const now = performance.now();
      const counts = packetCounts([a, b]);
      counts.forEach((n, i) => {
        if (n > last[i]!) lastGrowth[i] = now;
        longestStallMs = Math.max(longestStallMs, now - lastGrowth[i]!);
      });
      last = counts;
    }, 100);

    let sent = 0;
    while (sent < STRANGER_DATAGRAMS) {
      for (let k = 0; k < PER_TICK && sent < STRANGER_DATAGRAMS; k++, sent++) {
        const datagram = strangerDatagram(r, ufrags);
        strangers[r.int(STRANGERS)]!.send(datagram, ports[r.int(ports.length)]!).catch(() => undefined);
      }
      sendMalformedRtcp(a.publisher, r);
      sendMalformedRtcp(b.subscriber, r);
      await sleep(TICK_MS);
    }
    await expectMediaFlowing([a, b], `after seed ${SEED.toString(16)}`);
    clearInterval(watch);
    console.info(`fuzz-media: ${sent} datagrams; longest stall of a remote track ${Math.round(longestStallMs)} ms`);

    expect(longestStallMs, `a remote track stopped for ${Math.round(longestStallMs)} ms (seed ${SEED.toString(16)})`).toBeLessThan(MAX_STALL_MS);
    await expectDataArrives(a, b, "a -> b after the fuzz");
    await expectDataArrives(b, a, "b -> a after the fuzz");
    expect(relay.stats().participants).toBe(2);
    expect([a, b].flatMap((c) => [c.publisher!.connectionState, c.subscriber!.connectionState])).toEqual(Array(4).fill("connected"));
    expect(strangers.reduce((n, s) => n + s.received.length, 0), "datagrams the relay sent to strangers").toBe(0);
  } finally {
    await call.stop();
    await relay.close();
  }
}, 60_000);
