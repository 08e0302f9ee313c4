import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, RtpHeader, RtpPacket, SrtpSession } from "werift";
import { RtpHeaderTemplate } from "../../src/media/rtp-header-template.ts";
import { SRTP_HEADROOM, SRTP_TRAILER, type SrtpSessionKeys, SrtpUnprotectError, srtpCipher } from "../../src/media/srtp-cipher.ts";
import { RolloverCounter } from "../../src/media/srtp-rollover.ts";
import { nativeAcceleratorFor } from "../../src/rtc/fast-send/native-accelerator.ts";

/** A werift SRTP session for each end of one direction: werift protects as `sender`, unprotects as `receiver`. */
function sessions(profile: number) {
  const masterKey = randomBytes(16);
  const masterSalt = randomBytes(profile === ProtectionProfileAeadAes128Gcm ? 12 : 14);
  const other = { key: randomBytes(16), salt: randomBytes(masterSalt.length) };
  const sender = new SrtpSession({ profile, keys: { localMasterKey: masterKey, localMasterSalt: masterSalt, remoteMasterKey: other.key, remoteMasterSalt: other.salt } });
  const receiver = new SrtpSession({ profile, keys: { localMasterKey: other.key, localMasterSalt: other.salt, remoteMasterKey: masterKey, remoteMasterSalt: masterSalt } });
  const { srtpSessionKey: key, srtpSessionSalt: salt, srtpSessionAuthTag: authKey } = sender.localContext;
  const keys: SrtpSessionKeys = profile === ProtectionProfileAeadAes128Gcm ? { profile: "aead-aes-128-gcm", key, salt } : { profile: "aes-cm-128-hmac-sha1-80", key, salt, authKey };
  return { sender, receiver, ours: srtpCipher(keys), keys };
}

const SSRC = 0x8a3b_c0de;
/** mid, abs-send-time, transport-cc: what a subscriber's video m-line carries. */
const template = new RtpHeaderTemplate(SSRC, 96, [
  { id: 1, kind: "fixed", value: Buffer.from("3") },
  { id: 2, kind: "abs-send-time" },
  { id: 3, kind: "transport-cc" },
]);

/** The plain RTP packet in the fast path's buffer layout, and the same packet on its own. */
function packet(seq: number, payload: Buffer) {
  const length = template.length + payload.length;
  const buf = Buffer.allocUnsafe(SRTP_HEADROOM + length + SRTP_TRAILER);
  template.write(buf, SRTP_HEADROOM, { seq, timestamp: seq * 3000, marker: seq % 7 === 0, absSendTime: seq * 51, transportSeq: seq ^ 0x5555, audioLevel: 0 });
  payload.copy(buf, SRTP_HEADROOM + template.length);
  return { buf, length, plain: Buffer.from(buf.subarray(SRTP_HEADROOM, SRTP_HEADROOM + length)) };
}

describe.each([
  ["AES_CM_128_HMAC_SHA1_80", ProtectionProfileAes128CmHmacSha1_80],
  ["AEAD_AES_128_GCM", ProtectionProfileAeadAes128Gcm],
])("SRTP protection %s", (_name, profile) => {
  it("is byte-identical to werift's, and werift's receiver unprotects it, across a sequence number wrap", () => {
    const { sender, receiver, ours } = sessions(profile);
    const rollover = new RolloverCounter();
    let wrapped = false;
    // Payload sizes on both sides of block (16) and word (4) boundaries; sequence numbers through 65535 -> 0.
    for (let i = 0; i < 40; i++) {
      const seq = (65_520 + i) & 0xffff;
      if (seq === 0) wrapped = true;
      const payload = randomBytes([1, 3, 15, 16, 17, 100, 1099, 1200, 1203][i % 9]!);
      const { buf, length, plain } = packet(seq, payload);
      const size = ours.protect(buf, template.length, length, SSRC, seq, rollover.next(seq));
      const srtp = buf.subarray(SRTP_HEADROOM, SRTP_HEADROOM + size);
      const header = RtpHeader.deSerialize(plain);
      expect(srtp.equals(sender.encrypt(payload, header)), `seq ${seq}, ${payload.length} bytes`).toBe(true);
      expect(receiver.decrypt(Buffer.from(srtp)).equals(plain), `seq ${seq} unprotected`).toBe(true);
    }
    expect(wrapped).toBe(true);
  });

  it("fails werift's authentication when a byte changes", () => {
    const { receiver, ours } = sessions(profile);
    const { buf, length } = packet(100, randomBytes(500));
    const size = ours.protect(buf, template.length, length, SSRC, 100, 0);
    const srtp = Buffer.from(buf.subarray(SRTP_HEADROOM, SRTP_HEADROOM + size));
    srtp[template.length + 10]! ^= 1;
    expect(() => receiver.decrypt(srtp)).toThrow();
  });
});

/** The receive side's two unprotectors: the JavaScript cipher, and the native accelerator's ("on": it must be built). */
const UNPROTECTORS = {
  JavaScript: (keys: SrtpSessionKeys) => srtpCipher(keys),
  native: (keys: SrtpSessionKeys) => nativeAcceleratorFor("on")!.unprotector(keys),
} as const;

describe.each([
  ["AES_CM_128_HMAC_SHA1_80", "JavaScript", ProtectionProfileAes128CmHmacSha1_80],
  ["AEAD_AES_128_GCM", "JavaScript", ProtectionProfileAeadAes128Gcm],
  ["AES_CM_128_HMAC_SHA1_80", "native", ProtectionProfileAes128CmHmacSha1_80],
  ["AEAD_AES_128_GCM", "native", ProtectionProfileAeadAes128Gcm],
] as const)("SRTP unprotection %s, %s", (_name, implementation, profile) => {
  const sessionsOf = (p: number) => {
    const made = sessions(p);
    return { ...made, ours: UNPROTECTORS[implementation](made.keys) };
  };
  /** What a publisher sends: werift's protection of packets with CSRCs, extensions, padding. */
  function published(sender: SrtpSession, seq: number) {
    const extensions = seq % 3 === 0 ? [] : [{ id: 1, payload: Buffer.from("m1") }, { id: 4, payload: Buffer.from([seq & 0xff, 2, 3]) }];
    const header = new RtpHeader({ ssrc: 0x1234, payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, marker: seq % 2 === 0, extensions, csrc: seq % 5 === 0 ? [7, 8] : [] });
    const payload = randomBytes(1 + ((seq * 37) % 1300));
    const plain = new RtpPacket(header, payload).serialize();
    return { plain, srtp: sender.encrypt(payload, RtpHeader.deSerialize(plain)) };
  }

  it("gives werift's plaintext for werift's packets, across a wrap and for a late packet from before it", () => {
    const { sender, receiver, ours } = sessionsOf(profile);
    // The receiving direction of the same session: our cipher made from werift's sender keys unprotects what it sends.
    const rollover = new RolloverCounter();
    const sent = Array.from({ length: 40 }, (_, i) => published(sender, (65_510 + i) & 0xffff));
    const late = sent.splice(20, 1)[0]!; // 65530, overtaken on the way
    sent.push(late);
    for (const { plain, srtp } of sent) {
      const mine = ours.unprotect(srtp, rollover);
      expect(mine.equals(plain), `seq ${plain.readUInt16BE(2)}`).toBe(true);
      expect(mine.equals(receiver.decrypt(Buffer.from(srtp)))).toBe(true);
    }
  });

  it("refuses a changed byte, a short datagram and a wrong key with SrtpUnprotectError, and keeps its rollover state", () => {
    const { sender, ours } = sessionsOf(profile);
    const other = sessionsOf(profile).ours;
    const rollover = new RolloverCounter();
    ours.unprotect(published(sender, 100).srtp, rollover);
    const { srtp } = published(sender, 40_000);
    const changed = Buffer.from(srtp);
    changed[changed.length - 20]! ^= 0x40;
    expect(() => ours.unprotect(changed, rollover)).toThrow(SrtpUnprotectError);
    expect(() => ours.unprotect(srtp.subarray(0, 11), rollover)).toThrow(SrtpUnprotectError);
    expect(() => other.unprotect(srtp, rollover)).toThrow(SrtpUnprotectError);
    // None of them moved the highest sequence number to 40000 (after which 0 would count as wrapped).
    expect(rollover.estimate(0)).toBe(0);
    ours.unprotect(srtp, rollover);
    expect(rollover.estimate(0)).toBe(1);
  });
});

describe("RolloverCounter", () => {
  it("counts wraps, and gives a resent packet from before a wrap the counter it was first sent with", () => {
    const rollover = new RolloverCounter();
    expect([65_534, 65_535, 0, 1].map((seq) => rollover.next(seq))).toEqual([0, 0, 1, 1]);
    expect(rollover.next(65_535)).toBe(0); // a NACKed packet sent again
    expect(rollover.next(2)).toBe(1);
    for (let seq = 3; seq < 65_536; seq += 1000) rollover.next(seq);
    expect(rollover.next(10)).toBe(2);
  });

  it("starts at 0, whatever the first sequence number", () => {
    expect(new RolloverCounter().next(40_000)).toBe(0);
  });
});
