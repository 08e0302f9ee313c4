/**
 * The headless Room: one signaling session, the two peer connections, the remote participants and
 * this client's own media. UI-free; the <sfu-room> element is built on it.
 *
 *   const room = new Room();
 *   room.on("track-subscribed", ({ track }) => attach(track.mediaStreamTrack));
 *   await room.connect("ws://127.0.0.1:7880/ws", "standup", { name: "Ada" });
 */
import { ROOM_NAME_PATTERN, type ParticipantInfo, type TrackInfo } from "@sfu-room/protocol";
import { Emitter } from "./emitter.ts";
import { joinError, RoomError } from "./errors.ts";
import { captureBoth, type CaptureConstraints, type LocalSource } from "./local-media.ts";
import { LocalParticipant, type LocalTrack } from "./local-participant.ts";
import { PublisherTransport } from "./publisher-transport.ts";
import { RemoteParticipant, RemoteTrack } from "./remote.ts";
import { SIMULCAST_CAPTURE, type SimulcastOptions } from "./simulcast.ts";
import { DATA_ID_PREFIX, type DataEvent, RoomData, type SendOptions, type SendResult } from "./room-data.ts";
import { RelayRequestError, SignalClient, type SignalEvent } from "./signal-client.ts";
import { type ReceivedTrack, SubscriberTransport } from "./subscriber-transport.ts";
import type { SubscriptionSettings } from "./view-settings.ts";

export type ConnectionState = "disconnected" | "connecting" | "connected" | "interrupted";

export interface ConnectOptions {
  /** Display name shown to the others (at most 64 characters). */
  name: string;
  /** Access token for relays that require one. */
  token?: string;
  /** Publish the microphone on connect (default true). Constraints may be given instead of true. */
  audio?: CaptureConstraints;
  /** Publish the camera on connect (default true). */
  video?: CaptureConstraints;
  /**
   * Send the camera as simulcast layers (default false): true for the preset (up to three layers, a
   * quarter, half and full size; the camera is then captured at 1280x720 unless `video` says otherwise),
   * or `{ layers, maxBitrates }` to choose. See docs/quality.md.
   */
  simulcast?: boolean | SimulcastOptions;
  /** Receive everyone's tracks automatically (default true). */
  autoSubscribe?: boolean;
  /** Extra RTCPeerConnection configuration, e.g. your own TURN server. */
  rtcConfig?: RTCConfiguration;
  /** Give up opening the WebSocket after this many ms (default 10000). */
  connectTimeoutMs?: number;
}

export type DisconnectReason = "client" | "connection-lost" | "kicked" | "error";

export interface ParticipantEvent {
  participant: RemoteParticipant;
}
export interface TrackEvent {
  participant: RemoteParticipant;
  track: RemoteTrack;
}

export interface RoomEvents {
  "connection-state": { state: ConnectionState };
  "participant-joined": ParticipantEvent;
  "participant-left": ParticipantEvent;
  "track-published": TrackEvent;
  "track-unpublished": TrackEvent;
  /** Media of a remote track arrived: `track.mediaStreamTrack` is set. */
  "track-subscribed": TrackEvent;
  "track-unsubscribed": TrackEvent;
  "track-muted": TrackEvent;
  "track-unmuted": TrackEvent;
  "local-track-published": { track: LocalTrack };
  "local-track-unpublished": { track: LocalTrack };
  "local-track-updated": { track: LocalTrack };
  /** A data message from another participant (see send()). */
  data: DataEvent;
  /** Something went wrong; the room may still be connected (e.g. camera denied). */
  error: RoomError;
  disconnected: { reason: DisconnectReason; error?: RoomError };
}

export class Room extends Emitter<RoomEvents> {
  state: ConnectionState = "disconnected";
  roomName = "";
  serverUrl = "";
  readonly participants = new Map<string, RemoteParticipant>();
  local: LocalParticipant = new LocalParticipant({ audio: true, video: true, simulcast: false });
  #signal: SignalClient | undefined;
  #publisher: PublisherTransport | undefined;
  #subscriber: SubscriberTransport | undefined;
  #data: RoomData | undefined;
  /** Received media whose track-published has not arrived yet (docs/protocol.md 6.4). */
  readonly #unclaimed = new Map<string, ReceivedTrack>();
  readonly #unsubscribeLocal: Array<() => void> = [];
  #session = 0;
  /** Devices chosen with switchDevice(), kept across sessions. */
  readonly #devices: { audioinput?: string; videoinput?: string } = {};

  /** Joins `roomName` on the relay at `serverUrl` and publishes the camera and microphone (unless turned off). */
  async connect(serverUrl: string, roomName: string, options: ConnectOptions): Promise<void> {
    if (this.state !== "disconnected") throw new RoomError("join-failed", "This room is already connected; call disconnect() first.");
    if (!ROOM_NAME_PATTERN.test(roomName)) {
      const error = new RoomError("bad-room-name", `"${roomName}" is not a valid room name: use 1-64 letters, digits, - _ or . (not starting with .).`);
      this.#reportError(error);
      throw error;
    }
    const session = ++this.#session;
    performance.mark?.("sfu-room:connect");
    this.serverUrl = serverUrl;
    this.roomName = roomName;
    const audio = options.audio ?? true;
    const simulcast = options.simulcast ?? false;
    const video = options.video === undefined || options.video === true ? (simulcast === false ? true : SIMULCAST_CAPTURE) : options.video;
    this.local.detach(); // a preview made before connecting is replaced by the capture below
    this.#setLocal(new LocalParticipant({ audio, video, simulcast }));
    Object.assign(this.local.preferredDevices, this.#devices);
    this.local.name = options.name;
    this.#setState("connecting");

    // Capture while the WebSocket opens and the relay answers: the permission prompt overlaps the join.
    const captured = captureBoth(audio, video, { audio: this.#devices.audioinput, video: this.#devices.videoinput });
    let signal: SignalClient;
    try {
      signal = await SignalClient.connect(serverUrl, options.connectTimeoutMs);
    } catch (e) {
      void captured.then((c) => [c.audio, c.video].forEach((t) => t?.stop()));
      this.#fail(session, e);
      throw e;
    }
    if (session !== this.#session) {
      void signal.close();
      throw new RoomError("join-failed", "connect() was cancelled by disconnect().");
    }
    this.#signal = signal;
    signal.on("message", (m) => this.#onMessage(m));
    signal.on("close", (c) => this.#onSignalClose(session, c.code, c.reason, c.requested));
    const rtcConfig = options.rtcConfig ?? {};
    const data = new RoomData({
      participants: this.participants,
      localId: () => this.local.id,
      emit: (event) => this.emit("data", event),
    });
    this.#data = data;
    this.#subscriber = new SubscriberTransport(signal, rtcConfig, {
      onFirstRemoteDescription: (pc) => data.channels.attach(pc),
      onAdded: (b) => this.#onReceived(b),
      onRemoved: (b) => this.#onReceiveEnded(b),
      onState: (s) => this.#onPeerState(session, s),
      onFailure: (e) => this.#reportError(new RoomError("protocol-error", `Could not answer the relay's offer: ${e.message}`, undefined, { cause: e })),
    });

    try {
      const joined = await signal.request({
        type: "join",
        room: roomName,
        name: options.name,
        autoSubscribe: options.autoSubscribe ?? true,
        ...(options.token !== undefined ? { token: options.token } : {}),
      });
      this.local.id = joined.participantId;
      for (const info of joined.participants) this.#addParticipant(info, false);
    } catch (e) {
      const error = e instanceof RelayRequestError ? joinError(e.error.code, e.error.message, roomName) : e;
      void captured.then((c) => [c.audio, c.video].forEach((t) => t?.stop()));
      this.#fail(session, error);
      throw error;
    }

    this.#publisher = new PublisherTransport(signal, rtcConfig, (s) => this.#onPeerState(session, s));
    this.#setState("connected");
    const media = await captured;
    if (session !== this.#session) {
      [media.audio, media.video].forEach((t) => t?.stop());
      return;
    }
    for (const error of media.errors) this.#reportError(error);
    if (media.audio) this.local.adopt("microphone", media.audio);
    if (media.video) this.local.adopt("camera", media.video);
    try {
      await this.local.attach(signal, this.#publisher);
    } catch (e) {
      this.#reportError(e instanceof RoomError ? e : new RoomError("publish-failed", String(e)));
    }
  }

  /** Leaves the room: tells the relay, closes both connections and stops every capture. */
  async disconnect(): Promise<void> {
    if (this.state === "disconnected") return;
    const signal = this.#signal;
    this.#teardown();
    await signal?.close();
    this.emit("disconnected", { reason: "client" });
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

  switchDevice(kind: "videoinput" | "audioinput", deviceId: string): Promise<void> {
    this.#devices[kind] = deviceId;
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
    if (!this.#data || this.state === "disconnected") throw new RoomError("not-connected", "The room is not connected: join before sending data.");
    return this.#data.send(data, options);
  }

  // --- remote media ---

  /** Starts or stops receiving one remote track (a `subscriber-offer` follows). */
  async setSubscribed(trackId: string, subscribed: boolean): Promise<void> {
    if (!this.#signal?.open) throw new RoomError("not-connected", "The room is not connected.");
    await this.#signal.request({ type: "subscribe", trackId, subscribe: subscribed });
  }

  /**
   * Tells the relay how a received video track is shown, so it can pick the simulcast layer: the tile's
   * size in device pixels, whether it is visible (hidden tiles are paused), or a pinned quality.
   */
  async setSubscriptionSettings(
    trackId: string,
    settings: SubscriptionSettings,
  ): Promise<void> {
    if (!this.#signal?.open) throw new RoomError("not-connected", "The room is not connected.");
    await this.#signal.request({ type: "subscription-settings", trackId, ...settings });
  }

  /** Asks the publisher of a received video track for a keyframe. */
  async requestKeyframe(trackId: string): Promise<void> {
    if (!this.#signal?.open) throw new RoomError("not-connected", "The room is not connected.");
    await this.#signal.request({ type: "request-keyframe", trackId });
  }

  /** The two peer connections, for statistics and diagnostics. */
  get peerConnections(): { publisher: RTCPeerConnection | undefined; subscriber: RTCPeerConnection | undefined } {
    return { publisher: this.#publisher?.pc, subscriber: this.#subscriber?.pc };
  }

  // --- internals ---

  #setLocal(local: LocalParticipant): void {
    for (const off of this.#unsubscribeLocal.splice(0)) off();
    this.local = local;
    this.#unsubscribeLocal.push(
      local.on("track-published", (track) => this.emit("local-track-published", { track })),
      local.on("track-unpublished", (track) => this.emit("local-track-unpublished", { track })),
      local.on("track-updated", (track) => this.emit("local-track-updated", { track })),
      local.on("error", (e) => this.#reportError(e)),
    );
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

  #fail(session: number, error: unknown): void {
    if (session !== this.#session) return;
    const roomError = error instanceof RoomError ? error : new RoomError("join-failed", String(error), undefined, { cause: error });
    this.#teardown();
    void this.#signal?.close();
    this.#reportError(roomError);
  }

  #teardown(): void {
    this.#session++;
    this.#publisher?.close();
    this.#subscriber?.close();
    this.#data?.close();
    this.#publisher = undefined;
    this.#subscriber = undefined;
    this.#data = undefined;
    this.local.detach();
    for (const p of this.participants.values()) {
      for (const t of p.tracks.values()) {
        t.mediaStreamTrack = undefined;
        t.receiver = undefined;
        t.setReceiving(false);
      }
    }
    this.participants.clear();
    this.#unclaimed.clear();
    this.#setState("disconnected");
  }

  #onSignalClose(session: number, code: number, reason: string, requested: boolean): void {
    if (requested || session !== this.#session) return;
    const kicked = code === 1008 || (code >= 4000 && code < 5000);
    const error = kicked
      ? new RoomError("kicked", `The relay ended your session${reason ? ` (${reason})` : ""}.`)
      : new RoomError("connection-lost", `The connection to the relay was lost${reason ? ` (${reason})` : ""}. Join again to continue.`);
    this.#signal = undefined;
    this.#teardown();
    this.#reportError(error);
    this.emit("disconnected", { reason: kicked ? "kicked" : "connection-lost", error });
  }

  #onPeerState(session: number, state: RTCPeerConnectionState): void {
    if (session !== this.#session) return;
    if (state === "failed") {
      const error = new RoomError("connection-lost", "The media connection to the relay failed. Join again to continue.");
      const signal = this.#signal;
      this.#signal = undefined;
      this.#teardown();
      void signal?.close();
      this.#reportError(error);
      this.emit("disconnected", { reason: "connection-lost", error });
      return;
    }
    const pcs = [this.#publisher?.pc, this.#subscriber?.pc].filter((pc): pc is RTCPeerConnection => pc !== undefined);
    const interrupted = pcs.some((pc) => pc.connectionState === "disconnected");
    if (this.state === "connected" || this.state === "interrupted") this.#setState(interrupted ? "interrupted" : "connected");
  }

  #onMessage(message: SignalEvent): void {
    switch (message.type) {
      case "participant-joined":
        this.#addParticipant(message.participant, true);
        break;
      case "participant-left":
        this.#removeParticipant(message.participantId);
        break;
      case "track-published":
        this.#addTrack(message.track, true);
        break;
      case "track-unpublished":
        this.#removeTrack(message.participantId, message.trackId);
        break;
      case "track-muted": {
        const participant = this.participants.get(message.participantId);
        const track = participant?.tracks.get(message.trackId);
        if (!participant || !track || track.muted === message.muted) break;
        track.muted = message.muted;
        this.emit(message.muted ? "track-muted" : "track-unmuted", { participant, track });
        break;
      }
      case "subscriber-offer":
        this.#subscriber?.handleOffer(message);
        break;
      case "layers-wanted":
        void this.local.setLayersWanted(message.trackId, message.rids).catch(() => undefined);
        break;
      case "error":
        this.#reportError(relayError(message));
        break;
    }
  }

  #addParticipant(info: ParticipantInfo, announce: boolean): void {
    if (info.id === this.local.id || this.participants.has(info.id)) return;
    const participant = new RemoteParticipant(info);
    this.participants.set(info.id, participant);
    // Participants already there at join are in `participants` when the join completes; only newcomers are announced.
    if (announce) this.emit("participant-joined", { participant });
    for (const track of info.tracks) this.#addTrack(track, announce);
  }

  #removeParticipant(id: string): void {
    const participant = this.participants.get(id);
    if (!participant) return;
    for (const trackId of [...participant.tracks.keys()]) this.#removeTrack(id, trackId);
    this.participants.delete(id);
    this.#data?.forget(id);
    this.emit("participant-left", { participant });
  }

  #addTrack(info: TrackInfo, announce: boolean): void {
    const participant = this.participants.get(info.participantId);
    if (!participant) return;
    const existing = participant.tracks.get(info.id);
    if (existing) {
      existing.update(info);
      return;
    }
    const track = new RemoteTrack(info, (settings) => this.setSubscriptionSettings(info.id, settings));
    participant.tracks.set(info.id, track);
    if (announce) this.emit("track-published", { participant, track });
    const received = this.#unclaimed.get(info.id);
    if (received) {
      this.#unclaimed.delete(info.id);
      this.#onReceived(received);
    }
  }

  #removeTrack(participantId: string, trackId: string): void {
    const participant = this.participants.get(participantId);
    const track = participant?.tracks.get(trackId);
    this.#unclaimed.delete(trackId);
    if (!participant || !track) return;
    if (track.mediaStreamTrack) {
      track.mediaStreamTrack = undefined;
      track.receiver = undefined;
      track.mid = undefined;
      track.setReceiving(false);
      this.emit("track-unsubscribed", { participant, track });
    }
    participant.tracks.delete(trackId);
    this.emit("track-unpublished", { participant, track });
  }

  #onReceived(binding: ReceivedTrack): void {
    const participant = this.participants.get(binding.participantId);
    const track = participant?.tracks.get(binding.trackId);
    if (!participant || !track) {
      this.#unclaimed.set(binding.trackId, binding);
      return;
    }
    track.mediaStreamTrack = binding.track;
    track.receiver = binding.receiver;
    track.mid = binding.mid;
    track.setReceiving(true);
    this.emit("track-subscribed", { participant, track });
  }

  #onReceiveEnded(binding: ReceivedTrack): void {
    this.#unclaimed.delete(binding.trackId);
    const participant = this.participants.get(binding.participantId);
    const track = participant?.tracks.get(binding.trackId);
    if (!participant || !track || track.receiver !== binding.receiver) return;
    track.mediaStreamTrack = undefined;
    track.receiver = undefined;
    track.mid = undefined;
    track.setReceiving(false);
    this.emit("track-unsubscribed", { participant, track });
  }
}

const DATA_CODES: ReadonlySet<string> = new Set(["data-too-large", "unknown-participant", "bad-data"]);

/** An `error` from the relay that answers no request: about a data message, or something else. */
function relayError(message: Extract<SignalEvent, { type: "error" }>): RoomError {
  const aboutData = DATA_CODES.has(message.code) || (message.id?.startsWith(DATA_ID_PREFIX) ?? false);
  if (aboutData) return new RoomError("data-refused", `The relay did not deliver a data message (${message.code}): ${message.message}`, message.code);
  return new RoomError("protocol-error", `The relay reported: ${message.message}`, message.code);
}
