/**
 * One attempt at being in a room: the signaling WebSocket, the publisher and subscriber peer
 * connections and the data channels, with every listener on them. `Room.connect()` makes one; what
 * outlives it (the local participant and the device choice) stays in the Room, so a reconnect can make
 * another one for the same Room. (The remote participants are cleared when a connection ends today; a
 * resume that keeps them is the reconnection issue's.)
 *
 * Every ending goes through #close(): the user's disconnect, a refused or failed join, the relay
 * closing the WebSocket, a failed peer connection. It closes everything and tells the Room, once.
 * Whatever the closed objects still report afterwards is dropped because this connection is closed.
 */
import type { JoinedMessage } from "@sfu-room/protocol";
import { joinError, RoomError } from "./errors.ts";
import { peerConfiguration } from "./ice-config.ts";
import { PublisherTransport } from "./publisher-transport.ts";
import type { RemoteParticipant } from "./remote.ts";
import { type DataEvent, RoomData } from "./room-data.ts";
import { RelayRequestError, SignalClient, type SignalEvent } from "./signal-client.ts";
import { type ReceivedTrack, SubscriberTransport } from "./subscriber-transport.ts";

/** How a connection ended. Before the relay's `joined`, any end but the user's disconnect is "join-failed". */
export type ConnectionEnd =
  | { reason: "client" }
  | { reason: "connection-lost" | "kicked"; error: RoomError }
  | { reason: "join-failed"; error: RoomError };

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
}

export class RoomConnection {
  readonly #host: ConnectionHost;
  #signal: SignalClient | undefined;
  #publisher: PublisherTransport | undefined;
  #subscriber: SubscriberTransport | undefined;
  #data: RoomData | undefined;
  #joined = false;
  #end: ConnectionEnd | undefined;
  #leaving: Promise<void> = Promise.resolve();

  constructor(host: ConnectionHost) {
    this.#host = host;
  }

  get closed(): boolean {
    return this.#end !== undefined;
  }

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

  /** The media received for a track, if it arrived (possibly before the track's `track-published`, docs/protocol.md 6.4). */
  received(trackId: string): ReceivedTrack | undefined {
    return this.#subscriber?.received(trackId);
  }

  /**
   * Opens the WebSocket, sets up the subscriber side and sends `join`; resolves once joined (after
   * `onJoined`) with what publishing needs. Rejects with the RoomError that ended the attempt, the
   * connection then closed.
   */
  async join(request: JoinRequest): Promise<{ signal: SignalClient; publisher: PublisherTransport }> {
    try {
      return await this.#join(request);
    } catch (e) {
      const error = e instanceof RelayRequestError ? joinError(e.error.code, e.error.message, request.room) : e;
      this.#close({ reason: "join-failed", error: error instanceof RoomError ? error : new RoomError("join-failed", String(error), undefined, { cause: error }) });
      const end = this.#end!;
      throw end.reason === "client" ? new RoomError("join-failed", "connect() was cancelled by disconnect().") : end.error;
    }
  }

  /** The user's disconnect: closes everything; resolves once `leave` went out (or could not). */
  close(): Promise<void> {
    this.#close({ reason: "client" });
    return this.#leaving;
  }

  async #join(request: JoinRequest): Promise<{ signal: SignalClient; publisher: PublisherTransport }> {
    const signal = await SignalClient.connect(request.serverUrl, request.connectTimeoutMs);
    // Ended meanwhile: the catch in join() reports how, whatever is thrown here.
    if (this.closed) {
      void signal.close();
      throw new Error("closed");
    }
    this.#signal = signal;
    signal.on("message", (m) => this.#onMessage(m));
    signal.on("close", (c) => this.#onSignalClose(c.code, c.reason, c.requested));
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
    });
    if (this.closed) throw new Error("closed");
    // Set up before this task ends: the relay's first subscriber-offer is the next frame.
    const config = peerConfiguration(request.rtcConfig, joined.iceServers);
    this.#subscriber = new SubscriberTransport(signal, config, {
      onFirstRemoteDescription: (pc) => data.channels.attach(pc),
      onAdded: (r) => this.#unlessClosed(() => this.#host.onReceived(r)),
      onRemoved: (r) => this.#unlessClosed(() => this.#host.onReceiveEnded(r)),
      onState: (s) => this.#onPeerState(s),
      onFailure: (e) =>
        this.#unlessClosed(() => this.#host.onError(new RoomError("protocol-error", `Could not answer the relay's offer: ${e.message}`, undefined, { cause: e }))),
    });
    const publisher = new PublisherTransport(signal, config, (s) => this.#onPeerState(s));
    this.#publisher = publisher;
    this.#joined = true;
    this.#host.onJoined(joined);
    return { signal, publisher };
  }

  #onMessage(message: SignalEvent): void {
    if (this.closed) return;
    if (message.type === "subscriber-offer") this.#subscriber?.handleOffer(message);
    else this.#host.onMessage(message);
  }

  #onSignalClose(code: number, reason: string, requested: boolean): void {
    if (requested) return; // our own #close
    const why = reason ? ` (${reason})` : "";
    // 1008 and 4xxx are the relay's policy closes: it ended the session on purpose.
    if (code === 1008 || (code >= 4000 && code < 5000)) {
      this.#close({ reason: "kicked", error: new RoomError("kicked", `The relay ended your session${why}.`) });
    } else {
      this.#close({ reason: "connection-lost", error: new RoomError("connection-lost", `The connection to the relay was lost${why}. Join again to continue.`) });
    }
  }

  #onPeerState(state: RTCPeerConnectionState): void {
    if (this.closed) return;
    if (state === "failed") {
      this.#close({ reason: "connection-lost", error: new RoomError("connection-lost", "The media connection to the relay failed. Join again to continue.") });
      return;
    }
    const pcs = [this.#publisher?.pc, this.#subscriber?.pc];
    this.#host.onInterrupted(pcs.some((pc) => pc?.connectionState === "disconnected"));
  }

  #close(end: ConnectionEnd): void {
    if (this.closed) return;
    this.#end = end.reason === "client" || this.#joined ? end : { reason: "join-failed", error: end.error };
    this.#publisher?.close();
    this.#subscriber?.close();
    this.#data?.close();
    this.#leaving = this.#signal?.close() ?? Promise.resolve();
    this.#host.onClosed(this.#end);
  }

  #unlessClosed(report: () => void): void {
    if (!this.closed) report();
  }
}
