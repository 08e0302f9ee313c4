/**
 * A real WebRTC participant for tests and benchmarks: werift peer connections speaking the sfu-room
 * protocol over a real WebSocket. It publishes synthetic RTP (Opus-sized audio, VP8 video with real key
 * frame headers, answering PLIs with a key frame) and records every packet it receives per remote track.
 *
 * Everything binds and announces 127.0.0.1 only (network rule: tests stay on loopback).
 */
import WebSocket from "ws";
import {
  MediaStreamTrack,
  type RTCDataChannel,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCRtpTransceiver,
  GenericNack,
  RtcpPayloadSpecificFeedback,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  serializeSdesMid,
  serializeSdesRTPStreamID,
  useAbsSendTime,
  useAudioLevelIndication,
  useSdesMid,
  useSdesRTPStreamId,
  useTransportWideCC,
} from "werift";
import {
  DATA_CHANNELS,
  type DataFrame,
  type DataHeader,
  decodeDataFrame,
  encodeDataFrame,
  parseServerMessage,
  type ClientMessageInput,
  type JoinedMessage,
  type PublishAnswerMessage,
  type ResumeGrant,
  type ServerMessage,
  type SubscriberTrack,
} from "@sfu-room/protocol";
import { startRestartedIce } from "@sfu-room/relay/ice-restart";

/** ICE on one local address: loopback unless a test runs in a network namespace of its own. */
export const LOOPBACK = (address = "127.0.0.1") => ({
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: [address],
  iceInterfaceAddresses: { udp4: address },
  // werift queries a public STUN server when none is configured: point it at a dead loopback port.
  iceServers: [{ urls: "stun:127.0.0.1:9" }],
  iceStunGatherTimeout: 0,
  iceUseTcp: false,
  iceTcpPassive: false,
  bundlePolicy: "max-bundle" as const,
});

export const OPUS = () => new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2, payloadType: 111 });
export const VP8 = () =>
  new RTCRtpCodecParameters({
    mimeType: "video/VP8", clockRate: 90000, payloadType: 96,
    rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
  });
const H264 = () =>
  new RTCRtpCodecParameters({
    mimeType: "video/H264", clockRate: 90000, payloadType: 102,
    rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
    parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  });

/** RTX (RFC 4588) for a video payload type, as a subscriber that accepts resends on their own SSRC lists it. */
/** RED (RFC 2198) of Opus, as Chromium offers it; werift's sender builds it (one redundant frame) and its receiver splits it. */
const RED = () => new RTCRtpCodecParameters({ mimeType: "audio/red", clockRate: 48000, channels: 2, payloadType: 63, parameters: "111/111" });
const RTX = (payloadType: number, apt: number) => new RTCRtpCodecParameters({ mimeType: "video/rtx", clockRate: 90000, payloadType, parameters: `apt=${apt}` });

/** Every payload a publisher sent, by track tag, so receivers can compare byte for byte. */
export type SentLog = Map<number, Buffer[]>;

export type VideoCodec = "VP8" | "H264";

/** One outgoing synthetic track. */
export class SyntheticTrack {
  readonly track: MediaStreamTrack;
  /** Relay track id, known after publish-answer. */
  trackId = "";
  mid = "";
  sent = 0;
  keyframesSent = 0;
  private seq = Math.floor(Math.random() * 65536);
  private timestamp = Math.floor(Math.random() * 2 ** 32);
  private keyframeWanted = true;
  readonly tag: number;
  /**
   * Audio: the level (-dBov, 0 loudest, 127 silence) each packet carries in the ssrc-audio-level header
   * extension, as a browser's microphone would; undefined sends no extension.
   */
  audioLevel: number | undefined;
  /** The extension id the publisher connection negotiated for it (set at publish). */
  audioLevelId: number | undefined;

  constructor(
    readonly kind: "audio" | "video",
    readonly codec: "opus" | VideoCodec,
    private readonly log: SentLog,
    /** Size of the payload filler in bytes. */
    private readonly payloadBytes: number,
  ) {
    this.track = new MediaStreamTrack({ kind });
    this.tag = Math.floor(Math.random() * 2 ** 31);
    log.set(this.tag, []);
  }

  requestKeyframe(): void {
    this.keyframeWanted = true;
  }

  /** Sends an arbitrary payload (for bad-input tests); it is not logged. */
  sendGarbage(payload: Buffer): void {
    const header = new RtpHeader({ sequenceNumber: this.seq, timestamp: this.timestamp >>> 0, marker: payload.length % 2 === 0, payloadType: 96, ssrc: 1 });
    this.track.writeRtp(new RtpPacket(header, payload));
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + 3000) >>> 0;
  }

  /** The sequence number of the next packet. */
  get nextSeq(): number {
    return this.seq;
  }

  /** The next `n` packets are lost on the way: their sequence numbers are skipped (the receiver sees a gap). */
  losePackets(n: number): void {
    this.seq = (this.seq + n) & 0xffff;
  }

  /** Sends one packet (one frame per packet: marker set). */
  sendPacket(): void {
    const key = this.kind === "video" && this.keyframeWanted;
    if (key) {
      this.keyframeWanted = false;
      this.keyframesSent++;
    }
    const payload = makePayload(this.codec, key, this.tag, this.sent, this.payloadBytes);
    this.log.get(this.tag)!.push(payload);
    const level = this.audioLevel !== undefined && this.audioLevelId !== undefined ? [{ id: this.audioLevelId, payload: Buffer.from([this.audioLevel]) }] : [];
    const header = new RtpHeader({
      sequenceNumber: this.seq,
      timestamp: this.timestamp >>> 0,
      marker: true,
      payloadType: this.kind === "audio" ? 111 : this.codec === "H264" ? 102 : 96,
      ssrc: 1,
      extension: level.length > 0,
      extensions: level,
    });
    this.track.writeRtp(new RtpPacket(header, payload));
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + (this.kind === "audio" ? 960 : 3000)) >>> 0;
    this.sent++;
  }
}

/**
 * Payload layout: codec header (VP8 descriptor + frame tag, or an H264 NAL header), then a 4-byte track
 * tag, a 4-byte packet index and a filler derived from both.
 */
export function makePayload(codec: "opus" | VideoCodec, key: boolean, tag: number, index: number, fillerBytes: number): Buffer {
  let head: number[];
  if (codec === "VP8") {
    // Descriptor: S=1, partition 0. Frame tag: P=0 (key) / 1, show_frame=1; key frames carry the start code and 320x180.
    head = key ? [0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00] : [0x10, 0x11, 0x02, 0x00];
  } else if (codec === "H264") {
    head = key ? [0x65, 0x88, 0x84] : [0x41, 0x9a, 0x02]; // IDR slice / non-IDR slice
  } else {
    head = [0xfc]; // an Opus TOC byte
  }
  const buf = Buffer.alloc(head.length + 8 + fillerBytes);
  buf.set(head, 0);
  buf.writeUInt32BE(tag >>> 0, head.length);
  buf.writeUInt32BE(index >>> 0, head.length + 4);
  for (let i = 0; i < fillerBytes; i++) buf[head.length + 8 + i] = (index * 31 + i * 7 + tag) & 0xff;
  return buf;
}

/**
 * What makePayload wrote into a payload: whether it starts a key frame, its track tag and packet index;
 * undefined when it is too short to be one (a browser's).
 */
export function readPayload(payload: Buffer): { key: boolean; tag: number; index: number } | undefined {
  const headLen = payload[0] === 0x10 ? (payload[1] === 0x10 ? 11 : 4) : payload[0] === 0xfc ? 1 : 3;
  if (payload.length < headLen + 8) return undefined;
  return { key: headLen === 11 || payload[0] === 0x65, tag: payload.readUInt32BE(headLen), index: payload.readUInt32BE(headLen + 4) };
}

/**
 * A simulcast video track: one m-line, several rid layers, each with its own SSRC, sequence and
 * timestamp space (as browsers send them). werift cannot send simulcast itself, so the packets go
 * straight to the DTLS transport with the mid and rid header extensions the offer negotiated.
 */
export class SimulcastTrack {
  trackId = "";
  mid = "";
  readonly layers: Array<{ rid: string; ssrc: number; seq: number; timestamp: number; sent: number; tag: number; keyWanted: boolean }>;
  private transceiver: RTCRtpTransceiver | undefined;
  private extIds: { mid: number; rid: number } | undefined;
  /** Layers the relay said it wants (dynacast); all at first. Unwanted layers are not sent. */
  wanted: Set<string>;
  /** Every generic NACK the relay sent, in order: the SSRC it named and its sequence numbers. */
  readonly nacks: Array<{ ssrc: number; seqs: number[] }> = [];
  /** Packets built but not sent (lost on the way), by SSRC and seq: sent when the relay NACKs them. */
  private readonly withheld = new Map<number, Map<number, { header: RtpHeader; payload: Buffer }>>();
  /** The next packets withheld, per layer index. */
  private readonly toWithhold = new Map<number, number>();

  constructor(readonly rids: string[], private readonly log: SentLog, private readonly payloadBytes = 600) {
    this.layers = rids.map((rid, i) => ({
      rid, ssrc: 0x1000 + i + Math.floor(Math.random() * 1e6) * 4, seq: Math.floor(Math.random() * 65536),
      timestamp: Math.floor(Math.random() * 2 ** 32), sent: 0, tag: Math.floor(Math.random() * 2 ** 31), keyWanted: true,
    }));
    for (const l of this.layers) log.set(l.tag, []);
    this.wanted = new Set(rids);
  }

  /** Which layer a payload tag belongs to, or -1. */
  layerOfTag(tag: number): number {
    return this.layers.findIndex((l) => l.tag === tag);
  }

  attach(pc: RTCPeerConnection, transceiver: RTCRtpTransceiver): void {
    this.transceiver = transceiver;
    this.mid = transceiver.mid!;
    // The negotiated extension ids, from the SDP (werift's extIdUriMap is empty on a sending peer).
    const sdp = pc.localDescription!.sdp;
    const find = (uri: string) => {
      const m = new RegExp(`^a=extmap:(\\d+) ${uri.replace(/[.:]/g, "\\$&")}`, "m").exec(sdp);
      if (!m) throw new Error(`the offer negotiates no ${uri}`);
      return Number(m[1]);
    };
    this.extIds = { mid: find(useSdesMid().uri), rid: find(useSdesRTPStreamId().uri) };
    transceiver.sender.dtlsTransport.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpTransportLayerFeedback && packet.feedback instanceof GenericNack) {
        this.resend(packet.feedback.mediaSourceSsrc, packet.feedback.lost);
        return;
      }
      if (!(packet instanceof RtcpPayloadSpecificFeedback)) return;
      const media = (packet.feedback as { mediaSsrc?: number }).mediaSsrc;
      for (const l of this.layers) if (l.ssrc === media) l.keyWanted = true;
    });
  }

  /**
   * The next `n` packets of layer `layer` are lost on the way to the relay: built and logged as usual,
   * but sent only when the relay NACKs them (as a publisher answers NACKs from its send history).
   */
  withhold(layer: number, n: number): void {
    this.toWithhold.set(layer, (this.toWithhold.get(layer) ?? 0) + n);
  }

  private resend(ssrc: number, seqs: readonly number[]): void {
    this.nacks.push({ ssrc, seqs: [...seqs] });
    const held = this.withheld.get(ssrc);
    for (const seq of seqs) {
      const packet = held?.get(seq);
      if (!packet) continue;
      held!.delete(seq);
      this.transceiver?.sender.dtlsTransport.sendRtp(packet.payload, packet.header).catch(() => undefined);
    }
  }

  /** One frame (one packet) on every wanted layer; a key frame where one was asked for or every `keyEvery`. */
  sendFrame(keyEvery = 0): void {
    const t = this.transceiver;
    const ext = this.extIds;
    if (!t || !ext || t.sender.dtlsTransport.state !== "connected") return;
    for (const l of this.layers) {
      if (!this.wanted.has(l.rid)) continue;
      const key = l.keyWanted || (keyEvery > 0 && l.sent % keyEvery === 0);
      l.keyWanted = false;
      const payload = makePayload("VP8", key, l.tag, l.sent, this.payloadBytes);
      this.log.get(l.tag)!.push(payload);
      const header = new RtpHeader({
        sequenceNumber: l.seq, timestamp: l.timestamp >>> 0, marker: true, payloadType: 96, ssrc: l.ssrc,
        extension: true,
        extensions: [{ id: ext.mid, payload: serializeSdesMid(this.mid) }, { id: ext.rid, payload: serializeSdesRTPStreamID(l.rid) }],
      });
      const layer = this.layers.indexOf(l);
      const withhold = this.toWithhold.get(layer) ?? 0;
      if (withhold > 0) {
        this.toWithhold.set(layer, withhold - 1);
        if (!this.withheld.has(l.ssrc)) this.withheld.set(l.ssrc, new Map());
        this.withheld.get(l.ssrc)!.set(l.seq, { header, payload });
      } else {
        t.sender.dtlsTransport.sendRtp(payload, header).catch(() => undefined);
      }
      l.seq = (l.seq + 1) & 0xffff;
      l.timestamp = (l.timestamp + 3000) >>> 0;
      l.sent++;
    }
  }
}

/** What a subscriber received on one remote track. */
export class ReceivedTrack {
  packets = 0;
  bytes = 0;
  ssrcs = new Set<number>();
  lastSeq: number | undefined;
  /** Packets whose sequence number was not last + 1. */
  seqGaps = 0;
  /** Packets whose payload differs from what the publisher sent at that index. */
  mismatches = 0;
  firstPacketAt: number | undefined;
  keyframes = 0;
  /** Payload tags in arrival order, collapsed: one entry per run of packets from the same source. */
  readonly tagRuns: Array<{ tag: number; packets: number; firstKey: boolean }> = [];
  /** Whether the first packet received was the start of a key frame (video). */
  firstWasKeyframe: boolean | undefined;
  /** Audio: the level (-dBov) of the last packet that carried the ssrc-audio-level extension, and how many did. */
  lastAudioLevel: number | undefined;
  packetsWithAudioLevel = 0;
  /** The packet indices received, by payload tag (duplicates, e.g. resends, counted once). */
  readonly indices = new Map<number, Set<number>>();
  /** The RTCP sender reports of this track's sender, with what had been received when each arrived. */
  readonly senderReports: Array<{ packetCount: number; octetCount: number; rtpTimestamp: number; ntpSeconds: number; packetsReceived: number; bytesReceived: number }> = [];
  /** With `keepPackets`: every packet as it arrived (media from browsers, not this client's synthetic tracks). */
  readonly keptPackets: KeptPacket[] = [];

  constructor(readonly trackId: string, readonly participantId: string, readonly kind: "audio" | "video") {}
}

/** One received RTP packet, copied. */
export interface KeptPacket {
  seq: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
}

export interface ClientOptions {
  name?: string;
  log: SentLog;
  /** Reply to the relay's PLIs with key frames (default true). */
  answerPli?: boolean;
  /**
   * Drop this share (0..1) of the datagrams the relay sends this client's subscriber connection after
   * DTLS is up (SCTP data and RTP): loss on the relay -> client path, for lossy-channel tests.
   */
  inboundLoss?: number;
  /** Accept RTX on the subscriber connection (werift then unwraps resends before they are recorded). */
  rtx?: boolean;
  /** Offer transport-wide sequence numbers and transport-cc feedback on both connections, as browsers do. */
  transportCc?: boolean;
  /**
   * Publish as a client that does only REMB (aiortc, some Firefox set-ups): abs-send-time and goog-remb
   * on the video m-line, no transport-wide sequence numbers.
   */
  rembOnly?: boolean;
  /**
   * Keep every received packet (`ReceivedTrack.keptPackets`) instead of checking it against this client's
   * synthetic payloads: for media that browsers publish.
   */
  keepPackets?: boolean;
  /** The address its connections use (default 127.0.0.1): a network namespace's, for tests run in one. */
  address?: string;
  /** Offer RED (audio/red, payload type 63) before Opus on both connections, as Chromium does. */
  red?: boolean;
}

/** A data frame this client received, with the channel it came on. */
export interface ReceivedData {
  reliable: boolean;
  frame: DataFrame;
  at: number;
}

export class WeriftClient {
  ws!: WebSocket;
  participantId = "";
  joined: JoinedMessage | undefined;
  /** The room joined, and the latest resume grant (from `joined`, then from each `resumed`). */
  room = "";
  grant: ResumeGrant | undefined;
  readonly events: ServerMessage[] = [];
  readonly errors: ServerMessage[] = [];
  publisher: RTCPeerConnection | undefined;
  subscriber: RTCPeerConnection | undefined;
  readonly outgoing: SyntheticTrack[] = [];
  readonly simulcast: SimulcastTrack[] = [];
  /** The last layers-wanted per track id (it can arrive before publish-answer is processed). */
  private readonly layersWanted = new Map<string, string[]>();
  /** RTX packets (payload type 97 or 103) that arrived on the subscriber connection. */
  rtxPacketsReceived = 0;
  /** RED packets (payload type 63) that arrived on the subscriber connection, before werift split them. */
  redPacketsReceived = 0;
  /** Of those, the ones carrying a redundant block (an older frame) before their own. */
  redundantRedPacketsReceived = 0;
  private rtxWatched = false;
  /** Data frames received on the subscriber connection's channels, in arrival order. */
  readonly data: ReceivedData[] = [];
  reliableChannel: RTCDataChannel | undefined;
  lossyChannel: RTCDataChannel | undefined;
  /** Received media by relay track id. */
  readonly received = new Map<string, ReceivedTrack>();
  /** mid of the subscriber connection -> remote track it currently carries. */
  private readonly midTracks = new Map<string, SubscriberTrack>();
  private readonly waiters = new Set<{ test: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }>();
  private nextId = 1;
  private answering: Promise<void> = Promise.resolve();
  connectStartedAt = 0;
  /** Every subscriber offer the relay sent, in order, with the tracks it listed. */
  readonly subscriberOfferLog: Array<{ sdp: string; tracks: SubscriberTrack[] }> = [];
  get subscriberOffers(): number {
    return this.subscriberOfferLog.length;
  }
  get lastSubscriberOffer(): string {
    return this.subscriberOfferLog.at(-1)?.sdp ?? "";
  }
  /** The relay's latest answer on the publisher connection (publish-answer or ice-restarted). */
  lastPublisherAnswer = "";
  /** a=setup values seen: what the relay offered/answered and what this client answered/offered. */
  readonly setupLines: { relayOffer: string[]; relayAnswer: string[]; clientAnswer: string[]; clientOffer: string[] } = {
    relayOffer: [], relayAnswer: [], clientAnswer: [], clientOffer: [],
  };

  constructor(readonly options: ClientOptions) {}

  /** `ws`: client options of the WebSocket, e.g. `{ ca }` to trust a test's self-signed wss:// certificate. */
  async connect(url: string, ws?: WebSocket.ClientOptions): Promise<void> {
    this.connectStartedAt = performance.now();
    this.ws = new WebSocket(url, ws);
    this.ws.on("message", (data) => this.onFrame(data.toString()));
    await new Promise<void>((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
  }

  /** Sends a raw frame (for bad-input tests). */
  sendRaw(frame: string | Buffer): void {
    this.ws.send(frame);
  }

  send(message: ClientMessageInput): void {
    this.ws.send(JSON.stringify(message));
  }

  id(): string {
    return `r${this.nextId++}`;
  }

  /** Sends a request and resolves with the reply carrying its id (success or error). */
  request(message: ClientMessageInput & { id: string }): Promise<ServerMessage> {
    const reply = this.waitFor((m) => "id" in m && m.id === message.id);
    this.send(message);
    return reply;
  }

  waitFor(test: (m: ServerMessage) => boolean, timeoutMs = 20_000): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve: (m: ServerMessage) => { clearTimeout(timer); resolve(m); } };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.options.name ?? "client"}: no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Joins (with `token`: for a relay that has keys, docs/auth.md); throws with the reply when refused. */
  async join(room: string, autoSubscribe = true, token?: string): Promise<JoinedMessage> {
    const reply = await this.request({ type: "join", id: this.id(), room, name: this.options.name ?? "", autoSubscribe, ...(token === undefined ? {} : { token }) });
    if (reply.type !== "joined") throw new Error(`join failed: ${JSON.stringify(reply)}`);
    this.joined = reply;
    this.participantId = reply.participantId;
    this.room = reply.room;
    this.grant = reply.resume;
    return reply;
  }

  /** Leaves politely (`leave`, its `ok`), then closes everything. */
  async leave(): Promise<void> {
    await this.request({ type: "leave", id: this.id() });
    await this.close();
  }

  /**
   * The signaling WebSocket drops without `leave` (as when the network goes): the socket is destroyed,
   * the peer connections stay as they are.
   */
  dropSignaling(): void {
    this.ws.terminate();
  }

  /**
   * Opens a new signaling WebSocket and resumes the session with the latest grant. Resolves with the
   * reply: `resumed` (then this client is the same participant again) or the error.
   */
  async resume(url: string, grant = this.grant): Promise<ServerMessage> {
    await this.connect(url);
    const reply = await this.request({ type: "resume", id: this.id(), room: this.room, participantId: this.participantId, secret: grant?.secret ?? "none" });
    if (reply.type === "resumed") this.grant = reply.resume;
    return reply;
  }

  /**
   * Restarts ICE on both connections: the publisher connection (if any) offers with fresh credentials
   * in `restart-ice`, and applies the answer of `ice-restarted`; the relay's new subscriber offer is
   * answered as every subscriber offer is. Resolves with the reply.
   */
  async restartIce(): Promise<ServerMessage> {
    const pc = this.publisher;
    let sdp: string | undefined;
    if (pc) {
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      sdp = pc.localDescription!.sdp;
    }
    const reply = await this.request({ type: "restart-ice", id: this.id(), ...(sdp === undefined ? {} : { sdp }) });
    if (reply.type === "ice-restarted" && pc && reply.sdp !== undefined) {
      this.lastPublisherAnswer = reply.sdp;
      await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      startRestartedIce(pc);
    }
    return reply;
  }

  /**
   * Drops every datagram this client's connections would send or receive after DTLS (media and data),
   * as in a network stall; `false` lets them through again. (werift's debug knob keeps the share
   * `loss/100` of the datagrams: a tiny share is none.)
   */
  stallMedia(stalled: boolean): void {
    for (const pc of [this.publisher, this.subscriber]) {
      if (pc) pc.config.debug = stalled ? { inboundPacketLoss: 1e-9, outboundPacketLoss: 1e-9 } : {};
    }
  }

  /** Adds synthetic tracks to the publisher connection and negotiates them with the relay. */
  async publish(specs: Array<{ kind: "audio" | "video"; codec?: VideoCodec; payloadBytes?: number }>): Promise<SyntheticTrack[]> {
    this.publisher ??= this.createPublisher(specs.find((s) => s.kind === "video")?.codec ?? "VP8");
    const pc = this.publisher;
    const added: Array<{ track: SyntheticTrack; transceiver: RTCRtpTransceiver }> = [];
    for (const spec of specs) {
      const codec = spec.kind === "audio" ? "opus" : (spec.codec ?? "VP8");
      const track = new SyntheticTrack(spec.kind, codec, this.options.log, spec.payloadBytes ?? (spec.kind === "audio" ? 80 : 1000));
      const transceiver = pc.addTransceiver(track.track, { direction: "sendonly" });
      if (this.options.answerPli !== false) transceiver.sender.onPictureLossIndication.subscribe(() => track.requestKeyframe());
      added.push({ track, transceiver });
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const sdp = pc.localDescription!.sdp;
    this.setupLines.clientOffer.push(...setupOf(sdp));
    const tracks = added.map(({ track, transceiver }) => {
      track.mid = transceiver.mid!;
      return { mid: transceiver.mid!, kind: track.kind, source: track.kind === "audio" ? ("microphone" as const) : ("camera" as const) };
    });
    const reply = await this.request({ type: "publish-offer", id: this.id(), sdp, tracks });
    if (reply.type !== "publish-answer") throw new Error(`publish failed: ${JSON.stringify(reply)}`);
    this.setupLines.relayAnswer.push(...setupOf(reply.sdp));
    this.lastPublisherAnswer = reply.sdp;
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    for (const { track, transceiver } of added) {
      track.trackId = (reply as PublishAnswerMessage).tracks.find((t) => t.mid === track.mid)!.trackId;
      track.audioLevelId = audioLevelIdOf(transceiver);
      this.outgoing.push(track);
    }
    return added.map((a) => a.track);
  }

  /** Publishes one simulcast VP8 track (layers lowest first) with the given layer sizes. */
  async publishSimulcast(rids: string[], layerSizes?: Array<{ width: number; height: number }>): Promise<SimulcastTrack> {
    this.publisher ??= this.createPublisher("VP8");
    const pc = this.publisher;
    const track = new SimulcastTrack(rids, this.options.log);
    const transceiver = pc.addTransceiver("video", { direction: "sendonly", simulcast: rids.map((rid) => ({ rid, direction: "send" as const })) });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const sdp = pc.localDescription!.sdp;
    const reply = await this.request({
      type: "publish-offer", id: this.id(), sdp,
      tracks: [{ mid: transceiver.mid!, kind: "video", source: "camera", layers: rids, ...(layerSizes ? { layerSizes } : {}) }],
    });
    if (reply.type !== "publish-answer") throw new Error(`publish failed: ${JSON.stringify(reply)}`);
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    track.trackId = reply.tracks[0]!.trackId;
    const wanted = this.layersWanted.get(track.trackId);
    if (wanted) track.wanted = new Set(wanted);
    track.attach(pc, transceiver);
    this.simulcast.push(track);
    return track;
  }

  /** Resolves when both connections that exist are connected. */
  async connected(timeoutMs = 20_000): Promise<void> {
    const pcs = [this.publisher, this.subscriber].filter((pc): pc is RTCPeerConnection => pc !== undefined);
    await Promise.all(pcs.map((pc) => waitConnected(pc, timeoutMs)));
  }

  async close(): Promise<void> {
    for (const w of this.waiters) w.resolve({ type: "error", code: "internal", message: "client closed" });
    this.waiters.clear();
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.close();
    await Promise.all([this.publisher?.close(), this.subscriber?.close()]);
  }

  private createPublisher(videoCodec: VideoCodec): RTCPeerConnection {
    const { transportCc, rembOnly, red, address } = this.options;
    return publisherPeer(videoCodec, { transportCc, rembOnly, red, address });
  }

  /** Resolves when both data channels are open. */
  async dataReady(timeoutMs = 20_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.reliableChannel?.readyState !== "open" || this.lossyChannel?.readyState !== "open") {
      if (performance.now() > deadline) throw new Error(`${this.options.name}: data channels not open within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends one data frame (header as the protocol defines it: topic, to, id, parts). */
  sendData(payload: Uint8Array | string, header: DataHeader = {}, reliable = true): void {
    const text = typeof payload === "string";
    const bytes = text ? new TextEncoder().encode(payload) : payload;
    this.sendRawData(encodeDataFrame({ header, text, payload: bytes }), reliable);
  }

  sendRawData(bytes: Uint8Array, reliable = true): void {
    const channel = reliable ? this.reliableChannel : this.lossyChannel;
    if (!channel) throw new Error("no data channel yet");
    channel.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  private audioCodecs(): RTCRtpCodecParameters[] {
    return this.options.red ? [RED(), OPUS()] : [OPUS()];
  }

  private createSubscriber(): RTCPeerConnection {
    const loss = this.options.inboundLoss;
    const pc = new RTCPeerConnection({
      ...LOOPBACK(this.options.address),
      // werift keeps a datagram when inboundPacketLoss/100 >= Math.random(): it is the share kept.
      ...(loss ? { debug: { inboundPacketLoss: Math.round((1 - loss) * 100) } } : {}),
      codecs: { audio: this.audioCodecs(), video: [VP8(), H264(), ...(this.options.rtx ? [RTX(97, 96), RTX(103, 102)] : [])] },
      headerExtensions: { audio: [useSdesMid(), useAudioLevelIndication()], video: [useSdesMid()] },
    });
    pc.onRemoteTransceiverAdded.subscribe((transceiver) => {
      // Count RTX packets as they arrive, before werift unwraps them (one transport: BUNDLE).
      if (!this.rtxWatched) {
        this.rtxWatched = true;
        transceiver.receiver.dtlsTransport.onRtp.subscribe((packet) => {
          if (packet.header.payloadType === 97 || packet.header.payloadType === 103) this.rtxPacketsReceived++;
          if (packet.header.payloadType === 63) {
            this.redPacketsReceived++;
            if ((packet.payload[0]! & 0x80) !== 0) this.redundantRedPacketsReceived++;
          }
        });
      }
      transceiver.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe((packet) => this.onMedia(transceiver, packet));
      });
      transceiver.receiver.onRtcp.subscribe((packet) => {
        if (!(packet instanceof RtcpSrPacket)) return;
        const rec = transceiver.mid === null ? undefined : this.received.get(this.midTracks.get(transceiver.mid)?.trackId ?? "");
        const { packetCount, octetCount, rtpTimestamp, ntpTimestamp } = packet.senderInfo;
        rec?.senderReports.push({ packetCount, octetCount, rtpTimestamp, ntpSeconds: Number(ntpTimestamp >> 32n) + Number(ntpTimestamp & 0xffffffffn) / 2 ** 32, packetsReceived: rec.packets, bytesReceived: rec.bytes });
      });
    });
    return pc;
  }

  private onMedia(transceiver: RTCRtpTransceiver, packet: RtpPacket): void {
    const remote = transceiver.mid === null ? undefined : this.midTracks.get(transceiver.mid);
    if (!remote) return;
    let rec = this.received.get(remote.trackId);
    if (!rec) {
      rec = new ReceivedTrack(remote.trackId, remote.participantId, remote.kind);
      this.received.set(remote.trackId, rec);
    }
    const { header, payload } = packet;
    rec.firstPacketAt ??= performance.now();
    if (rec.lastSeq !== undefined && header.sequenceNumber !== ((rec.lastSeq + 1) & 0xffff)) rec.seqGaps++;
    rec.lastSeq = header.sequenceNumber;
    rec.ssrcs.add(header.ssrc);
    rec.packets++;
    rec.bytes += payload.length;
    const level = remote.kind === "audio" ? header.extensions.find((e) => e.id === audioLevelIdOf(transceiver)) : undefined;
    if (level !== undefined) {
      rec.lastAudioLevel = level.payload[0]! & 0x7f;
      rec.packetsWithAudioLevel++;
    }
    if (this.options.keepPackets) {
      rec.keptPackets.push({ seq: header.sequenceNumber, timestamp: header.timestamp, marker: header.marker, payload: Buffer.from(payload) });
      return;
    }
    const read = readPayload(payload);
    if (read === undefined) {
      rec.mismatches++; // not a synthetic payload (a browser's): nothing to compare
      return;
    }
    const { key, tag, index } = read;
    if (key) rec.keyframes++;
    rec.firstWasKeyframe ??= key;
    const run = rec.tagRuns.at(-1);
    if (run?.tag === tag) run.packets++;
    else rec.tagRuns.push({ tag, packets: 1, firstKey: key });
    if (!rec.indices.has(tag)) rec.indices.set(tag, new Set());
    rec.indices.get(tag)!.add(index);
    const sent = this.options.log.get(tag)?.[index];
    if (!sent || !sent.equals(payload)) rec.mismatches++;
  }

  private onFrame(text: string): void {
    const parsed = parseServerMessage(text);
    if (!parsed.ok) throw new Error(`relay sent an invalid frame: ${parsed.error.message}`);
    const message = parsed.message;
    this.events.push(message);
    if (message.type === "error") this.errors.push(message);
    if (message.type === "layers-wanted") {
      this.layersWanted.set(message.trackId, message.rids);
      const track = this.simulcast.find((t) => t.trackId === message.trackId);
      if (track) track.wanted = new Set(message.rids);
    }
    if (message.type === "subscriber-offer") {
      this.answering = this.answering
        .then(() => this.answerSubscriberOffer(message.offerId, message.sdp, message.tracks))
        .catch((e: unknown) => {
          // An offer still being answered when the test closes the client: not a failure of anything.
          // (signalingState is "closed" at once; connectionState only after werift has closed SCTP.)
          if (this.subscriber?.signalingState !== "closed") throw e;
        });
    }
    for (const w of [...this.waiters]) {
      if (w.test(message)) {
        this.waiters.delete(w);
        w.resolve(message);
      }
    }
  }

  private async answerSubscriberOffer(offerId: number, sdp: string, tracks: SubscriberTrack[]): Promise<void> {
    this.subscriberOfferLog.push({ sdp, tracks });
    this.subscriber ??= this.createSubscriber();
    this.setupLines.relayOffer.push(...setupOf(sdp));
    this.midTracks.clear();
    for (const t of tracks) this.midTracks.set(t.mid, t);
    await this.subscriber.setRemoteDescription({ type: "offer", sdp });
    if (!this.reliableChannel) {
      const { reliable, lossy } = DATA_CHANNELS;
      this.reliableChannel = this.subscriber.createDataChannel(reliable.label, { negotiated: true, id: reliable.id, ordered: true });
      this.lossyChannel = this.subscriber.createDataChannel(lossy.label, {
        negotiated: true, id: lossy.id, ordered: false, maxRetransmits: lossy.maxRetransmits,
      });
      for (const [channel, isReliable] of [[this.reliableChannel, true], [this.lossyChannel, false]] as const) {
        channel.onMessage.subscribe((data) => {
          const decoded = decodeDataFrame(typeof data === "string" ? new TextEncoder().encode(data) : data);
          if (!decoded.ok) throw new Error(`relay sent a bad data frame: ${decoded.error}`);
          this.data.push({ reliable: isReliable, frame: decoded.frame, at: performance.now() });
        });
      }
    }
    const answer = await this.subscriber.createAnswer();
    await this.subscriber.setLocalDescription(answer);
    startRestartedIce(this.subscriber); // the relay's offer restarted ICE (`restart-ice`)
    const answerSdp = this.subscriber.localDescription!.sdp;
    this.setupLines.clientAnswer.push(...setupOf(answerSdp));
    this.send({ type: "subscriber-answer", offerId, sdp: answerSdp });
  }
}

const AUDIO_LEVEL_URI = useAudioLevelIndication().uri;

/** The id a transceiver negotiated for the ssrc-audio-level extension, or undefined. */
function audioLevelIdOf(transceiver: RTCRtpTransceiver): number | undefined {
  return transceiver.headerExtensions.find((e) => e.uri === AUDIO_LEVEL_URI)?.id;
}

function setupOf(sdp: string): string[] {
  return [...sdp.matchAll(/^a=setup:(\w+)/gm)].map((m) => m[1]!);
}

export function waitConnected(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.connectionState === "connected") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unSubscribe();
      reject(new Error(`peer connection not connected within ${timeoutMs} ms (state ${pc.connectionState})`));
    }, timeoutMs);
    const sub = pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(timer);
        sub.unSubscribe();
        resolve();
      } else if (state === "closed") {
        clearTimeout(timer);
        sub.unSubscribe();
        reject(new Error(`peer connection ${state}`));
      }
    });
  });
}

/** A publishing peer connection (Opus, and RED first with `red`; one video codec; the extensions simulcast and the chosen feedback need). */
export function publisherPeer(videoCodec: VideoCodec, o: Pick<ClientOptions, "transportCc" | "rembOnly" | "red" | "address"> = {}): RTCPeerConnection {
  const video = videoCodec === "H264" ? H264() : VP8();
  const twcc = o.transportCc ? [useTransportWideCC()] : [];
  if (o.transportCc) video.rtcpFeedback.push({ type: "transport-cc" });
  const absSendTime = o.rembOnly ? [useAbsSendTime()] : [];
  if (o.rembOnly) video.rtcpFeedback.push({ type: "goog-remb" });
  return new RTCPeerConnection({
    ...LOOPBACK(o.address),
    codecs: { audio: o.red ? [RED(), OPUS()] : [OPUS()], video: [video] },
    headerExtensions: { audio: [useSdesMid(), useAudioLevelIndication(), ...twcc], video: [useSdesMid(), useSdesRTPStreamId(), ...twcc, ...absSendTime] },
  });
}

/** Sends every client's outgoing tracks at a steady pace until stopped: audio 50/s, video `videoRate`/s. */
export class Pacer {
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;

  constructor(private readonly clients: () => ReadonlyArray<{ readonly outgoing: readonly SyntheticTrack[] }>, private readonly videoPerTick = 2, private readonly tickMs = 20) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.tickMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await new Promise((r) => setTimeout(r, 300)); // let packets in flight arrive
  }

  private tick(): void {
    this.ticks++;
    for (const client of this.clients()) {
      for (const track of client.outgoing) {
        const n = track.kind === "audio" ? 1 : this.videoPerTick;
        for (let i = 0; i < n; i++) track.sendPacket();
      }
    }
  }
}
