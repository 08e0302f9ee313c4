/**
 * How a video track is encoded: simulcast presets for the camera (up to three layers, each a quarter,
 * half or the full capture size, lowest first as the protocol wants them) and a preset for screen
 * sharing. Pure functions: the capture size in, the sendEncodings and the protocol's `layers` /
 * `layerSizes` out (docs/quality.md explains the choices).
 */
import type { LayerSize } from "@sfu-room/protocol";

/** A simulcast layer by its size: low = a quarter of the capture (each side), medium = half, high = full. */
export type SimulcastLayer = "low" | "medium" | "high";

export interface SimulcastOptions {
  /** The layers to send. Default: as many as the capture size supports (3 from 540p, 2 from 360p, else 1). */
  layers?: SimulcastLayer[];
  /** Bits per second per layer, replacing the preset's. */
  maxBitrates?: Partial<Record<SimulcastLayer, number>>;
}

export interface EncodingPlan {
  /** For addTransceiver's sendEncodings, lowest first; empty = the browser's single default encoding. */
  encodings: RTCRtpEncodingParameters[];
  /** Simulcast rids, lowest first; empty without simulcast. */
  rids: string[];
  /** Encoded size of each layer (same order), when the capture size is known. */
  layerSizes: LayerSize[] | undefined;
  /** MediaStreamTrack.contentHint to set ("detail" for screens). */
  contentHint?: string;
}

const LAYERS: Record<SimulcastLayer, { rid: string; scale: number }> = {
  low: { rid: "q", scale: 4 },
  medium: { rid: "h", scale: 2 },
  high: { rid: "f", scale: 1 },
};
const ORDER: SimulcastLayer[] = ["low", "medium", "high"];

/** Default camera capture when simulcast is on: big enough for three layers (Chromium sends three from 960x540). */
export const SIMULCAST_CAPTURE: MediaTrackConstraints = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 24, max: 30 },
};

/**
 * Camera bitrate for a layer of `height` pixels at about 24-30 fps: roughly what browsers' own
 * simulcast tables use (and LiveKit's presets), so each layer looks sharp without eating the uplink.
 */
export function cameraBitrate(height: number): number {
  if (height <= 180) return 150_000;
  if (height <= 270) return 300_000;
  if (height <= 360) return 500_000;
  if (height <= 540) return 900_000;
  if (height <= 720) return 1_700_000;
  if (height <= 1080) return 3_000_000;
  return 5_000_000;
}

/** Layers Chromium's encoder actually produces for a capture height (its simulcast limits). */
function defaultLayers(height: number | undefined): SimulcastLayer[] {
  if (height === undefined || height >= 540) return ["low", "medium", "high"];
  if (height >= 360) return ["medium", "high"];
  return ["high"];
}

/** The camera's encodings: simulcast when `options` is true or an object, one encoding otherwise. */
export function cameraPlan(capture: { width?: number | undefined; height?: number | undefined }, options: boolean | SimulcastOptions): EncodingPlan {
  if (options === false) return { encodings: [], rids: [], layerSizes: undefined };
  const chosen = typeof options === "object" && options.layers?.length ? options.layers : defaultLayers(capture.height);
  const layers = ORDER.filter((l) => chosen.includes(l));
  if (layers.length < 2) {
    // One layer is no simulcast: send it plainly, with the preset's bitrate for its size.
    const layer = layers[0] ?? "high";
    const height = capture.height === undefined ? undefined : Math.floor(capture.height / LAYERS[layer].scale);
    const custom = typeof options === "object" ? options.maxBitrates?.[layer] : undefined;
    return {
      encodings: [{ scaleResolutionDownBy: LAYERS[layer].scale, maxBitrate: custom ?? cameraBitrate(height ?? 720) }],
      rids: [],
      layerSizes: undefined,
    };
  }
  const known = capture.width !== undefined && capture.height !== undefined;
  const encodings = layers.map((layer): RTCRtpEncodingParameters => {
    const { rid, scale } = LAYERS[layer];
    const height = capture.height === undefined ? 720 / scale : Math.floor(capture.height / scale);
    const custom = typeof options === "object" ? options.maxBitrates?.[layer] : undefined;
    return {
      rid,
      scaleResolutionDownBy: scale,
      maxBitrate: custom ?? cameraBitrate(height),
      // A quarter-size picture is for thumbnails: 15 fps is plenty and halves its cost.
      ...(layer === "low" ? { maxFramerate: 15 } : {}),
    };
  });
  return {
    encodings,
    rids: encodings.map((e) => e.rid!),
    layerSizes: known
      ? layers.map((l) => ({ width: Math.floor(capture.width! / LAYERS[l].scale), height: Math.floor(capture.height! / LAYERS[l].scale) }))
      : undefined,
  };
}

/**
 * Screen sharing: one layer at full resolution (text must stay readable), at most 15 fps and 2.5 Mbit/s,
 * and contentHint "detail" so the encoder drops frames rather than sharpness when the link is tight.
 */
export function screenPlan(): EncodingPlan {
  return { encodings: [{ maxBitrate: 2_500_000, maxFramerate: 15 }], rids: [], layerSizes: undefined, contentHint: "detail" };
}
