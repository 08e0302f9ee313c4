/**
 * One session in a room: the signaling WebSocket, the publisher and subscriber peer connections and
 * the data channels, with every listener on them. `Room.connect()` makes one; a rejoin makes another
 * for the same Room, and what outlives a session (the local participant, its captures and device
 * choice) stays in the Room.
 *
 * A session can lose its signaling (the WebSocket dropped) or its media path (a peer connection
 * failed). It is then *lost*, not closed: the peer connections, the received tracks and the data
 * channels are kept, reliable data is held, and the Room's reconnector either resumes it (resume():
 * a new SignalClient under the same peer connections, ICE restarted when the media path is down) or
 * replaces it by a new session (a rejoin) and closes this one.
 *
 * Every ending goes through #close(): the user's disconnect, a refused or failed join, the relay's
 * policy close, the Room replacing it or giving up. It closes everything and tells the Room, once.
 * Whatever the closed objects still report afterwards is dropped because this connection is closed.
 */
import { withoutRed } from "./plain-audio.ts";
import type { JoinedMessage, ResumedMessage, ResumeGrant } from "@sfu-room/protocol";
import { joinError, RoomError } from "./errors.ts";
import { peerConfiguration } from "./ice-config.ts";
import { IceRestarter } from "./ice-restarter.ts";
import { PublisherTransport } from "./publisher-transport.ts";
import type { RemoteParticipant } from "./remote.ts";
import { type DataEvent, RoomData } from "./room-data.ts";
import { RelayRequestError, SignalClient, type SignalEvent } from "./signal-client.ts";
import { type ReceivedTrack, SubscriberTransport } from "./subscriber-transport.ts";
import type { FrameEncryption } from "./e2ee/frame-encryption.ts";

/** How a connection ended. Before the relay's `joined`, any end but the user's disconnect is "join-failed". */
export type ConnectionEnd =
  | { reason: "client" }
  | { reason: "connection-lost" | "kicked"; error: RoomError }
  | { reason: "join-failed"; error: RoomError };

/** What was lost: the signaling WebSocket, or the media path (a peer connection failed). */
export type LossReason = "signaling-lost" | "media-failed";


/** What the Room hears from its connection (never after `onClosed`). */
export interface ConnectionHost {
  readonly participants: ReadonlyMap<string, RemoteParticipant>;
  localId(): string;
  /** The relay accepted the join: who is there. */
  onJoined(joined: JoinedMessage): void;
  /** A relay message about the room (subscriber offers are answered here). */
  onMessage(message: Exclude<SignalEvent, { type: "subscriber-offer" }>): void;
  onReceived(received: ReceivedTrack): void;
  onReceiveEnded(received: ReceivedTrack): void;
  /** A peer connection lost its network path (ICE "disconnected"), or every one has it again. */
  onInterrupted(interrupted: boolean): void;
  /** The session is lost (see the file comment): the Room resumes it, replaces it or closes it. */
  onLost(reason: LossReason, error: RoomError): void;
  onData(event: DataEvent): void;
  onError(error: RoomError): void;
  /** Everything is closed. */
  onClosed(end: ConnectionEnd): void;
}

export interface JoinRequest {
  serverUrl: string;
  room: string;
  name: string;
  token?: string;
  autoSubscribe: boolean;
  rtcConfig: RTCConfiguration;
  connectTimeoutMs?: number;
  /** End-to-end encryption of every sender and receiver of the session (the Room's, it outlives sessions). */
  encryption?: FrameEncryption | undefined;
  /** Joining again after losing this session: its id and secret (the relay removes it if it still holds it). */
  rejoinOf?: { participantId: string; secret: string };
}

/** The relay no longer has this session (window passed, relay restarted): only a rejoin helps. */
export class ResumeRefusedError extends Error {
  override readonly name = "ResumeRefusedError";
}

export class RoomConnection {
  readonly #host: ConnectionHost;
  #request: JoinRequest | undefined;
  #signal: SignalClient | undefined;
  #publisher: PublisherTransport | undefined;
  #subscriber: SubscriberTransport | undefined;
  #data: RoomData | undefined;
  #joined: { participantId: string; grant: ResumeGrant } | undefined;
  /** When the session was lost (performance.now()), while it is. */
  #lostAt: number | undefined;
  #resumeRefused = false;
  readonly #ice: IceRestarter;
  #end: ConnectionEnd | undefined;
  #leaving: Promise<void> = Promise.resolve();

  constructor(host: ConnectionHost) {
    this.#host = host;
    this.#ice = new IceRestarter({
      usableSignal: () => (this.#joined && !this.lost && !this.closed ? this.#signal : undefined),
      publisher: () => this.#publisher,
      peerConnections: () => [this.#publisher?.pc, this.#subscriber?.pc],
      noRecovery: () => {
        // The relay kept the session but the path does not come back: resuming again would not help.
        this.#resumeRefused = true;
        this.#lose("media-failed", new RoomError("connection-lost", "The media connection to the relay did not come back after an ICE restart."));
      },
      signalSilent: () => this.#lose("signaling-lost", new RoomError("connection-lost", "The relay stopped answering (the network changed?).")),
    });
  }

  get closed(): boolean {
    return this.#end !== undefined;
  }

  get lost(): boolean {
    return this.#lostAt !== undefined;
  }

  /** The signaling client in use now (a closed one while lost). */
  get signal(): SignalClient | undefined {
    return this.#signal;
  }

  /** Exists once the signaling WebSocket is open. */
  get data(): RoomData | undefined {
    return this.#data;
  }

  get peerConnections(): { publisher: RTCPeerConnection | undefined; subscriber: RTCPeerConnection | undefined } {
    return { publisher: this.#publisher?.pc, subscriber: this.#subscriber?.pc };
  }

  /** What a rejoin names to replace this session (the relay may still hold it); undefined before `joined`. */
  get rejoinGrant(): { participantId: string; secret: string } | undefined {
    const joined = this.#joined;
    return joined && { participantId: joined.participantId, secret: joined.grant.secret };
  }

  /** Whether resume() may succeed: lost within the relay's resume window, and not refused yet. */
  get resumable(): boolean {
    const grant = this.#joined?.grant;
    if (!grant || this.#lostAt === undefined || this.#resumeRefused || this.closed) return false;
    return grant.windowMs > 0 && performance.now() - this.#lostAt < grant.windowMs;
  }

  /** The media received for a track, if it arrived (possibly before the track's `track-published`, docs/protocol.md 6.4). */
  received(trackId: string): ReceivedTrack | undefined {
    return this.#subscriber?.received(trackId);
  }

  /**
   * Opens the WebSocket, sends `join` and sets up both peer connections; resolves once joined (after
   * `onJoined`) with what publishing needs. Rejects with the RoomError that ended the attempt, the
   * connection then closed.
   */
  async join(request: JoinRequest): Promise<{ publisher: PublisherTransport }> {
    try {
      return await this.#join(request);
    } catch (e) {
      const error = e instanceof RelayRequestError ? joinError(e.error.code, e.error.message, request.room) : e;
      this.#close({ reason: "join-failed", error: error instanceof RoomError ? error : new RoomError("join-failed", String(error), undefined, { cause: error }) });
      const end = this.#end!;
      throw end.reason === "client" ? new RoomError("join-failed", "connect() was cancelled by disconnect().") : end.error;
    }
  }

  /**
   * Takes the lost session back on a new WebSocket: `resume`, then the new signaling client under the
   * kept peer connections, fresh ICE servers, and an ICE restart when the media path is down or the
   * network changed. Resolves with the relay's snapshot of the room; rejects with ResumeRefusedError
   * when the relay no longer has the session, or with the RoomError of a failed attempt (unreachable).
   */
  async resume(timeoutMs: number): Promise<ResumedMessage> {
    const request = this.#request!;
    const joined = this.#joined!;
    const signal = await SignalClient.connect(request.serverUrl, timeoutMs);
    if (this.closed || !this.lost) {
      signal.drop();
      throw new RoomError("not-connected", "The session ended while resuming.");
    }
    let resumed: ResumedMessage;
    try {
      resumed = await signal.request({ type: "resume", room: request.room, participantId: joined.participantId, secret: joined.grant.secret }, timeoutMs);
    } catch (e) {
      signal.drop();
      // Removed for good while away: joining again would undo it, so the session ends as kicked.
      if (e instanceof RelayRequestError && e.error.code === "removed") {
        const kicked = new RoomError("kicked", `The relay ended your session (${e.error.message}).`);
        this.#close({ reason: "kicked", error: kicked });
        throw kicked;
      }
      // resume-refused, or any other refusal (a relay that does not know `resume`): only a rejoin helps.
      if (e instanceof RelayRequestError) {
        this.#resumeRefused = true;
        throw new ResumeRefusedError(e.error.message);
      }
      throw e;
    }
    if (this.closed) {
      // Disconnected while the resume was answered: the relay holds the session again, so leave it.
      void signal.close();
      throw new RoomError("not-connected", "The session ended while resuming.");
    }
    this.#useSignal(signal);
    this.#joined = { participantId: joined.participantId, grant: resumed.resume };
    this.#lostAt = undefined;
    const config = peerConfiguration(request.rtcConfig, resumed.iceServers);
    this.#publisher?.setConfiguration(config);
    this.#subscriber?.setConfiguration(config);
    this.#data?.channels.release();
    this.#ice.resumed();
    return resumed;
  }

  /**
   * The user's disconnect: closes everything; resolves once `leave` went out (or could not). A lost
   * session the relay may still hold is taken back briefly just to leave it, so the others see the
   * participant go now rather than at the end of the resume window.
   */
  close(): Promise<void> {
    const held = this.resumable ? { request: this.#request!, joined: this.#joined! } : undefined;
    this.#close({ reason: "client" });
    if (held) this.#leaving = leaveHeld(held.request.serverUrl, held.request.room, held.joined.participantId, held.joined.grant.secret);
    return this.#leaving;
  }

  /** A rejoin replaced this session: close it; reliable data it held is rejected as not delivered. */
  replace(): void {
    this.#close(
      { reason: "client" },
      new RoomError("data-not-delivered", "The room rejoined while this message waited to be sent; it was not sent. Send it again if it still matters."),
    );
  }

  /** Reconnecting gave up (or is off): the session ends with `error`. */
  abort(error: RoomError): void {
    this.#close({ reason: "connection-lost", error });
  }

  async #join(request: JoinRequest): Promise<{ publisher: PublisherTransport }> {
    this.#request = request;
    const signal = await SignalClient.connect(request.serverUrl, request.connectTimeoutMs);
    // Ended meanwhile: the catch in join() reports how, whatever is thrown here.
    if (this.closed) {
      void signal.close();
      throw new Error("closed");
    }
    this.#useSignal(signal);
    const data = new RoomData({
      participants: this.#host.participants,
      localId: () => this.#host.localId(),
      emit: (event) => this.#unlessClosed(() => this.#host.onData(event)),
    });
    this.#data = data;
    const joined = await signal.request({
      type: "join",
      room: request.room,
      name: request.name,
      autoSubscribe: request.autoSubscribe,
      ...(request.token !== undefined ? { token: request.token } : {}),
      ...(request.rejoinOf !== undefined ? { rejoinOf: request.rejoinOf } : {}),
    }, request.connectTimeoutMs);
    if (this.closed) throw new Error("closed");
    // Set up before this task ends: the relay's first subscriber-offer is the next frame.
    const config = peerConfiguration(request.rtcConfig, joined.iceServers);
    const current = () => this.#signal!;
    this.#subscriber = new SubscriberTransport(current, config, {
      onFirstRemoteDescription: (pc) => data.channels.attach(pc),
      onReceiverListed: (transceiver, { kind, participantId, trackId }) => {
        if (request.encryption === undefined) return;
        request.encryption.protectReceiver(transceiver.receiver, kind, { participantId, trackId });
        if (kind === "audio") withoutRed(transceiver, "receive");
      },
      onAdded: (r) => this.#unlessClosed(() => this.#host.onReceived(r)),
      onRemoved: (r) => this.#unlessClosed(() => this.#host.onReceiveEnded(r)),
      onState: () => this.#onPeerState(),
      onFailure: (e) =>
        this.#unlessClosed(() => this.#host.onError(new RoomError("protocol-error", `Could not answer the relay's offer: ${e.message}`, undefined, { cause: e }))),
    });
    const publisher = new PublisherTransport(current, config, () => this.#onPeerState(), request.encryption);
    this.#publisher = publisher;
    this.#joined = { participantId: joined.participantId, grant: joined.resume };
    this.#host.onJoined(joined);
    return { publisher };
  }

  #useSignal(signal: SignalClient): void {
    this.#signal = signal;
    signal.on("message", (m) => this.#onMessage(m));
    signal.on("close", (c) => this.#onSignalClose(c.code, c.reason, c.requested));
  }

  #onMessage(message: SignalEvent): void {
    if (this.closed) return;
    if (message.type === "subscriber-offer") this.#subscriber?.handleOffer(message);
    else this.#host.onMessage(message);
  }

  #onSignalClose(code: number, reason: string, requested: boolean): void {
    if (requested) return; // our own #close or drop()
    const why = reason ? ` (${reason})` : "";
    // 1008 and 4xxx are the relay's policy closes: it ended the session on purpose.
    if (code === 1008 || (code >= 4000 && code < 5000)) {
      this.#close({ reason: "kicked", error: new RoomError("kicked", `The relay ended your session${why}.`) });
    } else {
      this.#lose("signaling-lost", new RoomError("connection-lost", `The connection to the relay was lost${why}.`));
    }
  }

  #onPeerState(): void {
    if (this.closed) return;
    const pcs = [this.#publisher?.pc, this.#subscriber?.pc];
    if (pcs.some((pc) => pc?.connectionState === "failed")) {
      this.#lose("media-failed", new RoomError("connection-lost", "The media connection to the relay failed."));
      return;
    }
    this.#ice.peerStateChanged();
    if (!this.lost) this.#host.onInterrupted(pcs.some((pc) => pc?.connectionState === "disconnected"));
  }

  /** Before `joined` a loss is a failed join; after it, the session is kept for the Room to take back. */
  #lose(reason: LossReason, error: RoomError): void {
    if (this.closed || this.lost) return;
    if (!this.#joined) {
      this.#close({ reason: "join-failed", error });
      return;
    }
    this.#lostAt = performance.now();
    // A failed media path with signaling up: drop the WebSocket too, so the resume (new WebSocket,
    // ICE restart) is the one way back.
    this.#signal?.drop();
    this.#data?.channels.hold();
    if (reason === "media-failed") this.#ice.want();
    this.#host.onLost(reason, error);
  }

  #close(end: ConnectionEnd, heldDataError?: RoomError): void {
    if (this.closed) return;
    this.#end = end.reason === "client" || this.#joined ? end : { reason: "join-failed", error: end.error };
    this.#ice.close();
    this.#publisher?.close();
    this.#subscriber?.close();
    this.#data?.close(heldDataError);
    this.#leaving = this.#signal?.close() ?? Promise.resolve();
    this.#host.onClosed(this.#end);
  }

  #unlessClosed(report: () => void): void {
    if (!this.closed) report();
  }
}

/** How long a disconnect spends taking a lost session back to leave it (per step: socket, resume). */
const LEAVE_HELD_TIMEOUT_MS = 5_000;

/** Resumes a lost session on a new WebSocket only to `leave` it; gives up quietly (the window ends it then). */
async function leaveHeld(serverUrl: string, room: string, participantId: string, secret: string): Promise<void> {
  const signal = await SignalClient.connect(serverUrl, LEAVE_HELD_TIMEOUT_MS).catch(() => undefined);
  if (!signal) return;
  try {
    await signal.request({ type: "resume", room, participantId, secret }, LEAVE_HELD_TIMEOUT_MS);
    await signal.close();
  } catch {
    signal.drop();
  }
}
