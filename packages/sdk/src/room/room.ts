/**
 * The headless Room: the remote participants and this client's own media, kept in sync with the relay
 * through a RoomConnection (the WebSocket and the two peer connections). UI-free; the <sfu-room>
 * element is built on it. When the connection is lost the Room gets back in by itself (resume, else
 * rejoin: a new RoomConnection for the same Room), with the Reconnector's back-off.
 *
 *   const room = new Room();
 *   room.on("track-subscribed", ({ track }) => attach(track.mediaStreamTrack));
 *   await room.connect("ws://127.0.0.1:7880/ws", "standup", { name: "Ada" });
 */
import { type JoinedMessage, type ResumedMessage, ROOM_NAME_PATTERN } from "@sfu-room/protocol";
import { Emitter } from "./emitter.ts";
import { FINAL_REFUSALS, reconnectFailed, RoomError } from "./errors.ts";
import { captureOptions, type ConnectOptions } from "./connect-options.ts";
import type { LocalSource } from "./local-media.ts";
import { LocalParticipant } from "./local-participant.ts";
import type { RemoteParticipant } from "./remote.ts";
import { ActiveSpeakers, type SpeakingParticipant } from "./active-speakers.ts";
import { RemoteRoster } from "./remote-roster.ts";
import { Reconnector, DEFAULT_RECONNECT_TIMEOUT_MS } from "./reconnector.ts";
import { type ConnectionEnd, type ConnectionHost, type JoinRequest, type LossReason, ResumeRefusedError, RoomConnection } from "./room-connection.ts";
import { DATA_ID_PREFIX, type SendOptions, type SendResult } from "./room-data.ts";
import type { ConnectionState, RoomEvents } from "./room-events.ts";
import type { PublisherTransport } from "./publisher-transport.ts";
import { RelayRequestError, type SignalClient, type SignalEvent } from "./signal-client.ts";
import type { SubscriptionSettings } from "./view-settings.ts";
import { FrameEncryption } from "./e2ee/frame-encryption.ts";
import { applyQualities, resetQualities } from "./connection-quality.ts";

export class Room extends Emitter<RoomEvents> {
  state: ConnectionState = "disconnected";
  roomName = "";
  serverUrl = "";
  readonly #roster = new RemoteRoster({
    localId: () => this.local.id,
    emit: (type, payload) => this.emit(type, payload),
    received: (trackId) => this.#connection?.received(trackId),
    sendSettings: (trackId, settings) => this.setSubscriptionSettings(trackId, settings),
    adaptiveStream: () => this.#adaptiveStream,
    // Partial data messages from them will never be completed.
    left: (participantId) => this.#connection?.data?.forget(participantId),
  });
  /** Everyone else, as last known. */
  readonly participants: Map<string, RemoteParticipant> = this.#roster.participants;
  /** This client, for the Room's whole life: pages may keep it and its listeners across connects. */
  readonly local = new LocalParticipant();
  readonly #speakers = new ActiveSpeakers();

  /** Who speaks now as the relay decided, dominant first (this client included when it speaks). */
  get activeSpeakers(): SpeakingParticipant[] {
    return [...this.#speakers.speakers];
  }
  /** The current session (possibly lost, while reconnecting); undefined while disconnected. */
  #connection: RoomConnection | undefined;
  /** A rejoin's new session until its `joined` (then it becomes #connection). */
  #joining: RoomConnection | undefined;
  #reconnector: Reconnector | undefined;
  /** What connect() was called with, for rejoins. */
  #request: JoinRequest | undefined;
  #reconnectTimeoutMs = DEFAULT_RECONNECT_TIMEOUT_MS;
  /** End-to-end encryption of this connect's sessions (connect() with `e2ee`), until disconnected. */
  #encryption: FrameEncryption | undefined;
  #adaptiveStream = true;

  constructor() {
    super();
    this.local.on("track-published", (track) => this.emit("local-track-published", { track }));
    this.local.on("track-unpublished", (track) => this.emit("local-track-unpublished", { track }));
    this.local.on("track-updated", (track) => this.emit("local-track-updated", { track }));
    this.local.on("updated", () => this.emit("local-participant-updated", { participant: this.local }));
  }

  /** Joins `roomName` on the relay at `serverUrl` and publishes the camera and microphone (unless turned off). */
  async connect(serverUrl: string, roomName: string, options: ConnectOptions): Promise<void> {
    if (this.#connection) throw new RoomError("join-failed", "This room is already connected; call disconnect() first.");
    if (!ROOM_NAME_PATTERN.test(roomName)) {
      const error = new RoomError("bad-room-name", `"${roomName}" is not a valid room name: use 1-64 letters, digits, - _ or . (not starting with .).`);
      this.#reportError(error);
      throw error;
    }
    if (options.e2ee) {
      try {
        this.#encryption = new FrameEncryption(options.e2ee.keyProvider);
      } catch (e) {
        if (e instanceof RoomError) this.#reportError(e);
        throw e;
      }
      this.#encryption.on("state", ({ participantId, trackId, state }) => this.emit("e2ee-state-changed", { participantId, trackId, state }));
    }
    performance.mark?.("sfu-room:connect");
    this.serverUrl = serverUrl;
    this.roomName = roomName;
    this.local.prepare(options.name, captureOptions(options));
    this.#reconnectTimeoutMs = options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS;
    this.#adaptiveStream = options.adaptiveStream ?? true;
    this.#request = {
      serverUrl,
      room: roomName,
      name: options.name,
      token: options.token,
      autoSubscribe: options.autoSubscribe ?? true,
      rtcConfig: options.rtcConfig ?? {},
      connectTimeoutMs: options.connectTimeoutMs,
      encryption: this.#encryption,
    };
    const connection = this.#newConnection();
    this.#connection = connection;
    this.#setState("connecting");
    // Capture while the WebSocket opens and the relay answers: the permission prompt overlaps the join.
    const captured = this.local.captureForJoin(() => connection.closed);
    const { publisher } = await connection.join(this.#request);
    const errors = await captured;
    if (connection.closed) return;
    for (const error of errors) this.#reportError(error);
    // Lost and rejoined meanwhile: the rejoin published.
    if (connection === this.#connection) await this.#publish(connection, publisher);
  }

  /** Leaves the room: tells the relay, closes both connections and stops every capture (also while reconnecting). */
  async disconnect(): Promise<void> {
    this.#reconnector?.cancel();
    this.#reconnector = undefined;
    const joining = this.#joining;
    this.#joining = undefined;
    void joining?.close();
    await this.#connection?.close();
  }

  // --- local media (see LocalParticipant for the semantics) ---

  setCameraEnabled(enabled: boolean): Promise<void> {
    return this.#reporting(this.local.setCameraEnabled(enabled));
  }

  setMicrophoneEnabled(enabled: boolean): Promise<void> {
    return this.#reporting(this.local.setMicrophoneEnabled(enabled));
  }

  setScreenShareEnabled(enabled: boolean): Promise<void> {
    return this.#reporting(this.local.setScreenShareEnabled(enabled));
  }

  /** Uses another camera or microphone: at once when capturing, else for the next capture (also connect()'s). */
  switchDevice(kind: "videoinput" | "audioinput", deviceId: string): Promise<void> {
    return this.#reporting(this.local.switchDevice(kind, deviceId));
  }

  unpublish(source: LocalSource): Promise<void> {
    return this.#reporting(this.local.unpublish(source));
  }

  // --- data ---

  /**
   * Sends a data message to everyone else in the room, or to the participants listed in `to`.
   * Resolves once the message is handed to the data channel ("dropped": a lossy message not sent because
   * the lossy channel is backed up). Rejects with a RoomError: `not-connected`, `data-too-large` (over
   * 1 MiB, or over one frame when lossy), `data-channel-closed`, `unknown-participant`, `invalid-message`.
   * Refusals by the relay after sending arrive as `error` events with code `data-refused`.
   */
  async send(data: string | ArrayBuffer | Uint8Array, options: SendOptions = {}): Promise<SendResult> {
    const channels = this.#connection?.data;
    if (!channels) throw new RoomError("not-connected", "The room is not connected: join before sending data.");
    return channels.send(data, options);
  }

  // --- remote media ---

  /** Starts or stops receiving one remote track (a `subscriber-offer` follows). */
  async setSubscribed(trackId: string, subscribed: boolean): Promise<void> {
    await this.#signal().request({ type: "subscribe", trackId, subscribe: subscribed });
  }

  /**
   * Tells the relay how a received video track is shown, so it can pick the simulcast layer: the tile's
   * size in device pixels, whether it is visible (hidden tiles are paused), or a pinned quality.
   */
  async setSubscriptionSettings(trackId: string, settings: SubscriptionSettings): Promise<void> {
    await this.#signal().request({ type: "subscription-settings", trackId, ...settings });
  }

  /** Asks the publisher of a received video track for a keyframe. */
  async requestKeyframe(trackId: string): Promise<void> {
    await this.#signal().request({ type: "request-keyframe", trackId });
  }

  /**
   * Hands the relay a new access token for this session, before the one it joined with expires (same
   * identity and room; its grants apply from now on). A rejoin after a lost connection uses it too.
   * Rejects with a RoomError: `unauthorized` (the relay's message says why; the session goes on with
   * the grants it had), `not-connected`.
   */
  async refreshToken(token: string): Promise<void> {
    try {
      await this.#signal().request({ type: "refresh-token", token });
    } catch (e) {
      if (e instanceof RelayRequestError) throw new RoomError("unauthorized", `The relay refused the new token: ${e.error.message}`, e.error.code);
      throw e;
    }
    if (this.#request) this.#request = { ...this.#request, token };
  }

  /** The two peer connections, for statistics and diagnostics. */
  get peerConnections(): { publisher: RTCPeerConnection | undefined; subscriber: RTCPeerConnection | undefined } {
    return this.#connection?.peerConnections ?? { publisher: undefined, subscriber: undefined };
  }

  // --- internals ---

  #signal(): SignalClient {
    const signal = this.#connection?.signal;
    if (!signal?.open) throw new RoomError("not-connected", "The room is not connected.");
    return signal;
  }

  async #reporting(operation: Promise<void>): Promise<void> {
    try {
      await operation;
    } catch (e) {
      const error = e instanceof RoomError ? e : new RoomError("protocol-error", e instanceof Error ? e.message : String(e), undefined, { cause: e });
      this.#reportError(error);
      throw error;
    }
  }

  #reportError(error: RoomError): void {
    this.emit("error", error);
  }

  #setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit("connection-state", { state });
  }

  /** A connection whose reports the Room takes while it is the current one (or the rejoin's, for its `joined`). */
  #newConnection(): RoomConnection {
    const connection: RoomConnection = new RoomConnection(this.#hostFor(() => connection));
    return connection;
  }

  #hostFor(self: () => RoomConnection): ConnectionHost {
    const current = () => self() === this.#connection;
    return {
      participants: this.participants,
      localId: () => this.local.id,
      onJoined: (joined) => {
        if (current() || self() === this.#joining) this.#onJoined(self(), joined);
      },
      onMessage: (message) => current() && this.#onMessage(message),
      onReceived: (received) => current() && this.#roster.received(received),
      onReceiveEnded: (received) => current() && this.#roster.receiveEnded(received),
      onInterrupted: (interrupted) => {
        if (current() && (this.state === "connected" || this.state === "interrupted")) this.#setState(interrupted ? "interrupted" : "connected");
      },
      onLost: (reason, error) => current() && this.#onLost(self(), reason, error),
      onData: (event) => current() && this.emit("data", event),
      onError: (error) => current() && this.#reportError(error),
      onClosed: (end) => {
        if (self() === this.#joining) this.#joining = undefined;
        if (current()) this.#onClosed(end);
      },
    };
  }

  async #publish(connection: RoomConnection, publisher: PublisherTransport): Promise<void> {
    try {
      await this.local.attach(() => connection.signal!, publisher);
    } catch (e) {
      // Lost meanwhile: what could not be published is published once back (reconcile, or the rejoin).
      if (!connection.closed && !connection.lost) this.#reportError(e instanceof RoomError ? e : new RoomError("publish-failed", String(e)));
    }
  }

  #onJoined(connection: RoomConnection, joined: JoinedMessage): void {
    if (connection === this.#connection) {
      this.local.id = joined.participantId;
      for (const info of joined.participants) this.#roster.join(info, false);
    } else {
      // A rejoin: the new session takes over; the old one's media goes, its reports are ignored from now on.
      const old = this.#connection;
      this.#connection = connection;
      this.#joining = undefined;
      old?.replace();
      this.#roster.unbindAll();
      this.local.detachForRejoin();
      this.local.id = joined.participantId;
      this.#relayDecisionsUnknown();
      this.#roster.reconcile(joined.participants);
    }
    this.#setState("connected");
  }

  /** The session is lost: reconnect with back-off (unless turned off), or end it. */
  #onLost(connection: RoomConnection, reason: LossReason, error: RoomError): void {
    if (this.#reconnectTimeoutMs <= 0) {
      connection.abort(new RoomError(error.code, `${error.message} Join again to continue.`));
      return;
    }
    this.#setState("reconnecting");
    const timeoutMs = this.#reconnectTimeoutMs;
    const reconnector: Reconnector = new Reconnector({
      timeoutMs,
      attempt: (_n, remainingMs) => this.#reconnect(reconnector, remainingMs),
      isFinal: (e) => e instanceof RoomError && FINAL_REFUSALS.has(e.code),
      onAttempt: (attempt) => this.emit("reconnecting", { attempt, reason }),
      onGiveUp: (last, attempts) => {
        if (this.#reconnector !== reconnector) return;
        this.#reconnector = undefined;
        this.#connection?.abort(reconnectFailed(last, attempts, timeoutMs));
      },
    });
    this.#reconnector = reconnector;
    reconnector.start();
  }

  /** One attempt: resume the lost session while the relay may still have it, else rejoin. */
  async #reconnect(reconnector: Reconnector, remainingMs: number): Promise<void> {
    const timeoutMs = Math.min(ATTEMPT_TIMEOUT_MS, Math.max(MIN_ATTEMPT_TIMEOUT_MS, remainingMs));
    const connection = this.#connection;
    if (!connection) throw new RoomError("not-connected", "The room disconnected.");
    if (connection.resumable) {
      try {
        const resumed = await connection.resume(timeoutMs);
        if (this.#reconnector === reconnector) this.#onResumed(resumed);
        return;
      } catch (e) {
        if (!(e instanceof ResumeRefusedError)) throw e;
      }
    }
    const next = this.#newConnection();
    this.#joining = next;
    const { publisher } = await next.join({ ...this.#request!, connectTimeoutMs: timeoutMs, rejoinOf: connection.rejoinGrant });
    if (this.#reconnector !== reconnector || next !== this.#connection) return;
    this.#reconnector = undefined;
    await this.#publish(next, publisher);
    // Lost again while publishing: the next recovery reports instead.
    if (next === this.#connection && !next.lost) this.emit("rejoined", { participantId: this.local.id });
  }

  /**
   * Back after a gap (resume, rejoin): changes of the speakers and connection qualities meanwhile were
   * not sent; the relay follows its reply with who speaks now and who is not "good", if anyone.
   */
  #relayDecisionsUnknown(): void {
    for (const change of resetQualities(this.local, this.participants)) this.emit("connection-quality-changed", change);
    if (this.#speakers.speakers.length === 0) return;
    this.#speakers.clear();
    this.emit("active-speakers-changed", { speakers: this.activeSpeakers });
  }

  #onResumed(resumed: ResumedMessage): void {
    this.#reconnector = undefined;
    this.#relayDecisionsUnknown();
    this.#roster.reconcile(resumed.participants);
    this.#setState("connected");
    void this.local.reconcile(resumed.tracks).catch((e: unknown) => {
      this.#reportError(e instanceof RoomError ? e : new RoomError("publish-failed", String(e)));
    });
    this.emit("resumed", {});
  }

  /** The one place a connection's end lands: its media is gone, the Room is disconnected. */
  #onClosed(end: ConnectionEnd): void {
    this.#reconnector?.cancel();
    this.#reconnector = undefined;
    this.#connection = undefined;
    this.#roster.clear();
    this.#speakers.clear();
    this.local.detach();
    this.#encryption?.close();
    this.#encryption = undefined;
    this.#setState("disconnected");
    if (end.reason !== "client") this.#reportError(end.error);
    // A failed join is not a disconnect: connect() rejects with its error instead.
    if (end.reason !== "join-failed") this.emit("disconnected", end);
  }

  #onMessage(message: Exclude<SignalEvent, { type: "subscriber-offer" }>): void {
    switch (message.type) {
      case "participant-joined":
        this.#roster.join(message.participant, true);
        break;
      case "participant-left": {
        const participant = this.participants.get(message.participantId);
        this.#roster.leave(message.participantId);
        if (participant && this.#speakers.forget(participant)) this.emit("active-speakers-changed", { speakers: this.activeSpeakers });
        break;
      }
      case "track-published":
        this.#roster.publish(message.track, true);
        break;
      case "participant-updated":
        if (message.participant.id === this.local.id) this.local.updated(message.participant);
        else this.#roster.update(message.participant);
        break;
      // About your own track: the relay acted on it (the server API muted it; a refreshed token no
      // longer allows its source). The local state follows, as if the user had done it.
      case "track-unpublished":
        if (message.participantId === this.local.id) void this.local.unpublishedByRelay(message.trackId).catch((e) => this.#reportError(e));
        else this.#roster.unpublish(message.participantId, message.trackId);
        break;
      case "track-muted":
        if (message.participantId === this.local.id) void this.local.mutedByRelay(message.trackId, message.muted).catch((e) => this.#reportError(e));
        else this.#roster.mute(message.participantId, message.trackId, message.muted);
        break;
      case "active-speakers":
        if (this.#speakers.apply(message.speakers, this.local, this.participants)) this.emit("active-speakers-changed", { speakers: this.activeSpeakers });
        break;
      case "connection-quality":
        for (const change of applyQualities(message.updates, this.local, this.participants)) this.emit("connection-quality-changed", change);
        break;
      case "layers-wanted":
        void this.local.setLayersWanted(message.trackId, message.rids).catch(() => undefined);
        break;
      case "bandwidth-limit":
        this.#roster.limit(message.trackId, message.limit);
        break;
      case "error":
        this.#reportError(relayError(message));
        break;
    }
  }
}

/** Per reconnect attempt: opening the WebSocket and the relay's answer (capped by the time left). */
const ATTEMPT_TIMEOUT_MS = 10_000;
const MIN_ATTEMPT_TIMEOUT_MS = 2_000;
const DATA_CODES: ReadonlySet<string> = new Set(["data-too-large", "unknown-participant", "bad-data"]);

/** An `error` from the relay that answers no request: about a data message, or something else. */
function relayError(message: Extract<SignalEvent, { type: "error" }>): RoomError {
  const aboutData = DATA_CODES.has(message.code) || (message.id?.startsWith(DATA_ID_PREFIX) ?? false);
  if (aboutData) return new RoomError("data-refused", `The relay did not deliver a data message (${message.code}): ${message.message}`, message.code);
  return new RoomError("protocol-error", `The relay reported: ${message.message}`, message.code);
}
