import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, SrtpSession } from "werift";
import { RtpHeaderTemplate } from "../../packages/relay/src/media/rtp-header-template.ts";
import { SRTP_HEADROOM, SRTP_TRAILER, type SrtpSessionKeys, srtpCipher } from "../../packages/relay/src/media/srtp-cipher.ts";
import { RolloverCounter } from "../../packages/relay/src/media/srtp-rollover.ts";
import { nativeAcceleratorFor } from "../../packages/relay/src/rtc/fast-send/native-accelerator.ts";
import { ensureDebianPackage } from "../browser/support/browsers.mjs";

const UNPROTECT = fileURLToPath(new URL("../support/libsrtp-unprotect.py", import.meta.url));
const SSRC = 0x1020_3040;
const template = new RtpHeaderTemplate(SSRC, 96, [{ id: 1, kind: "fixed", value: Buffer.from("0") }, { id: 3, kind: "transport-cc" }]);

/** The fast path's two protectors: the JavaScript one, and the native accelerator (which must be built). */
const PROTECTORS = [
  ["JavaScript", (keys: SrtpSessionKeys) => srtpCipher(keys)],
  ["native", (keys: SrtpSessionKeys) => {
    const native = nativeAcceleratorFor("on")!;
    const session = native.session(keys);
    return { protect: (buf: Buffer, headerLength: number, length: number, ssrc: number, seq: number, roc: number) => native.protect(session, buf, headerLength, length, ssrc, seq, roc) };
  }],
] as const;

describe.each([
  ["AES_CM_128_HMAC_SHA1_80", ...PROTECTORS[0], ProtectionProfileAes128CmHmacSha1_80, "cm"],
  ["AEAD_AES_128_GCM", ...PROTECTORS[0], ProtectionProfileAeadAes128Gcm, "gcm"],
  ["AES_CM_128_HMAC_SHA1_80", ...PROTECTORS[1], ProtectionProfileAes128CmHmacSha1_80, "cm"],
  ["AEAD_AES_128_GCM", ...PROTECTORS[1], ProtectionProfileAeadAes128Gcm, "gcm"],
] as const)("the fast path's SRTP (%s) and libsrtp, %s path", (_name, _path, protectorFor, profile, libsrtpProfile) => {
  it("libsrtp unprotects every packet across a sequence number wrap, and a resend from before the wrap", () => {
    ensureDebianPackage("/usr/lib/python3/dist-packages/pylibsrtp/__init__.py", "python3-pylibsrtp");
    // Keys as DTLS-SRTP exports them (master key and salt); werift derives the session keys, as on a connection.
    const masterKey = randomBytes(16);
    const masterSalt = randomBytes(profile === ProtectionProfileAeadAes128Gcm ? 12 : 14);
    const werift = new SrtpSession({ profile, keys: { localMasterKey: masterKey, localMasterSalt: masterSalt, remoteMasterKey: masterKey, remoteMasterSalt: masterSalt } });
    const { srtpSessionKey: key, srtpSessionSalt: salt, srtpSessionAuthTag: authKey } = werift.localContext;
    const protector = protectorFor(libsrtpProfile === "gcm" ? { profile: "aead-aes-128-gcm", key, salt } : { profile: "aes-cm-128-hmac-sha1-80", key, salt, authKey });
    const rollover = new RolloverCounter();

    const protect = (seq: number) => {
      const payload = randomBytes(100 + (seq % 1000));
      const length = template.length + payload.length;
      const buf = Buffer.allocUnsafe(SRTP_HEADROOM + length + SRTP_TRAILER);
      template.write(buf, SRTP_HEADROOM, { seq, timestamp: seq * 90, marker: false, absSendTime: 0, transportSeq: seq, audioLevel: 0 });
      payload.copy(buf, SRTP_HEADROOM + template.length);
      const plain = buf.subarray(SRTP_HEADROOM, SRTP_HEADROOM + length).toString("hex");
      const size = protector.protect(buf, template.length, length, SSRC, seq, rollover.next(seq));
      return { plain, srtp: buf.subarray(SRTP_HEADROOM, SRTP_HEADROOM + size).toString("hex") };
    };
    const made = new Map<number, { plain: string; srtp: string }>();
    for (let i = 0; i < 60; i++) {
      const seq = (65_500 + i) & 0xffff;
      made.set(seq, protect(seq));
    }
    // 65530 was "lost" on the way: the receiver first sees it resent after the wrap (same seq, same index).
    const order = [...made.keys()].filter((seq) => seq !== 65_530);
    order.push(65_530);
    const lines = execFileSync("/usr/bin/python3", [UNPROTECT, libsrtpProfile, Buffer.concat([masterKey, masterSalt]).toString("hex")], {
      input: order.map((seq) => made.get(seq)!.srtp).join("\n") + "\n",
      encoding: "utf8",
    }).trim().split("\n");
    expect(lines).toEqual(order.map((seq) => made.get(seq)!.plain));
  });
});
