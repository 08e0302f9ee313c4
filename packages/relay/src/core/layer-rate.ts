/**
 * LayerRate: the bitrate each simulcast layer of a publication is sending, measured from the packet
 * sizes the core sees (time passed in). One-second windows, smoothed, so a keyframe burst does not make
 * a layer look unaffordable.
 */
import type { Millis } from "./types.ts";

const WINDOW_MS = 1000;
const SMOOTHING = 0.5;
/** A window in which a layer's packets start or end further than this from its edges only partly flowed. */
const EDGE_MS = 200;
/**
 * The most a layer's cost falls per window: a layer switched back on starts low (the encoder ramps up
 * again), and an upgrade judged on that would not fit once it has.
 */
const COST_FALL = 0.9;

export class LayerRate {
  private readonly bytes: number[];
  private readonly bps: number[];
  /**
   * Each layer's bitrate in the windows it flowed throughout: what it costs again once switched back on.
   * Not a window it stopped or started in: that one measures only part of a window, and an upgrade
   * judged on it would not fit.
   */
  private readonly flowing: number[];
  /** When each layer's first and last packet of the current window arrived. */
  private readonly firstAt: number[];
  private readonly lastAt: number[];
  /** Has the layer had a window it flowed throughout (a layer of a few frames a second may never)? */
  private readonly flowedThroughout: boolean[];
  private windowStart: Millis | undefined;

  constructor(layerCount: number) {
    this.bytes = Array.from({ length: layerCount }, () => 0);
    this.bps = Array.from({ length: layerCount }, () => 0);
    this.flowing = Array.from({ length: layerCount }, () => 0);
    this.firstAt = Array.from({ length: layerCount }, () => 0);
    this.lastAt = Array.from({ length: layerCount }, () => 0);
    this.flowedThroughout = Array.from({ length: layerCount }, () => false);
  }

  /** The hot path: one packet of `size` payload bytes on `layer`. */
  add(layer: number, size: number, now: Millis): void {
    if (this.windowStart === undefined) this.windowStart = now;
    else if (now - this.windowStart >= WINDOW_MS) this.roll(now);
    if (!this.bytes[layer]) this.firstAt[layer] = now;
    this.lastAt[layer] = now;
    this.bytes[layer] = (this.bytes[layer] ?? 0) + size;
  }

  /** Bits per second of each layer, lowest first (0 for a layer not seen yet). */
  get bitrates(): readonly number[] {
    return this.bps;
  }

  /**
   * What each layer would cost to receive (bits/s): its bitrate, or for a layer that stopped (dynacast
   * switched it off) what it sent when it last flowed; 0 for a layer never seen.
   */
  get costs(): readonly number[] {
    return this.bps.map((bps, i) => Math.max(bps, this.flowing[i]!));
  }

  private roll(now: Millis): void {
    const seconds = (now - this.windowStart!) / 1000;
    for (let i = 0; i < this.bytes.length; i++) {
      const measured = (this.bytes[i]! * 8) / seconds;
      this.bps[i] = this.bps[i] === 0 ? measured : this.bps[i]! * SMOOTHING + measured * (1 - SMOOTHING);
      const throughout = measured > 0 && this.firstAt[i]! - this.windowStart! <= EDGE_MS && now - this.lastAt[i]! <= EDGE_MS;
      // Smoothed over those windows only (the bitrate's smoothing mixes in the partial ones), falling
      // slowly; a partial window says something only while nothing better is known.
      if (throughout) {
        const smoothed = this.flowing[i]! * SMOOTHING + measured * (1 - SMOOTHING);
        this.flowing[i] = this.flowedThroughout[i] ? Math.max(smoothed, this.flowing[i]! * COST_FALL) : measured;
      }
      else if (measured > 0 && !this.flowedThroughout[i]) this.flowing[i] = this.bps[i]!;
      if (throughout) this.flowedThroughout[i] = true;
      this.bytes[i] = 0;
    }
    this.windowStart = now;
  }
}
