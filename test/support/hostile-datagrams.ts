/**
 * An attacker on the media ports: a plain UDP socket on 127.0.0.1 that learns a victim's relay ports
 * from the SDP the victim received, and the datagrams it sends (DTLS records, STUN requests, noise).
 */
import { createSocket, type Socket } from "node:dgram";
import { Message } from "werift";
import type { WeriftClient } from "@sfu-room/test-peer";

/** The relay's host candidate ports in an SDP (the relay announces 127.0.0.1 in tests). */
export function candidatePorts(sdp: string): number[] {
  return [...sdp.matchAll(/^a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 (\d+) typ host/gm)].map((m) => Number(m[1]));
}

/** The ICE ufrag an SDP announces. */
export function iceUfrag(sdp: string): string {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
  if (!ufrag) throw new Error("the SDP has no a=ice-ufrag");
  return ufrag;
}

/** The relay's two media ports for a client: its publisher connection's and its subscriber connection's. */
export function relayPortsOf(client: WeriftClient): { publisher: number; subscriber: number } {
  const publisher = candidatePorts(client.publisher?.remoteDescription?.sdp ?? "")[0];
  const subscriber = candidatePorts(client.subscriber?.remoteDescription?.sdp ?? "")[0];
  if (publisher === undefined || subscriber === undefined) throw new Error("the client has not negotiated both connections yet");
  return { publisher, subscriber };
}

/** A stranger's socket: sends to the relay on loopback and records everything that comes back. */
export class StrangerSocket {
  readonly received: Buffer[] = [];
  private readonly socket: Socket = createSocket("udp4");

  static async open(): Promise<StrangerSocket> {
    const stranger = new StrangerSocket();
    stranger.socket.on("message", (data) => stranger.received.push(data));
    await new Promise<void>((resolve) => stranger.socket.bind(0, "127.0.0.1", resolve));
    return stranger;
  }

  send(datagram: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(datagram, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A small seeded PRNG (mulberry32): the same seed gives the same datagrams in every run. */
export function prng(seed: number): { next(): number; int(maxExclusive: number): number; bytes(n: number): Buffer } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (maxExclusive: number) => Math.floor(next() * maxExclusive);
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  return { next, int, bytes };
}

export const DTLS_CONTENT = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

/** One DTLS 1.2 record: content type, version, epoch, 48-bit sequence number, length, fragment. */
export function dtlsRecord(contentType: number, fragment: Buffer, epoch = 0, sequence = 0): Buffer {
  const header = Buffer.alloc(13);
  header[0] = contentType;
  header.writeUInt16BE(0xfefd, 1);
  header.writeUInt16BE(epoch, 3);
  header.writeUIntBE(sequence, 5, 6);
  header.writeUInt16BE(fragment.length, 11);
  return Buffer.concat([header, fragment]);
}

/** A plaintext (epoch 0) alert record: level 1 warning / 2 fatal; description 0 close_notify, 40 handshake_failure. */
export function plaintextAlert(level: number, description: number): Buffer {
  return dtlsRecord(DTLS_CONTENT.alert, Buffer.from([level, description]));
}

/** A well-formed DTLS 1.2 ClientHello record (no cookie): what starts a handshake at a DTLS server. */
export function clientHello(random: Buffer): Buffer {
  const extensions = Buffer.from([
    0x00, 0x0e, 0x00, 0x05, 0x00, 0x02, 0x00, 0x01, 0x00, // use_srtp: AES_CM_128_HMAC_SHA1_80, no MKI
    0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, // supported_groups: secp256r1
    0x00, 0x17, 0x00, 0x00, // extended_master_secret
  ]);
  const body = Buffer.concat([
    Buffer.from([0xfe, 0xfd]), random.subarray(0, 32),
    Buffer.from([0x00]), // session id
    Buffer.from([0x00]), // cookie
    Buffer.from([0x00, 0x02, 0xc0, 0x2b]), // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    Buffer.from([0x01, 0x00]), // compression: null
    Buffer.from([extensions.length >> 8, extensions.length & 0xff]), extensions,
  ]);
  const handshake = Buffer.alloc(12);
  handshake[0] = 1; // client_hello
  handshake.writeUIntBE(body.length, 1, 3);
  handshake.writeUInt16BE(0, 4); // message_seq
  handshake.writeUIntBE(0, 6, 3); // fragment_offset
  handshake.writeUIntBE(body.length, 9, 3); // fragment_length
  return dtlsRecord(DTLS_CONTENT.handshake, Buffer.concat([handshake, body]));
}

const BINDING = 0x001;
const REQUEST = 0x000;

/**
 * A STUN Binding Request as an ICE peer sends it to the relay: USERNAME "relay ufrag:peer ufrag", a
 * PRIORITY, ICE-CONTROLLING, optionally USE-CANDIDATE; with a MESSAGE-INTEGRITY made with `key` (a
 * stranger does not know the relay's password, so any key it has is wrong) or none at all.
 */
export function bindingRequest(options: { username?: string; useCandidate?: boolean; integrityKey?: Buffer }): Buffer {
  const request = new Message(BINDING, REQUEST);
  if (options.username !== undefined) request.setAttribute("USERNAME", options.username);
  request.setAttribute("PRIORITY", 1853824767);
  request.setAttribute("ICE-CONTROLLING", 0x1234567890abcdefn);
  if (options.useCandidate) request.setAttribute("USE-CANDIDATE", null);
  if (options.integrityKey) request.addMessageIntegrity(options.integrityKey);
  request.addFingerprint();
  return request.bytes;
}
