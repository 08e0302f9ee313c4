/**
 * Media for the load generators: fixture-driven senders (the recorded VP8 and Opus packets, paced in
 * real time, a send timestamp in every payload, a keyframe on PLI) and receivers that count what
 * arrives.
 *
 * Receivers have two modes:
 * - "full": werift's whole receive path (SRTP decrypt, RTP parse, receiver bookkeeping); the payload is
 *   read, so the send timestamp gives the one-way delay. Used by the latency probe (in the publisher's
 *   process: one clock).
 * - "count": the subscriber's SRTP session is replaced, once DTLS is up, by a counter that reads the
 *   clear RTP header (payload type, SSRC) of each datagram and drops it without decrypting. This keeps
 *   the load generator cheap (decrypting hundreds of thousands of packets per second in JavaScript
 *   would saturate the machine long before the server under test). ICE, DTLS and RTCP are untouched.
 */
import {
  MediaStreamTrack,
  type RTCPeerConnection,
  RTCRtpCodecParameters,
  RtpHeader,
  RtpPacket,
  SrtpAuthenticationError,
  useSdesMid,
} from "werift";
import { type Fixture, loadFixtures } from "./fixture.ts";
import { Samples } from "./stats.ts";

// ---------------------------------------------------------------------------------------------
// Peer configuration (the same as @sfu-room/test-peer uses; local addresses only)
// ---------------------------------------------------------------------------------------------

/**
 * `address`: the local address to bind and announce. 127.0.0.1 for the relay; for Janus an address of
 * the bench's own network namespace (Janus gathers no loopback candidates and libnice does not answer
 * checks from 127.0.0.1 to another address), which is local too: the kernel delivers it through lo.
 */
export const loopbackPeerConfig = (address = "127.0.0.1") => ({
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

export const mediaPeerConfig = (address = "127.0.0.1") => ({
  ...loopbackPeerConfig(address),
  codecs: { audio: [OPUS()], video: [VP8()] },
  headerExtensions: { audio: [useSdesMid()], video: [useSdesMid()] },
});

// ---------------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------------

/** Magic before the send timestamp at the end of each payload ("SFUB"). */
const STAMP_MAGIC = 0x53465542;
const STAMP_BYTES = 12;

/** One track fed from a fixture: loops over it with continuous sequence numbers and timestamps. */
export class FixtureTrack {
  readonly track: MediaStreamTrack;
  sent = 0;
  keyframesSent = 0;
  private frame: number;
  private seq = Math.floor(Math.random() * 65536);
  private ts = Math.floor(Math.random() * 2 ** 32);
  private keyframeWanted = false;
  private nextAt = 0;

  /** `track`: write into this werift track (e.g. one already negotiated); default a new one. */
  constructor(readonly fixture: Fixture, track?: MediaStreamTrack) {
    this.track = track ?? new MediaStreamTrack({ kind: fixture.kind });
    // Publishers start at different points of the loop, so keyframes of many publishers do not align.
    this.frame = Math.floor(Math.random() * fixture.frames.length);
  }

  /** What a real encoder does on PLI: the next frame is a keyframe (here: jump to one in the loop). */
  requestKeyframe(): void {
    if (this.fixture.kind === "video") this.keyframeWanted = true;
  }

  /** Starts (or restarts after a pause) the real-time schedule at `now`. */
  restart(now: number): void {
    this.nextAt = now;
  }

  /** Sends every frame that is due at `now` (at most `maxBurst` frames, then skips ahead). */
  tick(now: number, maxBurst = 5): void {
    let n = 0;
    while (this.nextAt <= now && n < maxBurst) {
      this.sendFrame();
      this.nextAt += this.fixture.frameMs;
      n++;
    }
    if (this.nextAt <= now) this.nextAt = now + this.fixture.frameMs; // fell behind: do not burst
  }

  private sendFrame(): void {
    const f = this.fixture;
    if (this.keyframeWanted) {
      this.keyframeWanted = false;
      if (!f.frames[this.frame]!.keyframe && f.keyframes.length) {
        this.frame = f.keyframes.find((k) => k > this.frame) ?? f.keyframes[0]!;
      }
    }
    const frame = f.frames[this.frame]!;
    if (frame.keyframe) this.keyframesSent++;
    for (const p of frame.packets) {
      const payload = Buffer.from(p.payload);
      if (payload.length >= STAMP_BYTES + 4) {
        payload.writeUInt32BE(STAMP_MAGIC, payload.length - STAMP_BYTES);
        payload.writeDoubleLE(performance.now(), payload.length - 8);
      }
      const header = new RtpHeader({
        sequenceNumber: this.seq,
        timestamp: this.ts >>> 0,
        marker: f.kind === "audio" ? false : p.marker,
        payloadType: f.kind === "audio" ? 111 : 96,
        ssrc: 1,
      });
      this.track.writeRtp(new RtpPacket(header, payload));
      this.seq = (this.seq + 1) & 0xffff;
      this.sent++;
    }
    this.ts = (this.ts + f.tsPerFrame) >>> 0;
    this.frame = (this.frame + 1) % f.frames.length;
  }
}

/** An audio + video pair from the fixtures. */
export class FixtureSource {
  readonly audio: FixtureTrack;
  readonly video: FixtureTrack;
  constructor(tracks?: { audio: MediaStreamTrack; video: MediaStreamTrack }) {
    const fx = loadFixtures();
    this.audio = new FixtureTrack(fx.audio, tracks?.audio);
    this.video = new FixtureTrack(fx.video, tracks?.video);
  }
  get tracks(): FixtureTrack[] {
    return [this.audio, this.video];
  }
}

/** Drives every FixtureTrack of a process from one timer; pause/resume for clean measurement windows. */
export class Pacer {
  private readonly tracks = new Set<FixtureTrack>();
  private timer: NodeJS.Timeout | undefined;
  private paused = false;

  add(track: FixtureTrack): void {
    this.tracks.add(track);
    track.restart(performance.now());
    this.timer ??= setInterval(() => this.tick(), 5);
  }

  remove(track: FixtureTrack): void {
    this.tracks.delete(track);
    if (this.tracks.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const now = performance.now();
    for (const t of this.tracks) t.restart(now);
  }

  sent(): { audio: number; video: number } {
    let audio = 0;
    let video = 0;
    for (const t of this.tracks) {
      if (t.fixture.kind === "audio") audio += t.sent;
      else video += t.sent;
    }
    return { audio, video };
  }

  private tick(): void {
    if (this.paused) return;
    const now = performance.now();
    for (const t of this.tracks) t.tick(now);
  }
}

// ---------------------------------------------------------------------------------------------
// Receiving
// ---------------------------------------------------------------------------------------------

export type ReceiveMode = "full" | "count";

/** What one subscriber connection received. */
export class ReceiveCounter {
  audio = 0;
  video = 0;
  /** RTP packets of another payload type (retransmissions, padding). */
  other = 0;
  /** Packets whose (SSRC, sequence number) arrived before in this window (retransmissions): not counted above. */
  duplicates = 0;
  bytes = 0;
  firstAt: number | undefined;
  firstVideoAt: number | undefined;
  readonly videoSsrcs = new Set<number>();
  readonly audioSsrcs = new Set<number>();
  /** One-way delay samples (full mode, payloads with a send timestamp). */
  readonly latency = new Samples();
  private ptKinds = new Map<number, "audio" | "video" | "other">();
  private ptSdp: string | undefined;
  /** Per SSRC: a bit per sequence number seen since the window started. */
  private readonly seen = new Map<number, Uint8Array>();

  /** Starts a measurement window: sequence numbers seen so far are forgotten. */
  newWindow(): void {
    for (const bits of this.seen.values()) bits.fill(0);
    this.latency.reset();
  }

  constructor(private readonly pc: () => RTCPeerConnection | undefined) {}

  /** Counts one RTP packet given its clear header fields; false if it is a duplicate. */
  count(kind: "audio" | "video" | "other", ssrc: number, seq: number, bytes: number, now: number): boolean {
    let bits = this.seen.get(ssrc);
    if (!bits) {
      bits = new Uint8Array(8192);
      this.seen.set(ssrc, bits);
    }
    const mask = 1 << (seq & 7);
    if (bits[seq >> 3]! & mask) {
      this.duplicates++;
      return false;
    }
    bits[seq >> 3]! |= mask;
    this.bytes += bytes;
    if (kind === "audio") {
      this.audio++;
      this.audioSsrcs.add(ssrc);
    } else if (kind === "video") {
      this.video++;
      this.videoSsrcs.add(ssrc);
      this.firstVideoAt ??= now;
    } else {
      this.other++;
      return true;
    }
    this.firstAt ??= now;
    return true;
  }

  /** Count mode: one SRTP datagram (RTP, not RTCP). */
  onRaw(data: Buffer): void {
    if (data.length < 12) return;
    const pt = data[1]! & 0x7f;
    this.count(this.kindOf(pt), data.readUInt32BE(8), data.readUInt16BE(2), data.length, performance.now());
  }

  /** Full mode: one decrypted packet. */
  onPacket(kind: "audio" | "video", packet: RtpPacket): void {
    const now = performance.now();
    const payload = packet.payload;
    const apt = this.kindOf(packet.header.payloadType);
    const fresh = this.count(apt === "other" ? "other" : kind, packet.header.ssrc, packet.header.sequenceNumber, payload.length, now);
    if (fresh && apt !== "other" && payload.length >= STAMP_BYTES + 4 && payload.readUInt32BE(payload.length - STAMP_BYTES) === STAMP_MAGIC) {
      this.latency.add(now - payload.readDoubleLE(payload.length - 8));
    }
  }

  /** Media kind of a payload type, from the remote description (re-read when it changes). */
  private kindOf(pt: number): "audio" | "video" | "other" {
    const sdp = this.pc()?.remoteDescription?.sdp;
    if (sdp !== undefined && sdp !== this.ptSdp) {
      this.ptSdp = sdp;
      this.ptKinds = payloadTypeKinds(sdp);
    }
    return this.ptKinds.get(pt) ?? "other";
  }
}

/** Payload type -> kind from an SDP: Opus is audio, VP8/VP9/H264/AV1 video, anything else (rtx, red, ulpfec) other. */
export function payloadTypeKinds(sdp: string): Map<number, "audio" | "video" | "other"> {
  const map = new Map<number, "audio" | "video" | "other">();
  for (const m of sdp.matchAll(/^a=rtpmap:(\d+) ([\w-]+)\//gm)) {
    const codec = m[2]!.toLowerCase();
    const kind = codec === "opus" ? "audio" : ["vp8", "vp9", "h264", "av1"].includes(codec) ? "video" : "other";
    map.set(Number(m[1]), kind);
  }
  return map;
}

const DROP = new SrtpAuthenticationError("bench: counted, not decrypted");
const hooked = new WeakSet<object>();

/**
 * Attaches a counter to a subscriber peer connection. Call as soon as the connection exists (before
 * DTLS is up); re-call after each remote description is fine.
 */
export function attachReceiver(pc: RTCPeerConnection, counter: ReceiveCounter, mode: ReceiveMode): void {
  if (hooked.has(pc)) return;
  hooked.add(pc);
  if (mode === "full") {
    const hookTracks = () => {
      for (const transceiver of pc.getTransceivers()) {
        for (const track of transceiver.receiver.tracks) {
          if (hooked.has(track)) continue;
          hooked.add(track);
          subscribeFirst(track.onReceiveRtp, (packet: RtpPacket) => counter.onPacket(track.kind as "audio" | "video", packet));
        }
      }
    };
    hookTracks();
    pc.onTrack.subscribe(hookTracks);
    pc.onRemoteTransceiverAdded.subscribe((t) => t.onTrack.subscribe(hookTracks));
    pc.connectionStateChange.subscribe(hookTracks);
    return;
  }
  const hookTransports = () => {
    for (const t of pc.dtlsTransports as unknown as CountableTransport[]) hookTransport(t, counter);
  };
  hookTransports();
  pc.iceConnectionStateChange.subscribe(hookTransports);
  pc.connectionStateChange.subscribe(hookTransports);
  pc.onRemoteTransceiverAdded.subscribe(hookTransports);
}

/**
 * Subscribes to a werift event ahead of the listeners already there. werift runs an event's listeners
 * in order and stops at the first that throws; the test peer's (@sfu-room/test-peer) own receive bookkeeping
 * expects its synthetic payload layout and throws on short payloads of the recorded VP8 stream (fewer
 * than 11 bytes), which would hide those packets from a listener behind it.
 */
function subscribeFirst<T extends unknown[]>(event: { subscribe(f: (...a: T) => void): unknown }, f: (...a: T) => void): void {
  event.subscribe(f);
  const stack = (event as unknown as { event?: { stack?: unknown[] } }).event?.stack;
  if (Array.isArray(stack) && stack.length > 1) stack.unshift(stack.pop());
}

interface CountableTransport {
  srtp: { decrypt(data: Buffer): Buffer } | undefined;
  onStateChange: { subscribe(f: (state: string) => void): unknown };
}

function hookTransport(t: CountableTransport, counter: ReceiveCounter): void {
  if (hooked.has(t)) return;
  hooked.add(t);
  const patch = () => {
    const srtp = t.srtp;
    if (!srtp || hooked.has(srtp)) return;
    hooked.add(srtp);
    srtp.decrypt = (data: Buffer) => {
      counter.onRaw(data);
      throw DROP; // werift drops packets that fail authentication, silently
    };
  };
  patch();
  // werift creates the SRTP session right before it reports "connected", synchronously.
  t.onStateChange.subscribe((state) => {
    if (state === "connected") patch();
  });
}
