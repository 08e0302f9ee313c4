/**
 * The transport-cc feedback the relay sends publishers, read back through werift's RTCP parser and the
 * relay's reader (the path a subscriber's feedback takes): every sequence number is reported once, lost
 * ones as lost, arrival times to the protocol's 250 µs, across wrap-around, reordering and long gaps.
 */
import { describe, expect, it } from "vitest";
import { RtcpPacketConverter, RtcpTransportLayerFeedback, TransportWideCC } from "werift";
import { TransportCcFeedback } from "../../src/media/transport-cc-feedback.ts";
import { readTransportCc } from "../../src/rtc/transport-cc-reader.ts";

/** Parses one feedback packet as a remote peer would: [seq, arrivalMs or -1][]. */
function parse(bytes: Buffer): Array<[number, number]> {
  expect(bytes.length % 4).toBe(0);
  const [packet, ...rest] = RtcpPacketConverter.deSerialize(bytes);
  expect(rest).toEqual([]);
  expect(packet).toBeInstanceOf(RtcpTransportLayerFeedback);
  const feedback = (packet as RtcpTransportLayerFeedback).feedback;
  expect(feedback).toBeInstanceOf(TransportWideCC);
  const out: Array<[number, number]> = [];
  readTransportCc(feedback as TransportWideCC, (seq, at) => out.push([seq, at]));
  return out;
}

/** Arrival times relative to the first reported one (the reference time is the receiver's own clock). */
const relative = (rows: Array<[number, number]>, origin: number) => rows.map(([s, at]): [number, number] => [s, at < 0 ? -1 : Math.round((at - origin) * 4) / 4]);

describe("transport-cc feedback", () => {
  it("reports received packets with their arrival times, in order, once", () => {
    const fb = new TransportCcFeedback();
    [10, 11, 12, 13].forEach((seq, i) => fb.record(seq, 1000.3 + i * 5.25));
    const rows = parse(fb.take(1, 2)!);
    expect(relative(rows, rows[0]![1])).toEqual([[10, 0], [11, 5.25], [12, 10.5], [13, 15.75]]);
    expect(fb.take(1, 2)).toBeUndefined(); // nothing new: no packet
    fb.record(14, 1030);
    expect(parse(fb.take(1, 2)!).map(([s]) => s)).toEqual([14]);
  });

  it("keeps arrival spacing across feedbacks within the 250 µs unit (no drift from rounding)", () => {
    const fb = new TransportCcFeedback();
    const all: Array<[number, number]> = [];
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 7; k++) fb.record(round * 7 + k, 5000 + round * 50 + k * 7.13);
      all.push(...parse(fb.take(1, 2)!));
    }
    expect(all.map(([s]) => s)).toEqual([...Array(140).keys()]);
    all.forEach(([seq, at]) => {
      const sent = 5000 + Math.floor(seq / 7) * 50 + (seq % 7) * 7.13;
      expect(Math.abs(at - all[0]![1] - (sent - 5000))).toBeLessThanOrEqual(0.125);
    });
  });

  it("reports gaps as lost, ignores packets arriving after they were reported lost, and wraps at 65535", () => {
    const fb = new TransportCcFeedback();
    fb.record(65533, 100);
    fb.record(65535, 102); // 65534 missing
    fb.record(1, 104); // 0 missing
    const rows = parse(fb.take(7, 8)!);
    expect(rows.map(([s, at]) => [s, at < 0 ? "lost" : "ok"])).toEqual([[65533, "ok"], [65534, "lost"], [65535, "ok"], [0, "lost"], [1, "ok"]]);
    fb.record(0, 110); // late: already reported lost
    fb.record(2, 111);
    expect(parse(fb.take(7, 8)!).map(([s]) => s)).toEqual([2]);
  });

  it("reorders within a feedback, with a negative (large) delta", () => {
    const fb = new TransportCcFeedback();
    fb.record(5, 200);
    fb.record(7, 203);
    fb.record(6, 204.5); // arrived after 7
    fb.record(8, 290); // 85.5 ms later: a large delta
    const rows = parse(fb.take(1, 2)!);
    expect(relative(rows, rows[0]![1])).toEqual([[5, 0], [6, 4.5], [7, 3], [8, 90]]);
  });

  it("gives up sequence numbers more than 4096 behind the newest", () => {
    const fb = new TransportCcFeedback();
    fb.record(0, 0);
    fb.record(5000, 10);
    const rows = parse(fb.take(1, 2)!);
    expect(rows.length).toBe(4096);
    expect(rows[0]![0]).toBe(5000 - 4095);
    expect(rows.at(-1)).toEqual([5000, expect.any(Number)]);
  });
});
