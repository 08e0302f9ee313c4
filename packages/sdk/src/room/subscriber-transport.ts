/**
 * The subscriber peer connection: the relay offers, this client answers (docs/protocol.md, 7.3).
 * Offers are answered strictly in arrival order. After each offer the complete mid -> track table is
 * compared with the previous one, so the room learns which remote tracks appeared and which went away;
 * m-lines that keep their track keep their receiver, so their media is never interrupted.
 */
import type { SubscriberOfferMessage, SubscriberTrack, TrackKind } from "@sfu-room/protocol";
import type { CurrentSignal } from "./signal-client.ts";

export interface ReceivedTrack {
  trackId: string;
  participantId: string;
  kind: TrackKind;
  mid: string;
  receiver: RTCRtpReceiver;
  track: MediaStreamTrack;
}

export interface SubscriberCallbacks {
  onAdded(binding: ReceivedTrack): void;
  onRemoved(binding: ReceivedTrack): void;
  onState(state: RTCPeerConnectionState): void;
  onFailure(error: Error): void;
  /** The first offer is applied and not yet answered: the moment to create the negotiated data channels. */
  onFirstRemoteDescription(pc: RTCPeerConnection): void;
  /**
   * Each transceiver an offer lists with its track, at every offer, before the answer (so before its
   * media can arrive): the moment to put a transform on a new receiver, or to set its codecs.
   */
  onReceiverListed?(transceiver: RTCRtpTransceiver, track: SubscriberTrack): void;
}

export class SubscriberTransport {
  #pc: RTCPeerConnection | undefined;
  readonly #signal: CurrentSignal;
  #config: RTCConfiguration;
  readonly #callbacks: SubscriberCallbacks;
  /** By track id. */
  readonly #current = new Map<string, ReceivedTrack>();
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  /** `config`: from peerConfiguration() (ice-config.ts). */
  constructor(signal: CurrentSignal, config: RTCConfiguration, callbacks: SubscriberCallbacks) {
    this.#signal = signal;
    this.#config = config;
    this.#callbacks = callbacks;
  }

  get pc(): RTCPeerConnection | undefined {
    return this.#pc;
  }

  /** What the latest answered offer carries for a track. */
  received(trackId: string): ReceivedTrack | undefined {
    return this.#current.get(trackId);
  }

  /** Queues the answer to a relay offer. */
  handleOffer(offer: SubscriberOfferMessage): void {
    this.#queue = this.#queue
      .then(() => this.#answer(offer))
      .catch((e: unknown) => {
        if (!this.#closed) this.#callbacks.onFailure(e instanceof Error ? e : new Error(String(e)));
      });
  }

  /** New ICE servers (fresh TURN credentials after a resume). */
  setConfiguration(config: RTCConfiguration): void {
    this.#config = config;
    if (this.#pc && this.#pc.signalingState !== "closed") this.#pc.setConfiguration(config);
  }

  close(): void {
    this.#closed = true;
    this.#pc?.close();
    this.#current.clear();
  }

  #ensurePc(): RTCPeerConnection {
    if (this.#pc) return this.#pc;
    const pc = new RTCPeerConnection(this.#config);
    pc.addEventListener("connectionstatechange", () => this.#callbacks.onState(pc.connectionState));
    this.#pc = pc;
    return pc;
  }

  async #answer(offer: SubscriberOfferMessage): Promise<void> {
    if (this.#closed) return;
    const first = this.#pc === undefined;
    const pc = this.#ensurePc();
    await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    if (first) this.#callbacks.onFirstRemoteDescription(pc);
    const byMid = new Map(pc.getTransceivers().map((t) => [t.mid, t] as const));
    for (const entry of offer.tracks) {
      const transceiver = byMid.get(entry.mid);
      if (transceiver && transceiver.currentDirection !== "stopped") this.#callbacks.onReceiverListed?.(transceiver, entry);
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (this.#closed) return;
    this.#signal().sendAnswer({ offerId: offer.offerId, sdp: pc.localDescription?.sdp ?? answer.sdp ?? "" });

    const next = new Map<string, ReceivedTrack>();
    for (const entry of offer.tracks) {
      const transceiver = byMid.get(entry.mid);
      if (!transceiver || transceiver.currentDirection === "stopped") continue;
      const previous = this.#current.get(entry.trackId);
      if (previous && previous.mid === entry.mid && previous.receiver === transceiver.receiver) {
        next.set(entry.trackId, previous);
        continue;
      }
      next.set(entry.trackId, { ...entry, receiver: transceiver.receiver, track: transceiver.receiver.track });
    }
    const removed = [...this.#current.values()].filter((b) => next.get(b.trackId) !== b);
    const added = [...next.values()].filter((b) => this.#current.get(b.trackId) !== b);
    this.#current.clear();
    for (const [id, binding] of next) this.#current.set(id, binding);
    for (const binding of removed) this.#callbacks.onRemoved(binding);
    for (const binding of added) this.#callbacks.onAdded(binding);
  }
}
