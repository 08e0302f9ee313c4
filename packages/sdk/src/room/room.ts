/**
 * The headless Room: the remote participants and this client's own media, kept in sync with the relay
 * through one RoomConnection per connect() (the WebSocket and the two peer connections). UI-free; the
 * <sfu-room> element is built on it.
 *
 *   const room = new Room();
 *   room.on("track-subscribed", ({ track }) => attach(track.mediaStreamTrack));
 *   await room.connect("ws://127.0.0.1:7880/ws", "standup", { name: "Ada" });
 */
import { type JoinedMessage, ROOM_NAME_PATTERN } from "@sfu-room/protocol";
import { Emitter } from "./emitter.ts";
import { RoomError } from "./errors.ts";
import { captureOptions, type ConnectOptions } from "./connect-options.ts";
import type { LocalSource } from "./local-media.ts";
import { LocalParticipant } from "./local-participant.ts";
import type { RemoteParticipant } from "./remote.ts";
import { RemoteRoster } from "./remote-roster.ts";
import { type ConnectionEnd, type ConnectionHost, RoomConnection } from "./room-connection.ts";
import { DATA_ID_PREFIX, type SendOptions, type SendResult } from "./room-data.ts";
import type { ConnectionState, RoomEvents } from "./room-events.ts";
import type { SignalClient, SignalEvent } from "./signal-client.ts";
import type { SubscriptionSettings } from "./view-settings.ts";

export class Room extends Emitter<RoomEvents> {
  state: ConnectionState = "disconnected";
  roomName = "";
  serverUrl = "";
  readonly #roster = new RemoteRoster({
    localId: () => this.local.id,
    emit: (type, payload) => this.emit(type, payload),
    received: (trackId) => this.#connection?.received(trackId),
    sendSettings: (trackId, settings) => this.setSubscriptionSettings(trackId, settings),
  });
  /** Everyone else, as last known. */
  readonly participants: Map<string, RemoteParticipant> = this.#roster.participants;
  /** This client, for the Room's whole life: pages may keep it and its listeners across connects. */
  readonly local = new LocalParticipant();
  /** The current attempt; undefined while disconnected. */
  #connection: RoomConnection | undefined;
  readonly #host: ConnectionHost = {
    participants: this.participants,
    localId: () => this.local.id,
    onJoined: (joined) => this.#onJoined(joined),
    onMessage: (message) => this.#onMessage(message),
    onReceived: (received) => this.#roster.received(received),
    onReceiveEnded: (received) => this.#roster.receiveEnded(received),
    onInterrupted: (interrupted) => {
      if (this.state !== "connecting") this.#setState(interrupted ? "interrupted" : "connected");
    },
    onData: (event) => this.emit("data", event),
    onError: (error) => this.#reportError(error),
    onClosed: (end) => this.#onClosed(end),
  };

  constructor() {
    super();
    this.local.on("track-published", (track) => this.emit("local-track-published", { track }));
    this.local.on("track-unpublished", (track) => this.emit("local-track-unpublished", { track }));
    this.local.on("track-updated", (track) => this.emit("local-track-updated", { track }));
  }

  /** Joins `roomName` on the relay at `serverUrl` and publishes the camera and microphone (unless turned off). */
  async connect(serverUrl: string, roomName: string, options: ConnectOptions): Promise<void> {
    if (this.#connection) throw new RoomError("join-failed", "This room is already connected; call disconnect() first.");
    if (!ROOM_NAME_PATTERN.test(roomName)) {
      const error = new RoomError("bad-room-name", `"${roomName}" is not a valid room name: use 1-64 letters, digits, - _ or . (not starting with .).`);
      this.#reportError(error);
      throw error;
    }
    performance.mark?.("sfu-room:connect");
    this.serverUrl = serverUrl;
    this.roomName = roomName;
    this.local.prepare(options.name, captureOptions(options));
    const connection = new RoomConnection(this.#host);
    this.#connection = connection;
    this.#setState("connecting");
    // Capture while the WebSocket opens and the relay answers: the permission prompt overlaps the join.
    const captured = this.local.captureForJoin(() => connection.closed);
    const { signal, publisher } = await connection.join({
      serverUrl,
      room: roomName,
      name: options.name,
      token: options.token,
      autoSubscribe: options.autoSubscribe ?? true,
      rtcConfig: options.rtcConfig ?? {},
      connectTimeoutMs: options.connectTimeoutMs,
    });
    const errors = await captured;
    if (connection.closed) return;
    for (const error of errors) this.#reportError(error);
    try {
      await this.local.attach(signal, publisher);
    } catch (e) {
      if (!connection.closed) this.#reportError(e instanceof RoomError ? e : new RoomError("publish-failed", String(e)));
    }
  }

  /** Leaves the room: tells the relay, closes both connections and stops every capture. */
  async disconnect(): Promise<void> {
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

  #onJoined(joined: JoinedMessage): void {
    this.local.id = joined.participantId;
    for (const info of joined.participants) this.#roster.join(info, false);
    this.#setState("connected");
  }

  /** The one place a connection's end lands: its media is gone, the Room is disconnected. */
  #onClosed(end: ConnectionEnd): void {
    this.#connection = undefined;
    this.#roster.clear();
    this.local.detach();
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
      case "participant-left":
        this.#roster.leave(message.participantId);
        this.#connection?.data?.forget(message.participantId);
        break;
      case "track-published":
        this.#roster.publish(message.track, true);
        break;
      case "track-unpublished":
        this.#roster.unpublish(message.participantId, message.trackId);
        break;
      case "track-muted":
        this.#roster.mute(message.participantId, message.trackId, message.muted);
        break;
      case "layers-wanted":
        void this.local.setLayersWanted(message.trackId, message.rids).catch(() => undefined);
        break;
      case "error":
        this.#reportError(relayError(message));
        break;
    }
  }
}

const DATA_CODES: ReadonlySet<string> = new Set(["data-too-large", "unknown-participant", "bad-data"]);

/** An `error` from the relay that answers no request: about a data message, or something else. */
function relayError(message: Extract<SignalEvent, { type: "error" }>): RoomError {
  const aboutData = DATA_CODES.has(message.code) || (message.id?.startsWith(DATA_ID_PREFIX) ?? false);
  if (aboutData) return new RoomError("data-refused", `The relay did not deliver a data message (${message.code}): ${message.message}`, message.code);
  return new RoomError("protocol-error", `The relay reported: ${message.message}`, message.code);
}
