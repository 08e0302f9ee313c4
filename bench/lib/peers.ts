/**
 * Benchmark participants against either server, with the same media and the same receive
 * bookkeeping: publishers (fixture audio + video), subscribers (receive the feeds they are given) and
 * meeting participants (both).
 *
 * - relay: @sfu-room/test-peer (test/peer: our protocol over WebSocket, werift peers), unchanged; the
 *   fixture is written into the tracks it negotiated.
 * - janus: Janus's WebSocket API (bench/lib/janus-api.ts) and werift peers with the same settings.
 *   One Janus session (WebSocket) per participant, like one relay session per participant; a
 *   publisher handle and one multistream subscriber handle for all feeds it receives.
 */
import { RTCPeerConnection } from "werift";
import { WeriftClient } from "@sfu-room/test-peer";
import { type JanusHandle, JanusSession } from "./janus-api.ts";
import { attachReceiver, FixtureSource, mediaPeerConfig, type Pacer, ReceiveCounter, type ReceiveMode } from "./media.ts";

/**
 * The servers a run compares: the relay in one process, the relay with 2 workers (`--workers 2`), two
 * relay nodes sharing a Redis (`--redis`: the publisher joins through the first, subscribers through
 * both), and Janus VideoRoom.
 */
export type ServerKind = "relay" | "relay-2w" | "relay-2n" | "relay-2s" | "janus";
export const SERVER_KINDS: readonly ServerKind[] = ["relay", "relay-2w", "relay-2n", "relay-2s", "janus"];

/** Which signaling a server speaks: every relay variant the relay's, Janus its own. */
export function protocolOf(kind: ServerKind): "relay" | "janus" {
  return kind === "janus" ? "janus" : "relay";
}

export interface Target {
  server: "relay" | "janus";
  /** ws://127.0.0.1:PORT/ws (relay) or ws://127.0.0.1:PORT (Janus). */
  url: string;
  /** Janus: the local address clients bind and announce (see mediaPeerConfig). */
  clientAddress?: string;
}

/** Relay: participant id; Janus: publisher (feed) id. */
export type FeedId = string | number;

export interface Participant {
  name: string;
  connectStartedAt: number;
  feedId: FeedId | undefined;
  source: FixtureSource | undefined;
  counter: ReceiveCounter | undefined;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(test: () => boolean, timeoutMs: number, what: string, pollMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

/** Resolves when the counter has seen audio and video from `feeds` publishers. */
export function mediaFrom(counter: ReceiveCounter, feeds: number, timeoutMs: number, what: string): Promise<void> {
  return until(() => counter.audioSsrcs.size >= feeds && counter.videoSsrcs.size >= feeds, timeoutMs, `${what}: media from ${feeds} publisher(s)`);
}

// ---------------------------------------------------------------------------------------------
// Relay
// ---------------------------------------------------------------------------------------------

class RelayParticipant implements Participant {
  readonly client: WeriftClient;
  connectStartedAt = 0;
  feedId: FeedId | undefined;
  source: FixtureSource | undefined;
  counter: ReceiveCounter | undefined;

  constructor(readonly name: string, private readonly pacer: Pacer | undefined) {
    this.client = new WeriftClient({ name, log: new Map() });
  }

  private receiveMode: ReceiveMode | undefined;

  async connect(url: string, room: string, autoSubscribe: boolean): Promise<void> {
    await this.client.connect(url);
    this.connectStartedAt = this.client.connectStartedAt;
    if (this.receiveMode !== undefined) {
      // The client creates its subscriber connection when the relay's first offer arrives (in a
      // microtask after the frame): hook it right after.
      const onFrame = () => setImmediate(() => {
        const pc = this.client.subscriber;
        if (!pc || !this.counter) return;
        attachReceiver(pc, this.counter, this.receiveMode!);
        this.client.ws.off("message", onFrame);
      });
      this.client.ws.on("message", onFrame);
    }
    const joined = await this.client.join(room, autoSubscribe);
    this.feedId = joined.participantId;
  }

  async publish(timeoutMs: number): Promise<void> {
    const [audio, video] = await this.client.publish([{ kind: "audio" }, { kind: "video" }]);
    const source = new FixtureSource({ audio: audio!.track, video: video!.track });
    for (const transceiver of this.client.publisher!.getTransceivers()) {
      const track = transceiver.mid === video!.mid ? source.video : transceiver.mid === audio!.mid ? source.audio : undefined;
      transceiver.sender.onPictureLossIndication.subscribe(() => track?.requestKeyframe());
    }
    await this.client.connected(timeoutMs);
    this.source = source;
    for (const t of source.tracks) this.pacer?.add(t);
  }

  /** Counts what the subscriber connection receives (it appears with the relay's first offer). */
  receive(mode: ReceiveMode): ReceiveCounter {
    this.receiveMode = mode;
    this.counter = new ReceiveCounter(() => this.client.subscriber);
    return this.counter;
  }

  async close(): Promise<void> {
    for (const t of this.source?.tracks ?? []) this.pacer?.remove(t);
    await this.client.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Janus
// ---------------------------------------------------------------------------------------------

class JanusParticipant implements Participant {
  session: JanusSession | undefined;
  connectStartedAt = 0;
  feedId: FeedId | undefined;
  source: FixtureSource | undefined;
  counter: ReceiveCounter | undefined;
  private publisherPc: RTCPeerConnection | undefined;
  private subscriberPc: RTCPeerConnection | undefined;
  private publisherHandle: JanusHandle | undefined;

  constructor(
    readonly name: string,
    private readonly pacer: Pacer | undefined,
    private readonly room: number,
    private readonly address: string | undefined,
  ) {}

  async connect(url: string): Promise<void> {
    this.connectStartedAt = performance.now();
    this.session = await JanusSession.connect(url);
  }

  async publish(timeoutMs: number): Promise<void> {
    const handle = await this.session!.attach();
    this.publisherHandle = handle;
    const joined = await handle.message({ request: "join", ptype: "publisher", room: this.room, display: this.name });
    this.feedId = joined.data.id as number;
    const source = new FixtureSource();
    const pc = new RTCPeerConnection(mediaPeerConfig(this.address));
    this.publisherPc = pc;
    for (const track of source.tracks) {
      const transceiver = pc.addTransceiver(track.track, { direction: "sendonly" });
      transceiver.sender.onPictureLossIndication.subscribe(() => track.requestKeyframe());
    }
    await pc.setLocalDescription(await pc.createOffer());
    const reply = await handle.message({ request: "publish", audio: true, video: true }, { type: "offer", sdp: pc.localDescription!.sdp });
    if (!reply.jsep) throw new Error(`Janus publish: no answer (${JSON.stringify(reply.data)})`);
    await pc.setRemoteDescription({ type: "answer", sdp: reply.jsep.sdp });
    await handle.trickleDone();
    await Promise.all([waitConnected(pc, timeoutMs), handle.waitWebrtcUp(timeoutMs)]);
    this.source = source;
    for (const t of source.tracks) this.pacer?.add(t);
  }

  /** One multistream subscriber handle receiving every stream of `feeds`. */
  async subscribe(feeds: FeedId[], mode: ReceiveMode): Promise<ReceiveCounter> {
    const handle = await this.session!.attach();
    const pc = new RTCPeerConnection(mediaPeerConfig(this.address));
    this.subscriberPc = pc;
    const counter = new ReceiveCounter(() => pc);
    this.counter = counter;
    attachReceiver(pc, counter, mode);
    const joined = await handle.message({
      request: "join", ptype: "subscriber", room: this.room, streams: feeds.map((feed) => ({ feed })),
    });
    if (!joined.jsep) throw new Error(`Janus subscribe: no offer (${JSON.stringify(joined.data)})`);
    await pc.setRemoteDescription({ type: "offer", sdp: joined.jsep.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await handle.message({ request: "start" }, { type: "answer", sdp: pc.localDescription!.sdp });
    await handle.trickleDone();
    return counter;
  }

  async close(): Promise<void> {
    for (const t of this.source?.tracks ?? []) this.pacer?.remove(t);
    await Promise.all([this.publisherPc?.close(), this.subscriberPc?.close()].map((p) => p?.catch(() => undefined)));
    await this.session?.close().catch(() => undefined);
    void this.publisherHandle;
  }
}

function waitConnected(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return until(() => pc.connectionState === "connected", timeoutMs, "peer connection connected", 10);
}

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

export interface RoleOptions {
  target: Target;
  /** Relay room name; Janus room number (as a string). */
  room: string;
  name: string;
  pacer?: Pacer;
  timeoutMs: number;
}

/** A publisher of fixture audio + video. */
export async function createPublisher(o: RoleOptions): Promise<Participant> {
  if (o.target.server === "relay") {
    const p = new RelayParticipant(o.name, o.pacer);
    try {
      await p.connect(o.target.url, o.room, false);
      await p.publish(o.timeoutMs);
    } catch (e) {
      await p.close();
      throw e;
    }
    return p;
  }
  const p = new JanusParticipant(o.name, o.pacer, Number(o.room), o.target.clientAddress);
  try {
    await p.connect(o.target.url);
    await p.publish(o.timeoutMs);
  } catch (e) {
    await p.close();
    throw e;
  }
  return p;
}

/**
 * A participant that only receives `feeds` (relay: everything in the room, by auto-subscribe).
 * `ready` resolves when audio and video of every feed arrive (rejects after the timeout); the
 * participant is returned before that, so that callers can time and count failures.
 */
export async function createSubscriber(o: RoleOptions & { feeds: FeedId[]; mode: ReceiveMode }): Promise<{ participant: Participant; ready: Promise<void> }> {
  if (o.target.server === "relay") {
    const p = new RelayParticipant(o.name, undefined);
    const counter = p.receive(o.mode);
    const started = (async () => {
      await p.connect(o.target.url, o.room, true);
      await mediaFrom(counter, o.feeds.length, o.timeoutMs, o.name);
    })();
    return { participant: p, ready: started };
  }
  const p = new JanusParticipant(o.name, undefined, Number(o.room), o.target.clientAddress);
  const started = (async () => {
    await p.connect(o.target.url);
    const counter = await p.subscribe(o.feeds, o.mode);
    await mediaFrom(counter, o.feeds.length, o.timeoutMs, o.name);
  })();
  return { participant: p, ready: started };
}

/** A meeting participant: publishes audio + video. Call `receiveAll` once everyone has published. */
export async function createMeetingParticipant(o: RoleOptions): Promise<Participant & { receiveAll(feeds: FeedId[], mode: ReceiveMode): Promise<void> }> {
  if (o.target.server === "relay") {
    const p = new RelayParticipant(o.name, o.pacer);
    const counter = p.receive("count");
    await p.connect(o.target.url, o.room, true);
    await p.publish(o.timeoutMs);
    return Object.assign(p, {
      // auto-subscribe already delivers everyone's tracks
      receiveAll: (feeds: FeedId[]) => mediaFrom(counter, feeds.length, o.timeoutMs, o.name),
    });
  }
  const p = new JanusParticipant(o.name, o.pacer, Number(o.room), o.target.clientAddress);
  await p.connect(o.target.url);
  await p.publish(o.timeoutMs);
  return Object.assign(p, {
    receiveAll: async (feeds: FeedId[], mode: ReceiveMode) => {
      const counter = await p.subscribe(feeds, mode);
      await mediaFrom(counter, feeds.length, o.timeoutMs, o.name);
    },
  });
}
