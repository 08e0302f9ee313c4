/**
 * The publisher peer connection: this client offers, the relay answers (docs/protocol.md, 7.2).
 * One `publish-offer` in flight at a time: negotiations are queued. Unpublished transceivers are kept
 * (track replaced by none) and reused for the next track of the same kind, so the offer never grows
 * with stopped m-lines.
 */
import type { PublishedTrack, TrackKind, TrackSource } from "@sfu-room/protocol";
import { type CurrentSignal, RelayRequestError } from "./signal-client.ts";
import { RoomError } from "./errors.ts";
import type { EncodingPlan } from "./simulcast.ts";
import type { FrameEncryption } from "./e2ee/frame-encryption.ts";
import { withoutRed } from "./plain-audio.ts";

export interface PublishSpec {
  track: MediaStreamTrack;
  source: TrackSource;
  /** How to encode a video track (simulcast layers, bitrates); the browser's default without. */
  plan?: EncodingPlan;
  muted?: boolean;
}

/** One published track: its transceiver and the relay's id for it. */
export interface Publication {
  trackId: string;
  mid: string;
  kind: TrackKind;
  source: TrackSource;
  sender: RTCRtpSender;
  transceiver: RTCRtpTransceiver;
}

interface Slot {
  transceiver: RTCRtpTransceiver;
  kind: TrackKind;
  /** The simulcast rids of its encodings, comma-separated ("" without simulcast): a slot is reused for the same shape only. */
  shape: string;
  /** Relay track id while published. */
  trackId: string | undefined;
}

export class PublisherTransport {
  readonly pc: RTCPeerConnection;
  readonly #signal: CurrentSignal;
  readonly #slots: Slot[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  readonly #encryption: FrameEncryption | undefined;

  /** `config`: from peerConfiguration() (ice-config.ts); `encryption`: every sender's frames are encrypted. */
  constructor(signal: CurrentSignal, config: RTCConfiguration, onState: (state: RTCPeerConnectionState) => void, encryption?: FrameEncryption) {
    this.#signal = signal;
    this.#encryption = encryption;
    this.pc = new RTCPeerConnection(config);
    this.pc.addEventListener("connectionstatechange", () => onState(this.pc.connectionState));
  }

  /** Publishes tracks in one negotiation; resolves with one publication per spec, in order. */
  publish(specs: PublishSpec[]): Promise<Publication[]> {
    return this.#enqueue(() => this.#publish(specs));
  }

  /** Tells the relay a track is gone and stops sending on its m-line (kept for reuse). */
  unpublish(trackId: string): Promise<void> {
    return this.#enqueue(async () => {
      const slot = this.#slots.find((s) => s.trackId === trackId);
      if (!slot) return;
      try {
        await this.#signal().request({ type: "unpublish", trackId });
      } catch (e) {
        // unknown-track: the relay already forgot it (race with leave); the local state is what matters.
        if (!(e instanceof RelayRequestError && e.error.code === "unknown-track")) throw e;
      }
      slot.trackId = undefined;
      if (this.pc.signalingState !== "closed") await slot.transceiver.sender.replaceTrack(null);
    });
  }

  /** New ICE servers (fresh TURN credentials after a resume). */
  setConfiguration(config: RTCConfiguration): void {
    if (this.pc.signalingState !== "closed") this.pc.setConfiguration(config);
  }

  /**
   * Restarts ICE with fresh credentials, in the negotiation queue: `exchange` sends the offer (none when
   * nothing was ever negotiated: the relay then restarts the subscriber side only) and resolves with
   * the relay's answer.
   */
  restartIce(exchange: (sdp: string | undefined) => Promise<string | undefined>): Promise<void> {
    return this.#enqueue(async () => {
      if (this.pc.remoteDescription === null) {
        await exchange(undefined);
        return;
      }
      const offer = await this.pc.createOffer({ iceRestart: true });
      await this.pc.setLocalDescription(offer);
      let answer: string | undefined;
      try {
        answer = await exchange(this.pc.localDescription?.sdp ?? offer.sdp ?? "");
      } finally {
        if (answer === undefined && this.pc.signalingState === "have-local-offer") await this.pc.setLocalDescription({ type: "rollback" }).catch(() => undefined);
      }
      if (answer !== undefined) await this.pc.setRemoteDescription({ type: "answer", sdp: answer });
    });
  }

  close(): void {
    this.pc.close();
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #publish(specs: PublishSpec[]): Promise<Publication[]> {
    const used: Slot[] = [];
    for (const spec of specs) used.push(await this.#slotFor(spec, used));
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const tracks: PublishedTrack[] = used.map((slot, i) => {
      const spec = specs[i]!;
      const rids = slot.shape ? slot.shape.split(",") : [];
      const sizes = spec.plan?.layerSizes;
      return {
        mid: slot.transceiver.mid ?? "",
        kind: slot.kind,
        source: spec.source,
        layers: rids,
        ...(rids.length > 1 && sizes?.length === rids.length ? { layerSizes: sizes } : {}),
        muted: spec.muted ?? false,
      };
    });
    let answer;
    try {
      answer = await this.#signal().request({ type: "publish-offer", sdp: this.pc.localDescription?.sdp ?? offer.sdp ?? "", tracks });
    } catch (e) {
      if (this.pc.signalingState === "have-local-offer") await this.pc.setLocalDescription({ type: "rollback" }).catch(() => undefined);
      for (const slot of used) await slot.transceiver.sender.replaceTrack(null).catch(() => undefined);
      if (e instanceof RelayRequestError && e.error.code === "forbidden") {
        throw new RoomError("forbidden", `You may not publish here: ${e.error.message}`, e.error.code);
      }
      if (e instanceof RelayRequestError) {
        throw new RoomError("publish-failed", `The relay refused to publish: ${e.error.message}`, e.error.code);
      }
      throw e;
    }
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    return used.map((slot, i) => {
      const mid = tracks[i]!.mid;
      const trackId = answer.tracks.find((t) => t.mid === mid)?.trackId;
      if (trackId === undefined) throw new RoomError("protocol-error", `The relay's publish-answer has no track id for mid ${mid}.`);
      slot.trackId = trackId;
      return { trackId, mid, kind: slot.kind, source: specs[i]!.source, sender: slot.transceiver.sender, transceiver: slot.transceiver };
    });
  }

  /** Reuses an idle transceiver of the same kind (and simulcast shape) or adds a sendonly one. */
  async #slotFor(spec: PublishSpec, taken: Slot[]): Promise<Slot> {
    const kind = spec.track.kind as TrackKind;
    const plan = kind === "video" ? spec.plan : undefined;
    const shape = plan?.rids.join(",") ?? "";
    if (plan?.contentHint !== undefined && "contentHint" in spec.track) spec.track.contentHint = plan.contentHint;
    const idle = this.#slots.find((s) => s.trackId === undefined && s.kind === kind && s.shape === shape && !taken.includes(s));
    if (idle) {
      await idle.transceiver.sender.replaceTrack(spec.track);
      return idle;
    }
    const transceiver = this.pc.addTransceiver(spec.track, {
      direction: "sendonly",
      ...(plan && plan.encodings.length > 0 ? { sendEncodings: plan.encodings.map((e) => ({ ...e })) } : {}),
    });
    // Before the first frame is encoded: none leaves in clear.
    this.#encryption?.protectSender(transceiver.sender, kind);
    if (kind === "video") preferRelayCodecs(transceiver, this.#encryption !== undefined);
    else if (this.#encryption !== undefined) withoutRed(transceiver, "send");
    const slot: Slot = { transceiver, kind, shape, trackId: undefined };
    this.#slots.push(slot);
    return slot;
  }
}

/**
 * The relay forwards VP8 and H264 only: offer VP8 first (every browser has it), then H264 with
 * packetization-mode=1 first (the relay takes the first H264 it sees), and nothing else. Encrypted
 * frames go as VP8 only: an H264 packetizer splits a frame at start codes, which ciphertext does not keep.
 */
function preferRelayCodecs(transceiver: RTCRtpTransceiver, vp8Only: boolean): void {
  const caps = typeof RTCRtpSender.getCapabilities === "function" ? RTCRtpSender.getCapabilities("video") : null;
  if (!caps || typeof transceiver.setCodecPreferences !== "function") return;
  const vp8 = caps.codecs.filter((c) => c.mimeType.toLowerCase() === "video/vp8");
  const h264 = caps.codecs
    .filter((c) => c.mimeType.toLowerCase() === "video/h264")
    .sort((a, b) => Number(!/packetization-mode=1/.test(a.sdpFmtpLine ?? "")) - Number(!/packetization-mode=1/.test(b.sdpFmtpLine ?? "")));
  const preferred = vp8Only ? vp8 : [...vp8, ...h264];
  if (preferred.length === 0) return;
  try {
    transceiver.setCodecPreferences(preferred);
  } catch {
    // Some browsers insist on other entries (rtx); their default order still works with the relay.
  }
}
