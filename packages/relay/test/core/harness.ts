/** Test helpers for the core: draining outputs, building inputs, publishing in both phases, a seeded PRNG. */
import { SfuCore } from "../../src/core/sfu-core.ts";
import type { CoreConfig, Input, NegotiatedTrack, OfferedTrack, Output, RtpInput, SignalOutput } from "../../src/core/index.ts";

/** A track as a test publishes it: what the client offers and what the SDP negotiation finds (mid = trackId). */
export type TrackSpec = OfferedTrack & NegotiatedTrack;

/** poll() until the timeout output; forward outputs are copied (the core reuses them). */
export function drain(core: SfuCore): { outputs: Output[]; at: number } {
  const outputs: Output[] = [];
  for (;;) {
    const out = core.poll();
    if (out.type === "timeout") return { outputs, at: out.at };
    outputs.push(out.type === "forward" ? { ...out } : out);
  }
}

/**
 * handle() then drain(): every output of one input (without the final timeout), except the webhooks'
 * `room-event` outputs, which room-events.test.ts checks on its own (with `withEvents`: those too).
 */
export function stepAll(core: SfuCore, input: Input, withEvents = false): Output[] {
  core.handle(input);
  const { outputs } = drain(core);
  return withEvents ? outputs : outputs.filter((o) => o.type !== "room-event");
}

/** A dynacast `layers-wanted` message to a publisher. */
export function isLayersWanted(o: Output): boolean {
  return o.type === "signal" && o.message.type === "layers-wanted";
}

/** A `bandwidth-limit` message to a subscriber. */
export function isBandwidthLimit(o: Output): boolean {
  return o.type === "signal" && o.message.type === "bandwidth-limit";
}

/**
 * stepAll() without dynacast's `layers-wanted` messages and the `bandwidth-limit` ones, which
 * dynacast.test.ts and link-limits.test.ts / congestion.test.ts check on their own: the other tests
 * state exactly the outputs of the behaviour they are about.
 */
export function step(core: SfuCore, input: Input): Output[] {
  return stepAll(core, input).filter((o) => !isLayersWanted(o) && !isBandwidthLimit(o));
}

export interface PublishRequest {
  now: number;
  participantId: string;
  requestId: string;
  tracks: TrackSpec[];
}

/**
 * Publishes as the adapter does, in two phases: the offer (`publish-offer`) and, when the core allows it
 * (`negotiate-publish`), the negotiated tracks (`publish-negotiated`). Returns every output of both
 * phases, in order (with `all`: layers-wanted messages too).
 */
export function publish(core: SfuCore, request: PublishRequest, all = false): Output[] {
  const { now, participantId, requestId, tracks } = request;
  const run = all ? stepAll : step;
  const offered = run(core, {
    type: "publish-offer",
    now,
    participantId,
    requestId,
    sdp: "offer",
    tracks: tracks.map(({ trackId, mid, kind, source, layers, layerSizes, muted }) => ({ trackId, mid, kind, source, layers, layerSizes, muted })),
  });
  if (!offered.some((o) => o.type === "negotiate-publish" && o.requestId === requestId)) return offered;
  const negotiated = run(core, {
    type: "publish-negotiated",
    now,
    participantId,
    requestId,
    sdp: "answer",
    tracks: tracks.map(({ trackId, codec, clockRate }) => ({ trackId, codec, clockRate })),
  });
  return [...offered, ...negotiated];
}

/** publish() without the publisher's own negotiate-publish and publish-answer: what the room sees. */
export function published(core: SfuCore, request: PublishRequest, all = false): Output[] {
  return publish(core, request, all).filter(
    (o) => o.type !== "negotiate-publish" && !(o.type === "signal" && o.message.type === "publish-answer"),
  );
}

/**
 * A core with `config`. Connection quality is off unless asked for: its clock would add a wake-up to
 * every test's outputs, and test/core/connection-quality.test.ts states its outputs on its own.
 */
export function newCore(config?: Partial<CoreConfig>): SfuCore {
  return new SfuCore({ connectionQualityIntervalMs: 0, ...config });
}

export function audio(trackId: string, extra: Partial<TrackSpec> = {}): TrackSpec {
  return { trackId, mid: trackId, kind: "audio", source: "microphone", codec: "audio/opus", clockRate: 48000, layers: [], muted: false, ...extra };
}

export function video(trackId: string, layers: string[] = [], extra: Partial<TrackSpec> = {}): TrackSpec {
  return { trackId, mid: trackId, kind: "video", source: "camera", codec: "video/VP8", clockRate: 90000, layers, muted: false, ...extra };
}

export function rtp(publisherId: string, trackId: string, fields: Partial<RtpInput> = {}): RtpInput {
  return {
    type: "rtp",
    now: 0,
    publisherId,
    trackId,
    layer: 0,
    seq: 0,
    timestamp: 0,
    marker: false,
    keyframe: false,
    size: 1000,
    pictureId: -1,
    tl0PicIdx: -1,
    ...fields,
  };
}

/** Only the signal outputs, as [participantId, message]. */
export function signals(outputs: Output[]): [string, SignalOutput["message"]][] {
  return outputs.filter((o): o is SignalOutput => o.type === "signal").map((o) => [o.participantId, o.message]);
}

/** A small seeded PRNG (mulberry32): deterministic simulations without Math.random. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}
