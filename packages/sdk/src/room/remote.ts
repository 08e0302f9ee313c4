/** Other participants of the room and the tracks they publish, as this client sees them. */
import type { BandwidthLimit, ConnectionQuality, ParticipantInfo, TrackInfo, TrackKind, TrackSource } from "@sfu-room/protocol";
import { observeElementView } from "./element-view.ts";
import type { ReceivedTrack } from "./subscriber-transport.ts";
import { type SettingsSink, type VideoQuality, ViewSettings } from "./view-settings.ts";

/** The parts of an inbound-rtp stats entry this SDK reports. */
export interface InboundStats {
  kind: TrackKind;
  packetsReceived: number;
  packetsLost: number;
  bytesReceived: number;
  /** Bits per second received since the previous getStats() call (undefined on the first call). */
  bitrate?: number;
  /** Video only. */
  framesDecoded?: number;
  /** Decoded resolution (video): the simulcast layer the relay forwards, as decoded. */
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  /** Video freezes and pauses the browser counted (Chromium). */
  freezeCount?: number;
  pauseCount?: number;
  /** The quality this client asks for (setQuality). */
  quality?: VideoQuality;
  /** Audio only, 0..1. */
  audioLevel?: number;
  jitter?: number;
}

type InboundRtp = RTCInboundRtpStreamStats & { freezeCount?: number; pauseCount?: number };

export class RemoteTrack {
  readonly id: string;
  readonly participantId: string;
  readonly kind: TrackKind;
  source: TrackSource;
  /** MIME type the publisher sends, e.g. "video/VP8". */
  codec: string;
  layers: string[];
  /** The publisher said the track is muted (camera off, microphone muted). */
  muted: boolean;
  /**
   * Video: what the relay says your link does to it (`track-bandwidth-limit` on the Room): "reduced",
   * a lower layer than you asked for (or the tile's size asks for) is sent until the link carries more;
   * "paused", not even the lowest layer fits, so no video comes (audio does) until the relay's next try
   * succeeds; "none", you get what you asked for.
   */
  bandwidthLimit: BandwidthLimit = "none";
  /** The received media, while subscribed and negotiated. */
  mediaStreamTrack: MediaStreamTrack | undefined;
  /** The subscriber connection's receiver for this track, while subscribed. */
  receiver: RTCRtpReceiver | undefined;
  /** mid of the subscriber connection's m-line carrying it. */
  mid: string | undefined;
  readonly #settings: ViewSettings;
  #lastBytes: { at: number; bytes: number } | undefined;
  /** Observe attached elements (adaptive stream). */
  readonly #adaptive: boolean;
  /** Elements from attach(), each with the function that stops observing it. */
  readonly #attached = new Map<HTMLMediaElement, () => void>();

  /** `sink` sends subscription-settings for this track (the Room provides it); `adaptive`: ConnectOptions.adaptiveStream. */
  constructor(info: TrackInfo, sink: SettingsSink = () => Promise.resolve(), adaptive = true) {
    this.#settings = new ViewSettings(sink);
    this.#adaptive = adaptive;
    this.id = info.id;
    this.participantId = info.participantId;
    this.kind = info.kind;
    this.source = info.source;
    this.codec = info.codec;
    this.layers = info.layers;
    this.muted = info.muted;
  }

  get subscribed(): boolean {
    return this.mediaStreamTrack !== undefined;
  }

  /** Current audio level 0..1 of an audio track from the receiver's synchronization sources (cheap, no stats call). */
  get audioLevel(): number {
    if (this.kind !== "audio" || !this.receiver || typeof this.receiver.getSynchronizationSources !== "function") return 0;
    const sources = this.receiver.getSynchronizationSources();
    return sources[0]?.audioLevel ?? 0;
  }

  /** The quality asked for this video (default "auto": the relay picks by tile size). */
  get quality(): VideoQuality {
    return this.#settings.quality;
  }

  /**
   * Asks the relay for a simulcast layer of this video: "low", "medium", "high" (honoured whatever the
   * tile size; bandwidth may still cap it) or "auto". Resolves once the relay accepted it; the new layer
   * shows at its next keyframe. Before the track is received, it is kept and applied then.
   */
  setQuality(quality: VideoQuality): Promise<void> {
    if (this.kind !== "video") return Promise.resolve();
    return this.#settings.setQuality(quality);
  }

  /**
   * Reports the size (device pixels) and visibility of an element showing this video to the relay, so
   * it sends the layer that fits and pauses the video while no element showing it can be seen (scrolled
   * away, hidden, background tab; picture-in-picture counts as seen). Returns a function that stops.
   */
  observeElement(element: HTMLElement): () => void {
    if (this.kind !== "video") return () => undefined;
    const stop = observeElementView(element, (view) => this.#settings.setView(element, view));
    return () => {
      stop();
      this.#settings.removeView(element);
    };
  }

  /**
   * Shows this track in `element` (a new <video> or <audio> when none is given) and returns it: its
   * media now, and again whenever the track is received anew (a resubscribe). With adaptive stream on
   * (the default) a video element is observed as observeElement() does, so it gets the layer that fits
   * and is paused while unseen. detach() undoes it.
   */
  attach(element?: HTMLMediaElement): HTMLMediaElement {
    const el = element ?? document.createElement(this.kind === "video" ? "video" : "audio");
    if (this.#attached.has(el)) return el;
    el.autoplay = true;
    if (el instanceof HTMLVideoElement) {
      el.playsInline = true;
      el.muted = true; // the picture only: sound plays from the audio tracks, and muted video may autoplay
    }
    el.srcObject = this.mediaStreamTrack ? new MediaStream([this.mediaStreamTrack]) : null;
    this.#attached.set(el, this.#adaptive ? this.observeElement(el) : () => undefined);
    return el;
  }

  /** Stops showing this track in `element` (every attached element when none is given); returns them. */
  detach(element?: HTMLMediaElement): HTMLMediaElement[] {
    const elements = element ? [element].filter((e) => this.#attached.has(e)) : [...this.#attached.keys()];
    for (const el of elements) {
      this.#attached.get(el)!();
      this.#attached.delete(el);
      el.srcObject = null;
    }
    return elements;
  }

  /** The inbound-rtp statistics of this track, or undefined when not receiving. */
  async getStats(): Promise<InboundStats | undefined> {
    if (!this.receiver) return undefined;
    const report = await this.receiver.getStats();
    let found: InboundStats | undefined;
    report.forEach((entry: RTCStats) => {
      if (entry.type !== "inbound-rtp") return;
      const s = entry as InboundRtp;
      const bytes = s.bytesReceived ?? 0;
      const last = this.#lastBytes;
      this.#lastBytes = { at: s.timestamp, bytes };
      const bitrate = last && s.timestamp > last.at && bytes >= last.bytes ? Math.round(((bytes - last.bytes) * 8000) / (s.timestamp - last.at)) : undefined;
      found = {
        kind: this.kind,
        packetsReceived: s.packetsReceived ?? 0,
        packetsLost: s.packetsLost ?? 0,
        bytesReceived: bytes,
        ...(bitrate !== undefined ? { bitrate } : {}),
        ...(s.framesDecoded !== undefined ? { framesDecoded: s.framesDecoded } : {}),
        ...(s.frameWidth !== undefined ? { frameWidth: s.frameWidth } : {}),
        ...(s.frameHeight !== undefined ? { frameHeight: s.frameHeight } : {}),
        ...(s.framesPerSecond !== undefined ? { framesPerSecond: s.framesPerSecond } : {}),
        ...(s.freezeCount !== undefined ? { freezeCount: s.freezeCount } : {}),
        ...(s.pauseCount !== undefined ? { pauseCount: s.pauseCount } : {}),
        ...(this.kind === "video" ? { quality: this.quality } : {}),
        ...(s.audioLevel !== undefined ? { audioLevel: s.audioLevel } : {}),
        ...(s.jitter !== undefined ? { jitter: s.jitter } : {}),
      };
    });
    return found;
  }

  /** @internal Its media arrived on the subscriber connection: view settings go to the relay from now on. */
  bind(received: ReceivedTrack): void {
    this.mediaStreamTrack = received.track;
    this.receiver = received.receiver;
    this.mid = received.mid;
    this.#lastBytes = undefined;
    for (const el of this.#attached.keys()) el.srcObject = new MediaStream([received.track]);
    if (this.kind === "video") this.#settings.activate();
  }

  /**
   * @internal Its media went (unsubscribed, unpublished, or the connection ended); the wishes
   * (quality, observed elements) are kept for a later bind of this same track (a resubscribe).
   * Returns whether media was bound.
   */
  unbind(): boolean {
    const wasBound = this.mediaStreamTrack !== undefined;
    this.bandwidthLimit = "none"; // a new subscription starts unlimited
    this.mediaStreamTrack = undefined;
    this.receiver = undefined;
    this.mid = undefined;
    this.#lastBytes = undefined;
    if (this.kind === "video") this.#settings.deactivate();
    return wasBound;
  }

  /** @internal */
  update(info: TrackInfo): void {
    this.source = info.source;
    this.codec = info.codec;
    this.layers = info.layers;
    this.muted = info.muted;
  }
}

export class RemoteParticipant {
  readonly id: string;
  /** Display name; the server API may change it (`participant-updated` on the Room). */
  name: string;
  /** Opaque text from their token's `metadata` or the server API; undefined when none. */
  metadata: string | undefined;
  /** Published tracks by relay track id. */
  readonly tracks = new Map<string, RemoteTrack>();
  /** The relay counts them among the active speakers (`active-speakers-changed` on Room). */
  isSpeaking = false;
  /** Their smoothed audio level 0..1 when the relay last changed the speakers; 0 while not speaking. */
  speakingLevel = 0;
  /** How well their connections carry media, as the relay rates them (`connection-quality-changed` on Room). */
  connectionQuality: ConnectionQuality = "good";

  constructor(info: Pick<ParticipantInfo, "id" | "name" | "metadata">) {
    this.id = info.id;
    this.name = info.name;
    this.metadata = info.metadata;
  }

  /** The first track of a source (camera, microphone, screen). */
  trackBySource(source: TrackSource): RemoteTrack | undefined {
    for (const track of this.tracks.values()) if (track.source === source) return track;
    return undefined;
  }

  get cameraTrack(): RemoteTrack | undefined {
    return this.trackBySource("camera") ?? [...this.tracks.values()].find((t) => t.kind === "video" && t.source === "unknown");
  }

  get microphoneTrack(): RemoteTrack | undefined {
    return this.trackBySource("microphone") ?? [...this.tracks.values()].find((t) => t.kind === "audio" && t.source === "unknown");
  }

  get screenTrack(): RemoteTrack | undefined {
    return this.trackBySource("screen");
  }

  get audioTracks(): RemoteTrack[] {
    return [...this.tracks.values()].filter((t) => t.kind === "audio");
  }

  get videoTracks(): RemoteTrack[] {
    return [...this.tracks.values()].filter((t) => t.kind === "video");
  }
}
