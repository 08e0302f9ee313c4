/**
 * One pipe into this node's room from another node (rooms spanning nodes, docs/scale.md): this node's
 * receiving end of the tracks of that node's own participants. It is a client of that node's room, in
 * the room's protocol: it joins there as a pipe (hidden; it is offered the tracks of that node's own
 * participants, never those it mirrors from elsewhere, so nothing loops), answers that node's subscriber
 * offers with a werift connection of its own, and mirrors what it hears into this node's core (the
 * shell's MirrorSink): each of that node's participants becomes a mirror here, each of their tracks a
 * mirrored publication, each packet an `rtp` input. Back upstream it says what this node's subscribers
 * need: the layer (`upstream-layer`, as subscription settings) and keyframes (as `request-keyframe`).
 *
 * The signaling goes through the cluster (cluster/cluster-node.ts, a session on that node over Redis);
 * the media straight between the nodes' UDP addresses. One pipe per room and other node, one connection.
 */
import type { Logger } from "pino";
import { RTCPeerConnection, type RTCRtpTransceiver, type RtpPacket } from "werift";
import { type ClientMessage, type ClientMessageInput, DATA_CHANNELS, type ParticipantInfo, type ServerMessage, type SubscriberTrack, type TrackInfo } from "@sfu-room/protocol";
import type { MirroredTrack } from "../core/index.ts";
import { audioLevelId, readAudioLevelByte } from "../rtc/audio-level.ts";
import { startRestartedIce } from "../rtc/ice-restart.ts";
import { pipePeerConfig, type RtcNetworkOptions } from "../rtc/media-config.ts";
import { RED_MIME, withRedPassedWhole } from "../rtc/red-forwarding.ts";

/** The cluster's side of a pipe: the session on the other node that it speaks through. */
export interface PipeChannel {
  /** A message to the other node's room, as this pipe's session there; resolves once handled there. */
  send(message: ClientMessage): Promise<void>;
  /** This end is done: the session there closes (the pipe participant leaves that room). */
  close(): void;
}

/** What the cluster tells a pipe: what the other node's SFU said to its session, and its end. */
export interface PipeEnd {
  receive(message: ServerMessage): void;
  /** The session there is over (that node stopped, died, or ended it): the mirrors leave. */
  ended(reason: string): void;
  /** This node no longer needs the pipe (nobody of this node is left in the room, or it stops). */
  close(): void;
}

/** The shell's inputs for mirrors (sfu-shell.ts): what a pipe feeds this node's core. */
export interface MirrorSink {
  join(origin: string, room: string, participant: ParticipantInfo, pipe: PipeFromNode): void;
  publish(participantId: string, tracks: MirroredTrack[]): void;
  update(participantId: string, name: string, metadata: string | undefined): void;
  mute(participantId: string, trackId: string, muted: boolean): void;
  unpublish(participantId: string, trackId: string): void;
  leave(participantId: string): void;
  rtp(participantId: string, trackId: string, packet: RtpPacket, codec: string, audioLevel: number): void;
  /** A data frame the other node relayed (stamped with its sender, one of this pipe's mirrors). */
  data(pipe: PipeFromNode, reliable: boolean, frame: Buffer): void;
}

export interface PipeOptions {
  room: string;
  /** The node whose participants this pipe carries. */
  origin: string;
  /** The name the pipe joins under there (this node's id: in that node's logs). */
  name: string;
  channel: PipeChannel;
  sink: MirrorSink;
  net: RtcNetworkOptions;
  log: Logger;
  /** It is over, however it ended (its owner forgets it). */
  onClosed?: () => void;
}

/**
 * A pipe whose join is not answered this long is given up (its session there lost, say): it closes,
 * and the cluster opens another (ms).
 */
export const PIPE_JOIN_TIMEOUT_MS = 15_000;

/** A mirrored track as this end knows it: whose, and how many layers it has at its origin. */
interface MirroredHere {
  participantId: string;
  layerCount: number;
}

export class PipeFromNode implements PipeEnd {
  readonly #o: PipeOptions;
  readonly #log: Logger;
  /** The other node's participants mirrored here, with their tracks. */
  readonly #mirrors = new Map<string, Set<string>>();
  readonly #tracks = new Map<string, MirroredHere>();
  /** What each m-line of the last subscriber offer carries. */
  #midTracks = new Map<string, SubscriberTrack>();
  #pc: RTCPeerConnection | undefined;
  /** Messages go out one after another, as a client's over its WebSocket. */
  #sending: Promise<void> = Promise.resolve();
  #answering: Promise<void> = Promise.resolve();
  #requests = 0;
  #closed = false;
  #joinId = "";
  /** Subscriber offers answered: what an m-line negotiated is read again after each. */
  #answers = 0;
  #joinTimer: NodeJS.Timeout | undefined;

  constructor(options: PipeOptions) {
    this.#o = options;
    this.#log = options.log.child({ room: options.room, pipeFrom: options.origin });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Joins the other node's room as its pipe. */
  start(): void {
    this.#joinId = this.#requestId();
    this.#send({ type: "join", id: this.#joinId, room: this.#o.room, name: this.#o.name, autoSubscribe: true });
    this.#joinTimer = setTimeout(() => this.#fail("the other node did not answer the pipe's join"), PIPE_JOIN_TIMEOUT_MS);
  }

  /** It cannot go on (its join refused or unanswered, its connection failed): closed, for the cluster to open another. */
  #fail(reason: string): void {
    if (this.#closed) return;
    this.#log.warn({ reason }, "pipe from another node failed; it is opened again");
    this.close();
  }

  receive(message: ServerMessage): void {
    if (this.#closed) return;
    switch (message.type) {
      case "joined":
        clearTimeout(this.#joinTimer);
        for (const p of message.participants) this.#mirror(p);
        this.#log.info({ participants: message.participants.length }, "pipe from another node joined its room");
        return;
      case "participant-joined":
        return this.#mirror(message.participant);
      case "participant-left":
        return this.#unmirror(message.participantId);
      case "participant-updated":
        if (this.#mirrors.has(message.participant.id)) this.#o.sink.update(message.participant.id, message.participant.name, message.participant.metadata);
        return;
      case "track-published":
        return this.#mirrorTracks(message.track.participantId, [message.track]);
      case "track-unpublished":
        if (this.#mirrors.get(message.participantId)?.delete(message.trackId)) {
          this.#tracks.delete(message.trackId);
          this.#o.sink.unpublish(message.participantId, message.trackId);
        }
        return;
      case "track-muted":
        if (this.#mirrors.get(message.participantId)?.has(message.trackId)) this.#o.sink.mute(message.participantId, message.trackId, message.muted);
        return;
      case "subscriber-offer": {
        const { offerId, sdp, tracks } = message;
        this.#answering = this.#answering.then(() => this.#answer(offerId, sdp, tracks)).catch((e: Error) => {
          if (!this.#closed) this.#log.warn({ err: e }, "the pipe could not answer the other node's offer");
        });
        return;
      }
      case "error":
        if (message.id === this.#joinId) return this.#fail(`the other node refused the pipe's join: ${message.code}: ${message.message}`);
        this.#log.warn({ code: message.code, message: message.message }, "the other node refused a request of the pipe");
        return;
      default:
        return; // speakers, quality, limits, ...: about that node's own subscribers' view, not this node's
    }
  }

  /** This node's subscribers need `layer` of the track's layers at its origin (-1: nothing). */
  upstreamLayer(trackId: string, layer: number): void {
    const track = this.#tracks.get(trackId);
    if (track === undefined) return;
    if (layer < 0) return this.#send({ type: "subscription-settings", id: this.#requestId(), trackId, visible: false });
    this.#send({ type: "subscription-settings", id: this.#requestId(), trackId, visible: true, ...(track.layerCount > 1 ? { quality: qualityOf(layer, track.layerCount) } : {}) });
  }

  /** This node's subscribers need a keyframe of the track (already throttled here; the origin throttles too). */
  requestKeyframe(trackId: string): void {
    if (this.#tracks.has(trackId)) this.#send({ type: "request-keyframe", id: this.#requestId(), trackId });
  }

  ended(reason: string): void {
    if (this.#closed) return;
    this.#log.info({ reason }, "pipe from another node ended");
    this.#teardown();
  }

  /** Leaves the other node's room (its pipe participant goes at once), then closes the session there. */
  close(): void {
    if (this.#closed) return;
    const { channel } = this.#o;
    this.#send({ type: "leave", id: this.#requestId() });
    void this.#sending.finally(() => channel.close());
    this.#teardown();
  }

  #teardown(): void {
    this.#closed = true;
    clearTimeout(this.#joinTimer);
    this.#o.onClosed?.();
    for (const participantId of [...this.#mirrors.keys()]) this.#unmirror(participantId);
    void this.#pc?.close();
    this.#pc = undefined;
  }

  #mirror(p: ParticipantInfo): void {
    if (this.#mirrors.has(p.id)) return;
    this.#mirrors.set(p.id, new Set());
    this.#o.sink.join(this.#o.origin, this.#o.room, p, this);
    this.#mirrorTracks(p.id, p.tracks);
  }

  #mirrorTracks(participantId: string, tracks: readonly TrackInfo[]): void {
    const mine = this.#mirrors.get(participantId);
    if (mine === undefined) return;
    const fresh = tracks.filter((t) => !mine.has(t.id));
    if (fresh.length === 0) return;
    for (const t of fresh) {
      mine.add(t.id);
      this.#tracks.set(t.id, { participantId, layerCount: Math.max(1, t.layers.length) });
    }
    this.#o.sink.publish(participantId, fresh.map(mirroredTrack));
  }

  #unmirror(participantId: string): void {
    const tracks = this.#mirrors.get(participantId);
    if (tracks === undefined) return;
    this.#mirrors.delete(participantId);
    for (const trackId of tracks) this.#tracks.delete(trackId);
    this.#o.sink.leave(participantId);
  }

  async #answer(offerId: number, sdp: string, tracks: SubscriberTrack[]): Promise<void> {
    if (this.#closed) return;
    const pc = (this.#pc ??= this.#connection());
    this.#midTracks = new Map(tracks.map((t) => [t.mid, t]));
    await pc.setRemoteDescription({ type: "offer", sdp });
    this.#openDataChannels(pc);
    await pc.setLocalDescription(await pc.createAnswer());
    this.#answers++;
    startRestartedIce(pc); // the offer restarted ICE (the other node's `restart-ice`)
    if (this.#closed) return;
    this.#send({ type: "subscriber-answer", offerId, sdp: pc.localDescription!.sdp });
  }

  #channelsOpen = false;

  /** The two negotiated data channels (as every client's): the other node's participants' frames arrive on them. */
  #openDataChannels(pc: RTCPeerConnection): void {
    if (this.#channelsOpen) return;
    this.#channelsOpen = true;
    const { reliable, lossy } = DATA_CHANNELS;
    const channels = [
      [pc.createDataChannel(reliable.label, { negotiated: true, id: reliable.id, ordered: true }), true],
      [pc.createDataChannel(lossy.label, { negotiated: true, id: lossy.id, ordered: false, maxRetransmits: lossy.maxRetransmits }), false],
    ] as const;
    for (const [channel, isReliable] of channels) {
      channel.onMessage.subscribe((data) => {
        if (!this.#closed) this.#o.sink.data(this, isReliable, typeof data === "string" ? Buffer.from(data) : Buffer.from(data));
      });
    }
  }

  #connection(): RTCPeerConnection {
    const pc = new RTCPeerConnection(pipePeerConfig(this.#o.net));
    pc.onRemoteTransceiverAdded.subscribe((transceiver) => this.#watch(transceiver));
    pc.connectionStateChange.subscribe((state) => {
      this.#log.debug({ state }, "pipe connection state");
      // The other node removed the pipe's participant (or its media was lost): this one is over.
      if (state === "failed" || state === "closed") this.#fail(`its connection ${state}`);
    });
    return pc;
  }

  #watch(transceiver: RTCRtpTransceiver): void {
    withRedPassedWhole(transceiver.receiver);
    // What the m-line negotiated (MIME type by payload type, the audio level id), read again after each answer.
    let readAt = -1;
    let mimes = new Map<number, string>();
    let levelId: number | undefined;
    transceiver.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((packet: RtpPacket) => {
        const carried = transceiver.mid === null ? undefined : this.#midTracks.get(transceiver.mid);
        if (carried === undefined || this.#tracks.get(carried.trackId)?.participantId !== carried.participantId) return;
        if (readAt !== this.#answers) {
          readAt = this.#answers;
          mimes = new Map(transceiver.codecs.map((c) => [c.payloadType, c.mimeType.toLowerCase() === RED_MIME ? RED_MIME : c.mimeType]));
          levelId = audioLevelId(transceiver);
        }
        const mime = mimes.get(packet.header.payloadType);
        if (mime !== undefined) this.#o.sink.rtp(carried.participantId, carried.trackId, packet, mime, readAudioLevelByte(packet.header, levelId));
      });
    });
  }

  #send(message: ClientMessageInput): void {
    if (this.#closed) return;
    const m = message as ClientMessage;
    this.#sending = this.#sending.then(
      () => (this.#closed && m.type !== "leave" ? undefined : this.#o.channel.send(m)),
    ).catch((e: Error) => {
      // A pipe being closed may find its session there gone already (that node stopping too): nothing lost.
      if (this.#closed) this.#log.debug({ err: e, type: m.type }, "a closing pipe's message did not reach the other node");
      else this.#log.warn({ err: e, type: m.type }, "a message of the pipe could not be handled by the other node");
    });
  }

  #requestId(): string {
    return `pipe-${++this.#requests}`;
  }
}

/** A track as its origin announced it, as this node's core mirrors it. */
function mirroredTrack(t: TrackInfo): MirroredTrack {
  return { trackId: t.id, kind: t.kind, source: t.source, codec: t.codec, clockRate: t.kind === "audio" ? 48000 : 90000, muted: t.muted, layers: [...t.layers] };
}

/** The quality that pins `layer` of `layerCount` simulcast layers (layer-selector.ts: low 0, medium 1, high the top). */
function qualityOf(layer: number, layerCount: number): "low" | "medium" | "high" {
  if (layer <= 0) return "low";
  return layer >= layerCount - 1 ? "high" : "medium";
}
