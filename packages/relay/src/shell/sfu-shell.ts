/**
 * SfuShell: the I/O shell around the sans-I/O core, and the only place where the core meets the world.
 * It translates; the core decides:
 *
 *   a client message (signal/session.ts) ─┐                     ┌─ signal → that participant's session
 *   a werift event (ParticipantLink)  ────┼─▶ core.handle(input) ┼─ connections, m-lines, packets, PLIs
 *   the core's own timer  ────────────────┘   then drain():      └─ one timer armed for the next deadline
 *                                             poll() until timeout
 *
 * Before an input it does only the I/O the input needs (minting ids, verifying a token, applying SDP);
 * it keeps no copy of the core's state and asks the core nothing before acting: every output carries
 * what acting on it needs. What needs a clock, a socket or a promise lives here or below (rtc/, signal/).
 */
import type { Logger } from "pino";
import type { RtpPacket } from "werift";
import type { ClientMessage, IceServer, ServerMessage } from "@sfu-room/protocol";
import { type AdminRequest, type AdminResult, type CoreConfig, type CoreStats, type Grants, type Input, type JoinAccess, type KindCounts, type NegotiatePublishOutput, type Output, openGrants, type RestartIceOutput, type RoomEventOutput, type RtpInput, SfuCore } from "../core/index.ts";
import { isKeyframeStart } from "../media/keyframe.ts";
import { readVp8PictureFields } from "../media/vp8-picture-id.ts";
import type { RtcNetworkOptions } from "../rtc/media-config.ts";
import { SdpError } from "../rtc/publisher-connection.ts";
import { RED_MIME } from "../rtc/red-forwarding.ts";
import { StaleAnswerError } from "../rtc/subscriber-connection.ts";
import { DataRelay } from "./data-relay.ts";
import { kindOfCodec, MediaCounters, type MediaKind } from "./media-counters.ts";
import { PacketStore } from "./packet-store.ts";
import { ParticipantLink } from "./participant-link.ts";
import { type MirrorSink, type PipeChannel, type PipeEnd, PipeFromNode } from "./pipe-from-node.ts";

/** What the shell needs from a signaling session. */
export interface SessionPort {
  send(message: ServerMessage): void;
  /** Ends the session (closes the WebSocket) after a fatal error, or when a resume replaced it. */
  close(reason: string): void;
  /** Ends the session with a policy close (the client must not come back on its own), saying why. */
  kick(reason: string): void;
  /** A resume made this session participant `participantId`'s: it speaks as them from now on. */
  bind(participantId: string): void;
  /** Its participant only publishes (WHIP): no subscriber connection is made for them. */
  readonly publishOnly?: boolean;
  /** Its participant only watches (WHEP): it joins hidden, and its subscriber connection answers its offer. */
  readonly viewOnly?: boolean;
  /**
   * Another node's pipe (rooms spanning nodes; opened by the cluster, never by a client): that node's
   * id. It joins as a pipe (core: hidden, offered only this node's own participants' tracks and data),
   * admitted without a token.
   */
  readonly pipe?: string;
}

export interface SfuShellOptions {
  core: CoreConfig;
  net: RtcNetworkOptions;
  /** A connection that stays disconnected this long (failed: at most 5 s) has lost its media (ms). */
  peerTimeoutMs: number;
  log: Logger;
  /** The ICE servers (TURN, with credentials minted for them) a participant is given when it joins. */
  iceServers(participantId: string): IceServer[];
  /** Mints an unguessable id (participants, tracks): the core has no randomness. */
  newId(prefix: string): string;
  /** Mints a resume secret: longer than an id, since it is all a resume needs besides the (known) id. */
  newSecret(): string;
  /** Verifies a join's token (signature and times: the core applies its grants); undefined: the relay is open. */
  verifyToken: ((token: string | undefined) => Promise<JoinAccess>) | undefined;
  /** Where the core's room events go (the webhooks); undefined: nowhere. Must not block: it is called mid-drain. */
  onRoomEvent?: ((event: RoomEventOutput) => void) | undefined;
}

export interface SfuStats extends CoreStats {
  /** werift RTCPeerConnections held (two per participant at most). */
  peerConnections: number;
}

export class SfuShell {
  readonly #core: SfuCore;
  readonly #options: SfuShellOptions;
  /** Every open signaling session, by the participant id minted for it or the one it resumed. */
  readonly #sessions = new Map<string, SessionPort>();
  /** The connections of every participant the core admitted. */
  readonly #links = new Map<string, ParticipantLink>();
  /** Publish negotiations under way, by participant: the session waits for its own before its next message. */
  readonly #negotiations = new Map<string, Promise<void>>();
  readonly #data: DataRelay;
  /** The video packets that `retransmit` outputs resend. */
  readonly #store = new PacketStore();
  /** The server API calls being handled, by request id: each is answered within the drain of its input. */
  readonly #adminCalls = new Map<string, (result: AdminResult) => void>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  /** The packet of the `rtp` input being drained: `forward` outputs refer to it. */
  #packet: RtpPacket | undefined;
  #packetKind: MediaKind = "video";
  /** Its ssrc-audio-level byte (-1: none), passed on to the subscribers. */
  #packetAudioLevel = -1;
  /** The packet is RED (its payload a container of Opus frames, media/red.ts). */
  #packetRed = false;
  /** Packets, bytes and RTCP feedback counted on the hot path; /metrics reads them. */
  readonly media = new MediaCounters();
  readonly #rtpInput: RtpInput = {
    type: "rtp", now: 0, publisherId: "", trackId: "", layer: 0, seq: 0, timestamp: 0, marker: false, keyframe: false, size: 0, pictureId: -1, tl0PicIdx: -1, audioLevel: -1,
  };
  #closed = false;
  /** Pipes into this node's rooms from other nodes (rooms spanning nodes), and whose mirrors each feeds. */
  readonly #pipes = new Set<PipeFromNode>();
  readonly #mirrorPipes = new Map<string, PipeFromNode>();

  constructor(options: SfuShellOptions) {
    this.#options = options;
    this.#core = new SfuCore(options.core);
    this.#data = new DataRelay((id, reliable, frame) => this.#links.get(id)?.subscriber?.sendData(reliable, frame) ?? "not-open");
  }

  stats(): SfuStats {
    let peerConnections = 0;
    for (const link of this.#links.values()) peerConnections += link.connectionCount;
    return { ...this.#core.stats(), peerConnections };
  }

  /** Tracks and subscriptions by kind (the core's count). */
  kindCounts(): KindCounts {
    return this.#core.kindCounts();
  }

  /** How many connections are in each state (new, connecting, connected, disconnected, failed, closed). */
  connectionStates(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const link of this.#links.values()) for (const state of link.connectionStates()) counts.set(state, (counts.get(state) ?? 0) + 1);
    return counts;
  }

  // ------------------------------------------------------------------------------------------
  // Signaling sessions
  // ------------------------------------------------------------------------------------------

  /**
   * A signaling session opened; its participant id is minted (or is `id`, minted by the primary process
   * that holds the WebSocket: workers/) and returned.
   */
  open(session: SessionPort, id = this.#options.newId("P")): string {
    this.#sessions.set(id, session);
    return id;
  }

  /**
   * The session's socket closed without `leave`: the core keeps its participant for the resume window
   * or lets them go. A session a resume replaced is not its participant's any more: nothing happens.
   */
  closed(participantId: string, session: SessionPort): void {
    if (this.#sessions.get(participantId) !== session) return;
    this.#sessions.delete(participantId);
    this.#drive({ type: "session-closed", now: now(), participantId });
  }

  /** One validated client message. Resolves when the relay is done with it (a publish: once negotiated). */
  async handle(participantId: string, message: ClientMessage): Promise<void> {
    const t = now();
    switch (message.type) {
      case "join": {
        const { id: requestId, room, name, autoSubscribe, rejoinOf } = message;
        const verified = await this.#options.verifyToken?.(message.token);
        const session = this.#sessions.get(participantId);
        if (session === undefined) return; // closed while the token was checked: nobody to admit
        // A viewer is never seen in the room, whatever its token says (and on an open relay too).
        const access = session.pipe !== undefined ? { granted: openGrants(room) } : session.viewOnly ? hiddenAccess(verified ?? { granted: openGrants(room) }) : verified;
        const iceServers = this.#options.iceServers(participantId);
        const join = { type: "join", now: now(), participantId, requestId, room, name, autoSubscribe, rejoinOf, iceServers, resumeSecret: this.#options.newSecret(), ...(session.pipe !== undefined ? { presence: { kind: "pipe", node: session.pipe } as const } : {}) } as const;
        return this.#drive(access === undefined ? join : { ...join, access });
      }
      case "leave":
        return this.#drive({ type: "leave", now: t, participantId, requestId: message.id });
      case "refresh-token": {
        const access = await this.#options.verifyToken?.(message.token);
        if (!this.#sessions.has(participantId)) return; // closed while the token was checked
        const refresh = { type: "refresh-token", now: now(), participantId, requestId: message.id } as const;
        return this.#drive(access === undefined ? refresh : { ...refresh, access });
      }
      case "publish-offer": {
        const tracks = message.tracks.map((track) => ({ ...track, trackId: this.#options.newId("T") }));
        this.#drive({ type: "publish-offer", now: t, participantId, requestId: message.id, sdp: message.sdp, tracks });
        await this.#negotiations.get(participantId);
        return;
      }
      case "unpublish":
        return this.#drive({ type: "unpublish", now: t, participantId, requestId: message.id, trackId: message.trackId });
      case "mute":
        return this.#drive({ type: "mute", now: t, participantId, requestId: message.id, trackId: message.trackId, muted: message.muted });
      case "subscribe": {
        const { id: requestId, trackId, subscribe } = message;
        return this.#drive({ type: "subscribe", now: t, participantId, requestId, trackId, subscribe });
      }
      case "subscription-settings": {
        const { id: requestId, trackId, type: _type, ...settings } = message;
        return this.#drive({ type: "subscription-settings", now: t, participantId, requestId, trackId, settings });
      }
      case "request-keyframe":
        return this.#drive({ type: "keyframe-request", now: t, participantId, requestId: message.id, trackId: message.trackId });
      case "subscriber-answer":
        return this.#applySubscriberAnswer(participantId, message.offerId, message.sdp);
      case "resume": {
        const { id: requestId, room, participantId: resumeOf, secret } = message;
        return this.#drive({ type: "resume", now: t, participantId, requestId, room, resumeOf, secret, iceServers: this.#options.iceServers(resumeOf), nextSecret: this.#options.newSecret() });
      }
      case "restart-ice":
        this.#drive({ type: "restart-ice", now: t, participantId, requestId: message.id, sdp: message.sdp });
        await this.#negotiations.get(participantId);
        return;
    }
  }

  /** One server API call by a verified admin token (http/server-api.ts): the core decides and answers. */
  admin(grants: Grants, request: AdminRequest): AdminResult {
    const requestId = this.#options.newId("A");
    let answer: AdminResult | undefined;
    this.#adminCalls.set(requestId, (result) => (answer = result));
    try {
      this.#drive({ type: "admin", now: now(), requestId, grants, request });
    } finally {
      this.#adminCalls.delete(requestId);
    }
    if (answer === undefined) throw new Error(`the core did not answer ${request.method}`); // a relay bug: the handler says 500
    return answer;
  }

  /** A view-only participant's offer (WHEP), answered by its subscriber connection. */
  async answerViewer(participantId: string, offer: string): Promise<string> {
    const subscriber = this.#links.get(participantId)?.subscriber;
    if (subscriber === undefined) throw new SdpError("the relay has no connection for this viewer");
    try {
      return await subscriber.answer(offer);
    } catch (e) {
      throw new SdpError(`the relay could not answer the offer: ${(e as Error).message}`);
    }
  }

  /**
   * Rooms spanning nodes: a pipe into `room` here from node `origin`, speaking through `channel` (the
   * cluster's session on that node). Its mirrors join this node's room as that node's participants do there.
   */
  openPipe(room: string, origin: string, name: string, channel: PipeChannel): PipeEnd {
    const pipe: PipeFromNode = new PipeFromNode({
      room, origin, name, channel, sink: this.#mirrorSink, net: this.#options.net, log: this.#options.log, onClosed: () => this.#pipes.delete(pipe),
    });
    this.#pipes.add(pipe);
    pipe.start();
    return pipe;
  }

  /** The node a participant of another node mirrored here is on (a resume of theirs goes there), or undefined. */
  originOf(participantId: string): string | undefined {
    return this.#core.participantOrigin(participantId);
  }

  /** The core inputs for mirrors: the shell is their only way in (pipe-from-node.ts feeds them). */
  readonly #mirrorSink: MirrorSink = {
    join: (origin, room, p, pipe) => {
      this.#mirrorPipes.set(p.id, pipe);
      const granted = { ...openGrants(room), name: p.name, metadata: p.metadata };
      this.#drive({ type: "join", now: now(), participantId: p.id, requestId: "", room, name: p.name, autoSubscribe: false, presence: { kind: "mirror", origin }, access: { granted } });
    },
    publish: (participantId, tracks) => this.#drive({ type: "mirror-publish", now: now(), participantId, tracks }),
    update: (participantId, name, metadata) => this.#drive({ type: "mirror-update", now: now(), participantId, name, metadata }),
    mute: (participantId, trackId, muted) => this.#drive({ type: "mute", now: now(), participantId, requestId: "", trackId, muted }),
    unpublish: (participantId, trackId) => this.#drive({ type: "unpublish", now: now(), participantId, requestId: "", trackId }),
    leave: (participantId) => {
      this.#drive({ type: "leave", now: now(), participantId });
      this.#mirrorPipes.delete(participantId);
    },
    rtp: (participantId, trackId, packet, codec, audioLevel) => this.#onRtp(participantId, trackId, 0, packet, codec, audioLevel),
    data: (pipe, reliable, bytes) => {
      const input = this.#data.relayedInput(reliable, bytes, now());
      if (input === undefined || this.#mirrorPipes.get(input.participantId) !== pipe) return this.#data.done(); // not one of this pipe's mirrors
      this.#drive(input);
      this.#data.done();
    },
  };

  /** Removes every participant and stops the timer. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pipe of [...this.#pipes]) pipe.close(); // each leaves #pipes as it closes
    for (const id of [...this.#links.keys()]) this.#drive({ type: "leave", now: now(), participantId: id });
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // ------------------------------------------------------------------------------------------
  // The run loop
  // ------------------------------------------------------------------------------------------

  #drive(input: Input): void {
    this.#core.handle(input);
    this.#drain();
  }

  /** Executes every output until the timeout; one that fails is logged and the rest still run. */
  #drain(): void {
    for (;;) {
      const out = this.#core.poll();
      if (out.type === "timeout") {
        this.#arm(out.at);
        return;
      }
      try {
        this.#execute(out);
      } catch (e) {
        this.#options.log.error({ err: e, output: out.type }, "executing a core output failed");
      }
    }
  }

  #execute(out: Exclude<Output, { type: "timeout" }>): void {
    switch (out.type) {
      case "forward": {
        const link = this.#links.get(out.subscriberId);
        if (!this.#packet || !link) break;
        link.subscriber?.forward(out, this.#packet, this.#packetAudioLevel, this.#packetRed);
        const count = this.media.out[this.#packetKind];
        count.packets++;
        count.bytes += this.#packet.payload.length;
        break;
      }
      case "signal":
        if (out.message.type === "publish-answer") this.#links.get(out.participantId)?.log.info({ trackIds: out.message.tracks.map((t) => t.trackId) }, "tracks published");
        this.#sessions.get(out.participantId)?.send(out.message);
        break;
      case "participant-added": {
        const { participantId } = out;
        if (out.mirrored) break; // connected to another node: its tracks come through a pipe (#mirrorSink)
        try {
          this.#addLink(participantId);
        } catch (e) {
          // No connections for them (werift refused, say): they cannot stay, and must know.
          this.#options.log.error({ err: e, participantId }, "could not set up the connections of a participant");
          this.#sessions.get(participantId)?.close("the relay could not set up your connection");
          queueMicrotask(() => this.#drive({ type: "leave", now: now(), participantId }));
        }
        break;
      }
      case "participant-removed":
        this.#links.get(out.participantId)?.log.info({ reason: out.reason ?? "left" }, "participant left");
        if (out.reason !== undefined) {
          const session = this.#sessions.get(out.participantId);
          if (out.kick) session?.kick(out.reason);
          else session?.close(out.reason);
        }
        this.#links.get(out.participantId)?.close();
        this.#links.delete(out.participantId);
        break;
      case "session-resumed":
        this.#rebind(out.sessionId, out.participantId);
        break;
      case "participant-resumed": {
        const link = this.#links.get(out.participantId);
        link?.log.info("participant resumed");
        link?.subscriber?.resendOffer();
        link?.restarting();
        break;
      }
      case "negotiate-publish":
        this.#negotiatePublish(out);
        break;
      case "restart-ice":
        this.#restartIce(out);
        break;
      case "publication-removed":
        this.#links.get(out.publisherId)?.log.info({ trackId: out.trackId }, "track unpublished");
        this.#links.get(out.publisherId)?.publisher?.unbind(out.trackId);
        this.#store.forget(out.trackId);
        break;
      case "subscription-added": {
        const { subscriptionId, trackId, publisherId, kind, codec } = out;
        this.#links.get(out.subscriberId)?.subscriber?.add({ subscriptionId, trackId, publisherId, kind, codec });
        break;
      }
      case "subscription-removed":
        this.#links.get(out.subscriberId)?.subscriber?.remove(out.subscriptionId);
        break;
      case "request-keyframe":
        if (this.#links.get(out.publisherId)?.publisher?.requestKeyframe(out.trackId, out.layer)) this.media.plisToPublishers++;
        else this.#mirrorPipes.get(out.publisherId)?.requestKeyframe(out.trackId);
        break;
      case "upstream-layer":
        this.#mirrorPipes.get(out.publisherId)?.upstreamLayer(out.trackId, out.layer);
        break;
      case "send-nack":
        if (this.#links.get(out.publisherId)?.publisher?.sendNack(out.trackId, out.layer, out.seqs)) this.media.nacksToPublishers++;
        break;
      case "send-remb":
        if (this.#links.get(out.publisherId)?.publisher?.sendRemb(out.bitsPerSecond)) this.media.rembsToPublishers++;
        break;
      case "paced-forward": {
        // A video packet the core's pacer held back: from the store, as its forward would have sent it.
        const packet = this.#store.get(out.trackId, out.slot, out.sourceSeq);
        const subscriber = this.#links.get(out.subscriberId)?.subscriber;
        if (!packet || !subscriber) break;
        subscriber.forward(out, packet, -1, false);
        this.media.out.video.packets++;
        this.media.out.video.bytes += packet.payload.length;
        break;
      }
      case "retransmit": {
        const packet = this.#store.get(out.trackId, out.slot, out.sourceSeq);
        if (packet) this.#links.get(out.subscriberId)?.subscriber?.resend(out, packet); // counted by the core (retransmits)
        break;
      }
      case "probe": {
        const packet = this.#store.get(out.trackId, out.slot, out.sourceSeq);
        if (packet) this.#links.get(out.subscriberId)?.subscriber?.probe(out, packet); // counted by the core (probePackets)
        break;
      }
      case "admin-reply":
        this.#adminCalls.get(out.requestId)?.(out.result);
        break;
      case "room-event":
        this.#options.onRoomEvent?.(out);
        break;
      case "deliver-data": {
        const backedUp = this.#data.deliver(out.from, out.recipients, out.reliable, out.relayed);
        if (backedUp.length > 0) {
          // Told after this drain: the core is being polled.
          const messageId = this.#data.currentId;
          queueMicrotask(() => this.#drive({ type: "data-backed-up", now: now(), participantId: out.from, recipients: backedUp, messageId }));
        }
        break;
      }
    }
  }

  #arm(at: number): void {
    if (this.#closed || at === this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#drive({ type: "timeout", now: now() });
    }, Math.max(0, at - now()));
  }

  // ------------------------------------------------------------------------------------------
  // Connections
  // ------------------------------------------------------------------------------------------

  #addLink(participantId: string): void {
    // The room is asked once, for the log lines: a diagnostic query, not a decision.
    const log = this.#options.log.child({ participantId, room: this.#core.participantRoom(participantId) });
    const session = this.#sessions.get(participantId);
    const link = new ParticipantLink(participantId, log, { ...this.#options, publishOnly: session?.publishOnly, viewOnly: session?.viewOnly }, {
      onRtp: (trackId, layer, packet, codec, audioLevel) => this.#onRtp(participantId, trackId, layer, packet, codec, audioLevel),
      onData: (reliable, frame) => {
        this.#drive(this.#data.input(participantId, reliable, frame, now()));
        this.#data.done();
      },
      onSubscriberOffer: (offerId, sdp, tracks) => this.#sessions.get(participantId)?.send({ type: "subscriber-offer", offerId, sdp, tracks }),
      onSubscriptionReady: (subscriptionId) => this.#drive({ type: "subscription-ready", now: now(), subscriptionId }),
      onBandwidthEstimate: (bitsPerSecond) => this.#drive({ type: "bandwidth-estimate", now: now(), participantId, bitsPerSecond }),
      onTransportFeedback: (packets) => {
        this.media.transportFeedbackFromSubscribers++;
        this.#drive({ type: "transport-feedback", now: now(), participantId, packets });
      },
      onPictureLoss: (subscriptionId) => {
        this.media.plisFromSubscribers++;
        this.#drive({ type: "picture-loss", now: now(), subscriptionId });
      },
      onNackFromSubscriber: (subscriptionId, seqs) => {
        this.media.nacksFromSubscribers++;
        this.#drive({ type: "nack", now: now(), subscriptionId, seqs });
      },
      onRoundTrip: (rttMs) => this.#drive({ type: "round-trip-time", now: now(), participantId, rttMs }),
      onTransportFeedbackToPublisher: () => this.media.transportFeedbackToPublishers++,
      onArrivalsFromPublisher: (packets) => this.#drive({ type: "publisher-arrivals", now: now(), participantId, packets }),
      onSubscriberFailure: (message) => {
        this.#options.log.warn({ participantId, message }, "subscriber negotiation failed");
        this.#drive({ type: "negotiation-failed", now: now(), participantId, requestId: undefined, code: "internal", message });
      },
      onLost: (reason) => {
        this.#options.log.info({ participantId, reason }, "media connection lost");
        this.#drive({ type: "media-lost", now: now(), participantId, reason });
      },
    });
    this.#links.set(participantId, link);
    log.info("participant joined");
  }

  /** The session minted as `sessionId` is participant `participantId`'s now; one it replaced is closed. */
  #rebind(sessionId: string, participantId: string): void {
    const session = this.#sessions.get(sessionId);
    const replaced = this.#sessions.get(participantId);
    this.#sessions.delete(sessionId);
    if (session === undefined) {
      // Closed before its resume was drained: the participant has no session, so is away again.
      queueMicrotask(() => this.#drive({ type: "session-closed", now: now(), participantId }));
      return;
    }
    this.#sessions.set(participantId, session);
    session.bind(participantId);
    if (replaced !== undefined && replaced !== session) replaced.close("replaced by a resumed session");
  }

  /** Answers an allowed publish offer, then tells the core how it went. */
  #negotiatePublish(out: NegotiatePublishOutput): void {
    const { participantId, requestId } = out;
    const link = this.#links.get(participantId);
    if (!link) {
      // Admitted without connections (setting them up failed): the offer still gets its one reply.
      queueMicrotask(() => this.#drive({ type: "negotiation-failed", now: now(), participantId, requestId, code: "internal", message: "the relay has no connection for you; leave and join again" }));
      return;
    }
    const publisher = link.publisherConnection();
    const done = publisher.answer(out.sdp, out.tracks).then(
      (answer) => {
        if (link.closed) return; // left while negotiating: the core forgot the offer with them
        this.#drive({ type: "publish-negotiated", now: now(), participantId, requestId, sdp: answer.sdp, tracks: answer.tracks });
      },
      (e: Error) => {
        if (link.closed) return;
        link.dropUnusedPublisher();
        const code = e instanceof SdpError ? "bad-sdp" : "internal";
        this.#drive({ type: "negotiation-failed", now: now(), participantId, requestId, code, message: e.message });
      },
    );
    this.#track(participantId, done);
  }

  /**
   * An allowed ICE restart: the publisher connection answers its restart offer (when one came), the
   * subscriber connection offers with fresh credentials, then the core hears how it went. The session
   * waits for it like for a publish. Without an offer only the subscriber connection restarts: a client
   * may hold no usable publisher connection although the relay has one (its first publish was answered
   * while it was away, and it rolled back), and its media must still come back.
   */
  #restartIce(out: RestartIceOutput): void {
    const { participantId, requestId, sdp } = out;
    const fail = (code: "bad-sdp" | "internal", message: string) => this.#drive({ type: "negotiation-failed", now: now(), participantId, requestId, code, message });
    const link = this.#links.get(participantId);
    if (!link) {
      queueMicrotask(() => fail("internal", "the relay has no connection for you; leave and join again"));
      return;
    }
    const publisher = link.publisher;
    const done = (async () => {
      if (publisher === undefined && sdp !== undefined) throw new SdpError('you have not published, so there is no publisher connection to restart: send "restart-ice" without sdp');
      const answer = publisher === undefined || sdp === undefined ? undefined : (await publisher.answer(sdp, [])).sdp;
      link.subscriber?.restartIce();
      link.restarting();
      return answer;
    })().then(
      (answer) => {
        if (!link.closed) this.#drive({ type: "ice-restarted", now: now(), participantId, requestId, sdp: answer });
      },
      (e: Error) => {
        if (!link.closed) fail(e instanceof SdpError ? "bad-sdp" : "internal", e.message);
      },
    );
    this.#track(participantId, done);
  }

  /** The session waits for this negotiation before its next message. */
  #track(participantId: string, done: Promise<void>): void {
    const tracked = done.finally(() => {
      if (this.#negotiations.get(participantId) === tracked) this.#negotiations.delete(participantId);
    });
    this.#negotiations.set(participantId, tracked);
  }

  async #applySubscriberAnswer(participantId: string, offerId: number, sdp: string): Promise<void> {
    const link = this.#links.get(participantId);
    const fail = (code: "stale-offer" | "bad-sdp", message: string) =>
      this.#drive({ type: "negotiation-failed", now: now(), participantId, requestId: undefined, code, message });
    // Not joined (the core answers not-joined), or publish-only: no offer went to them.
    if (!link?.subscriber) return fail("stale-offer", `no subscriber offer ${offerId} was sent to you`);
    try {
      await link.subscriber.handleAnswer(offerId, sdp);
    } catch (e) {
      if (link.closed) return;
      if (e instanceof StaleAnswerError) fail("stale-offer", e.message);
      else fail("bad-sdp", `the subscriber answer could not be applied: ${(e as Error).message}`);
    }
  }

  /** The packet's header facts (and its payload's: keyframe, VP8 frame numbering) into the one reused input. */
  #onRtp(publisherId: string, trackId: string, layer: number, packet: RtpPacket, codec: string, audioLevel: number): void {
    const input = this.#rtpInput;
    input.audioLevel = audioLevel < 0 ? -1 : audioLevel & 0x7f;
    input.now = now();
    input.publisherId = publisherId;
    input.trackId = trackId;
    input.layer = layer;
    input.seq = packet.header.sequenceNumber;
    input.timestamp = packet.header.timestamp;
    input.marker = packet.header.marker;
    input.keyframe = isKeyframeStart(codec, packet.payload);
    readVp8PictureFields(codec, packet.payload, input);
    input.size = packet.payload.length;
    const kind = kindOfCodec(codec);
    if (kind === "video") this.#store.put(trackId, layer, packet);
    const count = this.media.in[kind];
    count.packets++;
    count.bytes += input.size;
    this.#packet = packet;
    this.#packetKind = kind;
    this.#packetAudioLevel = audioLevel;
    this.#packetRed = codec === RED_MIME;
    try {
      this.#drive(input);
    } finally {
      this.#packet = undefined;
    }
  }
}

function hiddenAccess(access: JoinAccess): JoinAccess {
  return "granted" in access ? { granted: { ...access.granted, hidden: true } } : access;
}

function now(): number {
  return performance.now();
}
