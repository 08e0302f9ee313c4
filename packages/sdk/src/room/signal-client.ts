/**
 * The signaling WebSocket: one JSON message per frame, requests matched to replies by `id`, every relay
 * frame validated with the protocol package before anything looks at it (docs/protocol.md, section 2).
 */
import {
  parseServerMessage,
  type ClientMessageInput,
  type ErrorMessage,
  type IceRestartedMessage,
  type JoinedMessage,
  type OkMessage,
  type PublishAnswerMessage,
  type ResumedMessage,
  type ServerMessage,
  type SubscriberAnswerMessage,
} from "@sfu-room/protocol";
import { Emitter } from "./emitter.ts";
import { RoomError } from "./errors.ts";

/** Messages that get a reply matched by `id`. */
type RequestMessage = Exclude<ClientMessageInput, { type: "subscriber-answer" }>;
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
export type RequestBody = WithoutId<RequestMessage>;
export type ReplyTo<T extends RequestBody["type"]> = T extends "join"
  ? JoinedMessage
  : T extends "publish-offer"
    ? PublishAnswerMessage
    : T extends "resume"
      ? ResumedMessage
      : T extends "restart-ice"
        ? IceRestartedMessage
        : OkMessage;

type ReplyMessage = JoinedMessage | PublishAnswerMessage | OkMessage | ResumedMessage | IceRestartedMessage;
const REPLY_TYPES: ReadonlySet<ServerMessage["type"]> = new Set(["joined", "publish-answer", "ok", "resumed", "ice-restarted"]);

/** Relay messages that are not replies: events, subscriber offers and errors without a known id. */
export type SignalEvent = Exclude<ServerMessage, ReplyMessage>;

export interface SignalClientEvents {
  message: SignalEvent;
  /** The socket closed; `requested` is true after close() was called. */
  close: { code: number; reason: string; requested: boolean };
}

/** The signaling client in use now: a resume replaces it under the kept peer connections. */
export type CurrentSignal = () => SignalClient;

/** The relay answered a request with an `error`. */
export class RelayRequestError extends Error {
  override readonly name = "RelayRequestError";
  constructor(readonly error: ErrorMessage) {
    super(error.message);
  }
}

const EXPECTED_REPLY: Record<RequestBody["type"], ServerMessage["type"]> = {
  join: "joined",
  "publish-offer": "publish-answer",
  unpublish: "ok",
  mute: "ok",
  subscribe: "ok",
  "subscription-settings": "ok",
  "request-keyframe": "ok",
  resume: "resumed",
  "restart-ice": "ice-restarted",
  "refresh-token": "ok",
  leave: "ok",
};

interface Pending {
  expected: ServerMessage["type"];
  resolve: (message: ServerMessage) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class SignalClient extends Emitter<SignalClientEvents> {
  readonly #ws: WebSocket;
  readonly #pending = new Map<string, Pending>();
  #nextId = 1;
  #closeRequested = false;
  #closed = false;

  private constructor(ws: WebSocket, readonly url: string) {
    super();
    this.#ws = ws;
    ws.addEventListener("message", (ev: MessageEvent<unknown>) => this.#onFrame(ev.data));
    ws.addEventListener("close", (ev) => this.#onClose(ev.code, ev.reason));
  }

  /** Opens the WebSocket; rejects with `relay-unreachable` when it cannot be opened in time. */
  static connect(url: string, timeoutMs = 10_000): Promise<SignalClient> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        reject(new RoomError("relay-unreachable", `"${url}" is not a valid relay address (expected ws://host:port/ws or wss://...).`, undefined, { cause: e }));
        return;
      }
      const fail = (why: string) => {
        clearTimeout(timer);
        ws.close();
        reject(new RoomError("relay-unreachable", `Could not reach the relay at ${url} (${why}). Check the address and that the relay is running.`));
      };
      const timer = setTimeout(() => fail(`no answer within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
      ws.addEventListener("error", () => fail("connection refused or failed"), { once: true });
      ws.addEventListener(
        "open",
        () => {
          clearTimeout(timer);
          resolve(new SignalClient(ws, url));
        },
        { once: true },
      );
    });
  }

  get open(): boolean {
    return !this.#closed && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Sends a request with a fresh id; resolves with its success reply, rejects with RelayRequestError or RoomError. */
  request<M extends RequestBody>(body: M, timeoutMs = 20_000): Promise<ReplyTo<M["type"]>> {
    const id = String(this.#nextId++);
    return new Promise((resolve, reject) => {
      if (!this.open) {
        reject(new RoomError("not-connected", "The room is not connected."));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RoomError("protocol-error", `The relay did not answer "${body.type}" within ${timeoutMs / 1000} s.`));
      }, timeoutMs);
      this.#pending.set(id, {
        expected: EXPECTED_REPLY[body.type],
        resolve: resolve as (message: ServerMessage) => void,
        reject,
        timer,
      });
      this.#send({ ...body, id } as RequestMessage);
    });
  }

  /** `subscriber-answer` has no id and no success reply. */
  sendAnswer(message: Omit<SubscriberAnswerMessage, "type">): void {
    if (this.open) this.#send({ type: "subscriber-answer", ...message });
  }

  /** Sends `leave` (waiting briefly for its `ok`) and closes the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closeRequested = true;
    if (this.open) {
      await Promise.race([this.request({ type: "leave" }, 2_000).catch(() => undefined), delay(2_000)]);
    }
    this.#ws.close(1000, "leave");
    this.#onClose(1000, "leave");
  }

  /**
   * Closes the socket without `leave`: the relay keeps the session for a resume (the connection is
   * lost, or being replaced). No `close` event follows.
   */
  drop(): void {
    if (this.#closed) return;
    this.#closeRequested = true;
    this.#ws.close(1000, "reconnecting");
    this.#onClose(1000, "reconnecting");
  }

  #send(message: ClientMessageInput): void {
    this.#ws.send(JSON.stringify(message));
  }

  #onFrame(data: unknown): void {
    if (typeof data !== "string") return; // the relay sends text frames only
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      console.warn(`[sfu-room] ignoring an invalid frame from the relay: ${parsed.error.message}`);
      return;
    }
    const message = parsed.message;
    const id = "id" in message ? message.id : undefined;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (pending && id !== undefined) {
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      if (message.type === "error") pending.reject(new RelayRequestError(message));
      else if (message.type !== pending.expected) {
        pending.reject(new RoomError("protocol-error", `The relay answered with "${message.type}" where "${pending.expected}" was expected.`));
      } else pending.resolve(message);
      return;
    }
    if (REPLY_TYPES.has(message.type)) return; // a late reply
    this.emit("message", message as SignalEvent);
  }

  #onClose(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new RoomError("connection-lost", "The connection to the relay closed before it answered."));
    }
    this.#pending.clear();
    this.emit("close", { code, reason, requested: this.#closeRequested });
    this.removeAllListeners();
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
