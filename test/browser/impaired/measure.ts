/**
 * Measures a call over one phase (one link condition): the subscriber's decoded frame rate, the time
 * without a new frame, the decoded resolution, and what the publisher sent, from getStats sampled
 * every 250 ms in both pages; and what the impaired link was offered and dropped (the forwarder's counters).
 */
import type { Page } from "puppeteer-core";
import type { Call, Rig, Side } from "./rig.ts";
import { type MediaSample, sampleMedia } from "./media-sample.ts";

const SAMPLE_MS = 250;

export interface PhaseResult {
  phase: string;
  seconds: number;
  /** Frames decoded per second. */
  fps: number;
  /** Seconds in 250 ms windows in which no new frame was decoded. */
  stalledS: number;
  /** Chromium's own count (totalFreezesDuration): frames later than max(3 x the mean, mean + 150 ms). */
  freezeS: number;
  /** Decoded frame height: the most common over the phase, the lowest, and the one at its end. */
  height: number;
  minHeight: number;
  endHeight: number;
  receivedKbps: number;
  /** The publisher's video, all encodings. */
  sentKbps: number;
  sentWidth: number;
  /** The publisher's send-side estimate (availableOutgoingBitrate), median. */
  estimateKbps: number;
  /** The impaired link, when there is one: what it was offered and the share it dropped (loss and queue). */
  link?: { side: Side; direction: "up" | "down"; offeredKbps: number; droppedPct: number };
}

const mode = (xs: number[]) => {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function measurePhase(rig: Rig, call: Call, phase: string, seconds: number, link?: { side: Side; direction: "up" | "down" }): Promise<PhaseResult> {
  const sample = (p: Page) => p.evaluate(sampleMedia);
  const linkBefore = link && (await rig.link(link.side))[link.direction];
  const subs: MediaSample[] = [await sample(call.subscriber)];
  const pubs: MediaSample[] = [await sample(call.publisher)];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    const [s, p] = await Promise.all([sample(call.subscriber), sample(call.publisher)]);
    subs.push(s);
    pubs.push(p);
  }
  const first = subs[0]!;
  const last = subs.at(-1)!;
  const span = (last.at - first.at) / 1000;
  let stalledMs = 0;
  for (let i = 1; i < subs.length; i++) if (subs[i]!.framesDecoded === subs[i - 1]!.framesDecoded) stalledMs += subs[i]!.at - subs[i - 1]!.at;
  const heights = subs.slice(1).map((s) => s.frameHeight);
  const pubSpan = (pubs.at(-1)!.at - pubs[0]!.at) / 1000;
  const result: PhaseResult = {
    phase,
    seconds: Math.round(span),
    fps: (last.framesDecoded - first.framesDecoded) / span,
    stalledS: stalledMs / 1000,
    freezeS: last.totalFreezesDuration - first.totalFreezesDuration,
    height: mode(heights),
    minHeight: Math.min(...heights),
    endHeight: last.frameHeight,
    receivedKbps: ((last.bytesReceived - first.bytesReceived) * 8) / span / 1000,
    sentKbps: ((pubs.at(-1)!.bytesSent - pubs[0]!.bytesSent) * 8) / pubSpan / 1000,
    sentWidth: mode(pubs.map((p) => p.sentWidth)),
    estimateKbps: median(pubs.map((p) => p.availableOutgoingBitrate)) / 1000,
  };
  if (link && linkBefore) {
    const after = (await rig.link(link.side))[link.direction];
    const packets = after.packets - linkBefore.packets;
    result.link = {
      ...link,
      offeredKbps: ((after.bytes - linkBefore.bytes) * 8) / span / 1000,
      droppedPct: packets > 0 ? (100 * (after.lost - linkBefore.lost + after.queueDrops - linkBefore.queueDrops)) / packets : 0,
    };
  }
  return result;
}

/** One line of a phase for logs. */
export function describePhase(r: PhaseResult): string {
  const link = r.link ? `; ${r.link.side} ${r.link.direction}link offered ${r.link.offeredKbps.toFixed(0)} kbit/s, dropped ${r.link.droppedPct.toFixed(0)}%` : "";
  return `${r.phase}: ${r.fps.toFixed(1)} fps, ${r.stalledS.toFixed(1)} s stalled (freezes ${r.freezeS.toFixed(1)} s), ${r.height}p (min ${r.minHeight}p, end ${r.endHeight}p), received ${r.receivedKbps.toFixed(0)} kbit/s; publisher sent ${r.sentKbps.toFixed(0)} kbit/s up to ${r.sentWidth} wide, estimate ${r.estimateKbps.toFixed(0)} kbit/s${link}`;
}
