import { describe, expect, it } from "vitest";
import { RtpHeader } from "werift";
import { absSendTime, ntpTimestamp, RtpHeaderTemplate } from "../../src/media/rtp-header-template.ts";

const values = { seq: 0xfffe, timestamp: 0xfedc_ba98, marker: true, absSendTime: 0x12_3456, transportSeq: 0x0a0b, audioLevel: 0x85 };

/** werift's own serialization of the same header (its sender sorts extensions by id). */
function weriftHeader(ssrc: number, payloadType: number, extensions: Array<{ id: number; payload: Buffer }>, marker = values.marker): Buffer {
  const header = new RtpHeader({ ssrc, payloadType, sequenceNumber: values.seq, timestamp: values.timestamp, marker, extensions });
  return header.serialize(header.serializeSize);
}

function written(template: RtpHeaderTemplate): Buffer {
  const buf = Buffer.alloc(template.length + 8, 0xee);
  template.write(buf, 4, values);
  return buf.subarray(4, 4 + template.length);
}

describe("RtpHeaderTemplate", () => {
  it("writes what werift's RtpHeader.serialize writes for a video m-line's extensions (mid, abs-send-time, transport-cc)", () => {
    const template = new RtpHeaderTemplate(0x1234_5678, 98, [
      { id: 4, kind: "transport-cc" },
      { id: 1, kind: "fixed", value: Buffer.from("12") },
      { id: 2, kind: "abs-send-time" },
    ]);
    const expected = weriftHeader(0x1234_5678, 98, [
      { id: 1, payload: Buffer.from("12") },
      { id: 2, payload: Buffer.from([0x12, 0x34, 0x56]) },
      { id: 4, payload: Buffer.from([0x0a, 0x0b]) },
    ]);
    expect(written(template).toString("hex")).toBe(expected.toString("hex"));
    expect(template.carriesTransportSeq).toBe(true);
  });

  it("writes an audio m-line's (mid, abs-send-time, audio level), and werift reads the values back", () => {
    const template = new RtpHeaderTemplate(7, 111, [{ id: 1, kind: "fixed", value: Buffer.from("0") }, { id: 2, kind: "abs-send-time" }, { id: 10, kind: "audio-level" }]);
    const bytes = written(template);
    const header = RtpHeader.deSerialize(bytes);
    expect({ pt: header.payloadType, seq: header.sequenceNumber, ts: header.timestamp, marker: header.marker, ssrc: header.ssrc }).toEqual({ pt: 111, seq: values.seq, ts: values.timestamp, marker: true, ssrc: 7 });
    expect(header.extensions.map((e) => [e.id, e.payload.toString("hex")])).toEqual([[1, "30"], [2, "123456"], [10, "85"]]);
    expect(header.payloadOffset).toBe(template.length);
    expect(template.carriesTransportSeq).toBe(false);
  });

  it("writes no extension block (and no X bit) without extensions, and a clear marker", () => {
    const template = new RtpHeaderTemplate(9, 96, []);
    const buf = Buffer.alloc(12);
    template.write(buf, 0, { ...values, marker: false });
    expect(buf.toString("hex")).toBe(weriftHeader(9, 96, [], false).toString("hex"));
    expect(template.length).toBe(12);
  });

  it("refuses extensions the one-byte form cannot carry", () => {
    expect(() => new RtpHeaderTemplate(1, 96, [{ id: 15, kind: "transport-cc" }])).toThrow(/one-byte/);
    expect(() => new RtpHeaderTemplate(1, 96, [{ id: 1, kind: "fixed", value: Buffer.alloc(17) }])).toThrow(/one-byte/);
  });
});

describe("send times", () => {
  it("abs-send-time is NTP seconds in 6.18 fixed point, 24 bits", () => {
    // 2026-12-02T00:00:00.5Z: NTP seconds 3_973_968_000 (+0.5); low 6 bits of the seconds: 0.
    const ms = Date.UTC(2026, 11, 2) + 500;
    const ntpSeconds = ms / 1000 + 2_208_988_800;
    expect(absSendTime(ms)).toBe(Math.floor((ntpSeconds % 64) * 262_144));
  });

  it("the NTP timestamp has the seconds since 1900 and the binary fraction", () => {
    const ms = Date.UTC(2026, 11, 2) + 250;
    const ntp = ntpTimestamp(ms);
    expect(Number(ntp >> 32n)).toBe(ms / 1000 - 0.25 + 2_208_988_800);
    expect(Number(ntp & 0xffff_ffffn)).toBe(2 ** 30);
  });
});
