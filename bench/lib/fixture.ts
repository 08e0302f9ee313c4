/**
 * The recorded media fixtures (bench/fixtures/*.rtp, made by record.sh): RTP packets framed as in
 * RFC 4571 (2-byte length + packet). Loaded once per process and grouped into frames.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

export interface FixturePacket {
  /** RTP timestamp relative to the first packet of the file. */
  ts: number;
  marker: boolean;
  payload: Buffer;
}

/** One video frame (packets up to the marker) or one audio packet. */
export interface FixtureFrame {
  packets: FixturePacket[];
  keyframe: boolean;
}

export interface Fixture {
  kind: "audio" | "video";
  frames: FixtureFrame[];
  /** Frame duration in ms (33.33 for 30 fps video, 20 for Opus). */
  frameMs: number;
  /** RTP clock ticks per frame. */
  tsPerFrame: number;
  /** Indexes of keyframes (video). */
  keyframes: number[];
  packetCount: number;
  payloadBytes: number;
}

/** Splits an RFC 4571 stream into raw RTP packets. */
export function readRfc4571(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 2 <= bytes.length) {
    const len = bytes.readUInt16BE(i);
    if (i + 2 + len > bytes.length) throw new Error(`truncated RFC 4571 stream at byte ${i}`);
    out.push(bytes.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

/** Parses the parts of an RTP packet the bench needs. */
export function parseRtp(packet: Buffer): { seq: number; ts: number; marker: boolean; pt: number; payload: Buffer } {
  const cc = packet[0]! & 0x0f;
  const hasExt = (packet[0]! & 0x10) !== 0;
  const hasPadding = (packet[0]! & 0x20) !== 0;
  let off = 12 + cc * 4;
  if (hasExt) off += 4 + packet.readUInt16BE(off + 2) * 4;
  let end = packet.length;
  if (hasPadding) end -= packet[packet.length - 1]!;
  return {
    seq: packet.readUInt16BE(2),
    ts: packet.readUInt32BE(4),
    marker: (packet[1]! & 0x80) !== 0,
    pt: packet[1]! & 0x7f,
    payload: packet.subarray(off, end),
  };
}

/** Whether a VP8 RTP payload starts a keyframe (RFC 7741 descriptor, then the VP8 frame tag). */
export function isVp8KeyframeStart(payload: Buffer): boolean {
  if (payload.length < 3) return false;
  const b0 = payload[0]!;
  const start = (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
  if (!start) return false;
  let off = 1;
  if (b0 & 0x80) {
    const x = payload[1]!;
    off = 2;
    if (x & 0x80) off += payload[off]! & 0x80 ? 2 : 1;
    if (x & 0x40) off += 1;
    if (x & 0x30) off += 1;
  }
  return off < payload.length && (payload[off]! & 0x01) === 0;
}

export function parseFixture(bytes: Buffer, kind: "audio" | "video"): Fixture {
  const packets = readRfc4571(bytes).map(parseRtp);
  if (packets.length === 0) throw new Error("empty fixture");
  const ts0 = packets[0]!.ts;
  const frames: FixtureFrame[] = [];
  let current: FixturePacket[] = [];
  let payloadBytes = 0;
  for (const p of packets) {
    payloadBytes += p.payload.length;
    current.push({ ts: (p.ts - ts0) >>> 0, marker: p.marker, payload: Buffer.from(p.payload) });
    // Audio: one packet per frame. Video: a frame ends at the marker bit.
    if (kind === "audio" || p.marker) {
      frames.push({ packets: current, keyframe: kind === "video" && isVp8KeyframeStart(current[0]!.payload) });
      current = [];
    }
  }
  if (current.length) frames.push({ packets: current, keyframe: false });
  const clock = kind === "audio" ? 48000 : 90000;
  const tsPerFrame = frames.length > 1 ? Math.round(frames.at(-1)!.packets[0]!.ts / (frames.length - 1)) : clock / 50;
  return {
    kind,
    frames,
    frameMs: (tsPerFrame / clock) * 1000,
    tsPerFrame,
    keyframes: frames.flatMap((f, i) => (f.keyframe ? [i] : [])),
    packetCount: packets.length,
    payloadBytes,
  };
}

let cache: { audio: Fixture; video: Fixture } | undefined;

export function loadFixtures(): { audio: Fixture; video: Fixture } {
  cache ??= {
    audio: parseFixture(readFileSync(join(FIXTURE_DIR, "opus.rtp")), "audio"),
    video: parseFixture(readFileSync(join(FIXTURE_DIR, "vp8.rtp")), "video"),
  };
  return cache;
}

export function describeFixture(f: Fixture): string {
  const seconds = (f.frames.length * f.frameMs) / 1000;
  return (
    `${f.kind}: ${f.frames.length} frames, ${seconds.toFixed(2)} s, ${f.packetCount} packets ` +
    `(${(f.packetCount / seconds).toFixed(0)} packets/s, mean payload ${(f.payloadBytes / f.packetCount).toFixed(0)} B, ` +
    `${((f.payloadBytes * 8) / seconds / 1000).toFixed(0)} kbit/s)` +
    (f.kind === "video" ? `, keyframes at frames ${f.keyframes.join(", ")}` : "")
  );
}
