/** The options of `Room.connect()`. */
import type { CaptureConstraints } from "./local-media.ts";
import type { CaptureOptions } from "./local-participant.ts";
import { SIMULCAST_CAPTURE, type SimulcastOptions } from "./simulcast.ts";
import type { KeyProvider } from "./e2ee/key-provider.ts";

export interface ConnectOptions {
  /** Display name shown to the others (at most 64 characters). */
  name: string;
  /** Access token for relays that require one. */
  token?: string;
  /** Publish the microphone on connect (default true). Constraints may be given instead of true. */
  audio?: CaptureConstraints;
  /** Publish the camera on connect (default true). */
  video?: CaptureConstraints;
  /**
   * Send the camera as simulcast layers (default true: the preset, up to three layers, a quarter, half
   * and full size, with the camera captured at 1280x720 unless `video` says otherwise), or
   * `{ layers, maxBitrates }` to choose; false sends one plain encoding (captured at 640x360). Each
   * subscriber then gets the layer that fits its tile (docs/quality.md).
   */
  simulcast?: boolean | SimulcastOptions;
  /**
   * End-to-end encryption of every frame sent and received with the provider's keys (docs/e2ee.md): the
   * relay forwards what it cannot read. Everyone in the room needs the same keys. Video is sent as VP8.
   */
  e2ee?: { keyProvider: KeyProvider };
  /**
   * Adaptive stream (default true): every element given to `RemoteTrack.attach()` tells the relay its
   * size and whether it can be seen, so a video gets the simulcast layer that fits and is paused while
   * unseen. false: attach() only shows the media (observeElement() and setQuality() still work).
   */
  adaptiveStream?: boolean;
  /** Receive everyone's tracks automatically (default true). */
  autoSubscribe?: boolean;
  /** Extra RTCPeerConnection configuration, e.g. your own TURN server. */
  rtcConfig?: RTCConfiguration;
  /** Give up opening the WebSocket after this many ms (default 10000). */
  connectTimeoutMs?: number;
  /**
   * How long to keep trying to get back into the room after the connection is lost, in ms (default
   * 60000): resume, else rejoin, with back-off (docs/sdk.md, "Reconnecting"). 0 turns reconnecting off:
   * a loss then ends the session at once with `connection-lost`.
   */
  reconnectTimeoutMs?: number;
}

/** What connect() captures: its options with the defaults filled in. */
export function captureOptions(options: Omit<ConnectOptions, "name">): CaptureOptions {
  const simulcast = options.simulcast ?? true;
  const video = options.video === undefined || options.video === true ? (simulcast === false ? true : SIMULCAST_CAPTURE) : options.video;
  return { audio: options.audio ?? true, video, simulcast };
}
