/**
 * The native send accelerator (packages/relay/native/fast_send.c) against the JavaScript path it
 * stands in for (packages/relay/src/media/srtp-cipher.ts): the same SRTP bytes for both profiles
 * across a sequence number wrap, and the same datagram on the wire. libsrtp's verdict on its output is
 * in srtp-libsrtp.test.ts; real connections on both paths in srtp-profile, sender-reports and
 * loss-recovery. Both native sends: now, on the event loop (protectSend), and on the sender thread (queueSend).
 */
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { RtpHeaderTemplate } from "../../packages/relay/src/media/rtp-header-template.ts";
import { SRTP_HEADROOM, SRTP_TRAILER, type SrtpSessionKeys, srtpCipher } from "../../packages/relay/src/media/srtp-cipher.ts";
import { RolloverCounter } from "../../packages/relay/src/media/srtp-rollover.ts";
import { type NativeAccelerator, nativeAcceleratorFor } from "../../packages/relay/src/rtc/fast-send/native-accelerator.ts";

const SSRC = 0x5eed_f00d;

async function until(test: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}
/** mid, abs-send-time, transport-cc: a subscriber's video m-line. */
const template = new RtpHeaderTemplate(SSRC, 96, [
  { id: 1, kind: "fixed", value: Buffer.from("1") },
  { id: 2, kind: "abs-send-time" },
  { id: 3, kind: "transport-cc" },
]);

function keysOf(profile: SrtpSessionKeys["profile"]): SrtpSessionKeys {
  return profile === "aead-aes-128-gcm"
    ? { profile, key: randomBytes(16), salt: randomBytes(14) }
    : { profile, key: randomBytes(16), salt: randomBytes(14), authKey: randomBytes(20) };
}

/** The same plain RTP packet in two fast-path buffers. */
function twoCopies(seq: number, payloadLength: number) {
  const length = template.length + payloadLength;
  const payload = randomBytes(payloadLength);
  const make = () => {
    const buf = Buffer.alloc(SRTP_HEADROOM + length + SRTP_TRAILER, 0xee);
    template.write(buf, SRTP_HEADROOM, { seq, timestamp: seq * 3000, marker: seq % 5 === 0, absSendTime: seq * 7, transportSeq: seq, audioLevel: 0 });
    payload.copy(buf, SRTP_HEADROOM + template.length);
    return buf;
  };
  return { a: make(), b: make(), length };
}

// `on`: this throws when the module is not built, so the test cannot pass on the JavaScript path alone.
const native: NativeAccelerator = nativeAcceleratorFor("on")!;

describe.each(["aes-cm-128-hmac-sha1-80", "aead-aes-128-gcm"] as const)("the native accelerator, %s", (profile) => {
  it("protects byte for byte as the JavaScript path does, for every payload size, across a sequence number wrap", () => {
    const keys = keysOf(profile);
    const js = srtpCipher(keys);
    const session = native.session(keys);
    const rollover = new RolloverCounter();
    let compared = 0;
    for (let i = 0; i < 1400; i++) {
      const seq = (64_900 + i) & 0xffff; // wraps at i = 636: the rollover counter goes to 1
      const roc = rollover.next(seq);
      const { a, b, length } = twoCopies(seq, i % 1300);
      const jsSize = js.protect(a, template.length, length, SSRC, seq, roc);
      const nativeSize = native.protect(session, b, template.length, length, SSRC, seq, roc);
      expect(nativeSize, `seq ${seq}`).toBe(jsSize);
      expect(b.subarray(SRTP_HEADROOM, SRTP_HEADROOM + nativeSize).equals(a.subarray(SRTP_HEADROOM, SRTP_HEADROOM + jsSize)), `seq ${seq}`).toBe(true);
      compared++;
    }
    expect(compared).toBe(1400);
    expect(rollover.estimate(100)).toBe(1);
  });

  describe("sending", () => {
    const sockets: Socket[] = [];
    afterEach(() => {
      for (const s of sockets.splice(0)) s.close();
    });

    async function bound(type: "udp4" | "udp6", host: string): Promise<Socket> {
      const socket = createSocket(type);
      sockets.push(socket);
      socket.bind(0, host);
      await once(socket, "listening");
      return socket;
    }

    it.each([
      ["udp4", "127.0.0.1"],
      ["udp6", "::1"],
    ] as const)("puts the protected packet on the wire as one datagram (%s)", async (type, host) => {
      const keys = keysOf(profile);
      const session = native.session(keys);
      const receiver = await bound(type, host);
      const sender = await bound(type, host);
      const destination = native.destination(sender, host, receiver.address().port)!;
      expect(destination).toBeDefined();
      const { a, b, length } = twoCopies(4242, 1100);
      const arrived = once(receiver, "message");
      const sent = native.protectSend(session, b, template.length, length, SSRC, 4242, 3, destination);
      const [datagram] = (await arrived) as [Buffer];
      const expected = srtpCipher(keys).protect(a, template.length, length, SSRC, 4242, 3);
      expect(sent).toBe(expected);
      expect(datagram.equals(a.subarray(SRTP_HEADROOM, SRTP_HEADROOM + expected))).toBe(true);
    });

    it("returns -errno when the send fails, with the packet protected all the same (the caller queues it)", async () => {
      const keys = keysOf(profile);
      const sender = await bound("udp4", "127.0.0.1");
      const destination = native.destination(sender, "127.0.0.1", 0)!; // port 0: the kernel refuses the send (EINVAL)
      const { a, b, length } = twoCopies(7, 300);
      const result = native.protectSend(native.session(keys), b, template.length, length, SSRC, 7, 0, destination);
      expect(result).toBe(-22);
      const size = srtpCipher(keys).protect(a, template.length, length, SSRC, 7, 0);
      expect(b.subarray(SRTP_HEADROOM, SRTP_HEADROOM + size).equals(a.subarray(SRTP_HEADROOM, SRTP_HEADROOM + size))).toBe(true);
      native.closeDestination(destination);
    });

    it("the sender thread puts every queued packet on the wire, in order and byte for byte, and counts what it could not send", async () => {
      const keys = keysOf(profile);
      const session = native.session(keys);
      const js = srtpCipher(keys);
      const receiver = await bound("udp4", "127.0.0.1");
      const sender = await bound("udp4", "127.0.0.1");
      const destination = native.destination(sender, "127.0.0.1", receiver.address().port)!;
      const arrived: Buffer[] = [];
      receiver.on("message", (m) => arrived.push(m));
      const expected: Buffer[] = [];
      const scratch = Buffer.alloc(SRTP_HEADROOM + 1400 + SRTP_TRAILER);
      for (let seq = 0; seq < 200; seq++) {
        const { a, b, length } = twoCopies(seq, 200 + seq);
        b.copy(scratch); // one buffer for every call, as the relay does: the queue must have copied it
        const size = native.queueSend(session, scratch, template.length, length, SSRC, seq, 0, destination);
        expect(size).toBe(js.protect(a, template.length, length, SSRC, seq, 0));
        expected.push(Buffer.from(a.subarray(SRTP_HEADROOM, SRTP_HEADROOM + size)));
        scratch.fill(0xaa);
        if (seq % 40 === 39) {
          // In bursts the receiving socket's buffer holds (about 200 kB by default).
          native.flush();
          await until(() => arrived.length === seq + 1);
        }
      }
      expect(arrived.every((m, i) => m.equals(expected[i]!))).toBe(true);
      const before = native.sendCounts();
      const refused = native.destination(sender, "127.0.0.1", 0)!;
      const { b, length } = twoCopies(1, 100);
      native.queueSend(session, b, template.length, length, SSRC, 1, 0, refused);
      native.flush();
      expect(native.sendCounts().failed - before.failed).toBe(1);
      native.closeDestination(refused);
      native.closeDestination(destination);
    });

    it("notes when each packet with a transport-wide seq left, on performance.now()'s clock, for the feedback's send times", async () => {
      const session = native.session(keysOf(profile));
      const receiver = await bound("udp4", "127.0.0.1");
      const sender = await bound("udp4", "127.0.0.1");
      const destination = native.destination(sender, "127.0.0.1", receiver.address().port)!;
      const before = performance.now();
      for (let seq = 0; seq < 20; seq++) {
        const { b, length } = twoCopies(seq, 500);
        native.queueSend(session, b, template.length, length, SSRC, seq, 0, destination, 65_530 + seq <= 0xffff ? 65_530 + seq : seq - 6);
      }
      native.flush();
      const after = performance.now();
      const seqs = Int32Array.from([65_530, 65_535, 0, 13, 14, 500, -1]);
      const out = new Float64Array(seqs.length);
      native.departures(destination, seqs, out, seqs.length);
      for (const t of out.subarray(0, 4)) {
        expect(t).toBeGreaterThanOrEqual(before - 1);
        expect(t).toBeLessThanOrEqual(after + 1);
      }
      expect([...out.subarray(0, 4)]).toEqual([...out.subarray(0, 4)].sort((x, y) => x - y)); // in the order sent
      expect([...out.subarray(4)]).toEqual([-1, -1, -1]); // 14 and 500 never sent; -1 is no seq
      native.closeDestination(destination);
    });

    it("packets queued before the socket closes still leave from it, and a closed destination takes no more", async () => {
      const keys = keysOf(profile);
      const session = native.session(keys);
      const receiver = await bound("udp4", "127.0.0.1");
      const sender = await bound("udp4", "127.0.0.1");
      const port = sender.address().port;
      const destination = native.destination(sender, "127.0.0.1", receiver.address().port)!;
      const from: number[] = [];
      receiver.on("message", (_m, rinfo) => from.push(rinfo.port));
      for (let seq = 0; seq < 50; seq++) {
        const { b, length } = twoCopies(seq, 1000);
        native.queueSend(session, b, template.length, length, SSRC, seq, 0, destination);
      }
      sockets.splice(sockets.indexOf(sender), 1);
      sender.close(); // werift closing its socket: the destination's duplicate keeps it until closed
      native.closeDestination(destination);
      native.flush();
      await until(() => from.length === 50);
      expect(new Set(from)).toEqual(new Set([port]));
      const { b, length } = twoCopies(51, 100);
      expect(() => native.queueSend(session, b, template.length, length, SSRC, 51, 0, destination)).toThrow(/bad arguments/);
    });

    it("has no destination on a closed socket, so Node's socket is asked instead (and reports it)", async () => {
      const sender = await bound("udp4", "127.0.0.1");
      sockets.splice(sockets.indexOf(sender), 1);
      sender.close();
      expect(native.destination(sender, "127.0.0.1", 9)).toBeUndefined();
    });
  });

  it("refuses bad arguments with an error, not a crash", () => {
    const keys = keysOf(profile);
    expect(() => native.session({ ...keys, key: randomBytes(15) })).toThrow(/16 bytes/);
    const session = native.session(keys);
    const short = Buffer.alloc(SRTP_HEADROOM + 100); // no room for the tag after 100 bytes
    expect(() => native.protect(session, short, 12, 100, SSRC, 1, 0)).toThrow(/bad arguments/);
    expect(() => native.protect(session, Buffer.alloc(SRTP_HEADROOM + 200), 40, 30, SSRC, 1, 0)).toThrow(/bad arguments/); // header longer than the packet
    const wrongKind = session as unknown as Parameters<NativeAccelerator["queueSend"]>[7]; // a session where a destination belongs
    expect(() => native.queueSend(session, Buffer.alloc(SRTP_HEADROOM + 300), 12, 200, SSRC, 1, 0, wrongKind)).toThrow(/bad arguments/);
  });

  it("queues packets up to its limit; a longer one is refused (SubscriberPath sends those itself)", async () => {
    const socket = createSocket("udp4");
    socket.bind(0, "127.0.0.1");
    await once(socket, "listening");
    try {
      const session = native.session(keysOf(profile));
      const destination = native.destination(socket, "127.0.0.1", socket.address().port)!;
      const limit = native.queueLimit;
      expect(limit).toBeGreaterThanOrEqual(1500);
      const buf = Buffer.alloc(SRTP_HEADROOM + limit + 1 + SRTP_TRAILER);
      buf[SRTP_HEADROOM] = 0x80;
      expect(native.queueSend(session, buf, 12, limit, SSRC, 1, 0, destination)).toBeGreaterThan(limit);
      expect(() => native.queueSend(session, buf, 12, limit + 1, SSRC, 2, 0, destination)).toThrow(/bad arguments/);
      native.flush();
      native.closeDestination(destination);
    } finally {
      socket.close();
    }
  });
});
