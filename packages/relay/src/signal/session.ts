/**
 * One WebSocket signaling session: validates every frame, enforces the per-session rate limit, and hands
 * each message to the SfuShell (which asks the core). Messages are handled strictly in arrival order,
 * also when one awaits an SDP negotiation. Bad input gets a specific `error` frame and changes nothing.
 * A `leave` ends the session once its reply is sent.
 *
 * It also keeps one client from costing the relay more than its share: a socket must join within the
 * join timeout, a client that stops reading is cut off before its unread frames pile up, and dropped
 * frames are answered with at most one `rate-limited` notice per second.
 */
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { Logger } from "pino";
import { parseClientMessage, type ClientMessage, type ServerMessage } from "@sfu-room/protocol";
import type { SessionPort } from "../shell/sfu-shell.ts";
import type { PipeChannel, PipeEnd } from "../shell/pipe-from-node.ts";
import { TokenBucket } from "../core/token-bucket.ts";
import type { AdmissionTicket } from "./admission.ts";

/**
 * Where a session's messages go: the SfuShell in this process, the worker pool (workers/) that
 * forwards them to the SfuShell of the room's worker process, or the cluster node (cluster/) that sends
 * them to the node holding the room.
 */
export interface SignalBackend {
  /** The session opened: returns the participant id it speaks as until a resume binds it to another. */
  open(session: BackendPort): string;
  /** One validated message; resolves when the SFU is done with it. */
  handle(participantId: string, message: ClientMessage): Promise<void>;
  closed(participantId: string, session: BackendPort): void;
  /**
   * Rooms spanning nodes (--cluster-rooms span): a pipe into `room` from node `origin`, through
   * `channel` (shell/pipe-from-node.ts). Only an SFU in this process has it (not the worker pool).
   */
  openPipe?(room: string, origin: string, name: string, channel: PipeChannel): PipeEnd;
  /** Rooms spanning nodes: the node `participantId` (a mirror in `room` here) is on, or undefined. */
  originOf?(room: string, participantId: string): Promise<string | undefined>;
}

/** What a backend may do to a session: what the shell may, and end it as lost (its SFU went away: the client reconnects). */
export interface BackendPort extends SessionPort {
  lost(reason: string): void;
}

export interface SessionOptions {
  maxFrameBytes: number;
  /** A WebSocket ping goes out this often; a session that misses two pongs in a row is closed (ms). */
  pingIntervalMs: number;
  maxMessagesPerSecond: number;
  /** The socket is closed (1008) when no `joined` has gone out this long after it opened (ms). */
  joinTimeoutMs: number;
  /** Bytes queued to the socket and not yet taken by the client; past this the socket is terminated. */
  maxSendBufferBytes: number;
  /** This socket's place in the relay's connection counts: settled on join and on close. */
  admission: AdmissionTicket;
  /** Each join's outcome: "ok" or the error code of the refusal, and the seconds since the socket opened. */
  onJoinResult(result: string, secondsSinceOpen: number): void;
  log: Logger;
}

/** WebSocket close code for "policy violation" (RFC 6455): the join timeout, and a kicked session (clients do not retry it). */
const CLOSE_POLICY = 1008;

/** WebSocket close code for "service restart" (RFC 6455): the SDK takes it for a lost connection and rejoins. */
const CLOSE_SERVICE_RESTART = 1012;

/** At most one `rate-limited` notice per this many ms: a flood must not be answered frame by frame. */
const RATE_LIMIT_NOTICE_INTERVAL_MS = 1000;

export class SignalSession implements BackendPort {
  /**
   * Who this session speaks as: the id the shell minted when the socket opened (the participant's id
   * once joined), or the participant it resumed (see bind()).
   */
  private participantId: string;
  private queue: Promise<void> = Promise.resolve();
  private readonly bucket: TokenBucket;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private missedPongs = 0;
  /** Armed until the first `joined` goes out. */
  private joinTimer: NodeJS.Timeout | undefined;
  private lastRateLimitNoticeAt = -Infinity;
  private readonly openedAt = performance.now();
  /** The request id of the `join` waiting for its reply (for the join counts). */
  private pendingJoinId: string | undefined;

  private readonly ws: WebSocket;
  /** The connection under `ws`: corked while a turn of the event loop sends (see send). */
  private readonly socket: Duplex;
  private corked = false;
  private readonly sfu: SignalBackend;
  private readonly options: SessionOptions;

  constructor(ws: WebSocket, socket: Duplex, sfu: SignalBackend, options: SessionOptions) {
    this.ws = ws;
    this.socket = socket;
    this.sfu = sfu;
    this.options = options;
    this.participantId = sfu.open(this);
    this.bucket = new TokenBucket(options.maxMessagesPerSecond * 2, options.maxMessagesPerSecond);
    ws.on("message", (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    ws.on("close", () => this.onClosed());
    // ICE-lite never probes the client, so a client that vanishes without closing its socket (network
    // gone, laptop lid shut) is only noticed here: no pong to two pings in a row ends the session.
    ws.on("pong", () => (this.missedPongs = 0));
    this.heartbeat = setInterval(() => {
      if (++this.missedPongs > 2) {
        options.log.info({ participantId: this.participantId }, "no pong from the client; closing its session");
        ws.terminate();
        return;
      }
      if (!this.backedUp()) ws.ping();
    }, options.pingIntervalMs);
    // A socket that never joins would otherwise hold a pending slot (and memory) for as long as it answers pings.
    this.joinTimer = setTimeout(() => {
      options.log.info("no successful join before the join timeout; closing the socket");
      this.closeWith(CLOSE_POLICY, `no successful "join" within ${options.joinTimeoutMs} ms of connecting; send "join" first`);
    }, options.joinTimeoutMs);
    ws.on("error", (e) => options.log.debug({ err: e }, "websocket error"));
  }

  send(message: ServerMessage): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (message.type === "joined" || message.type === "resumed") this.settleJoin();
    if (message.type === "error") {
      this.options.log.info({ participantId: this.participantId, requestId: message.id, code: message.code, message: message.message }, "error reply");
    }
    if (this.pendingJoinId !== undefined && "id" in message && message.id === this.pendingJoinId && (message.type === "joined" || message.type === "error")) {
      this.pendingJoinId = undefined;
      this.options.onJoinResult(message.type === "joined" ? "ok" : message.code, (performance.now() - this.openedAt) / 1000);
    }
    if (this.backedUp()) return;
    this.cork();
    this.ws.send(JSON.stringify(message));
  }

  /**
   * Holds this turn's messages back until the end of the poll phase, then writes them in one go. In a
   * join storm every participant is told of many others within one turn, and each message was a
   * writev of its own (about 2 ms of the relay's CPU per join of 100). Costs no latency worth the name:
   * the messages leave when the handlers of the I/O already read have run.
   */
  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  close(reason: string): void {
    this.closeWith(1000, reason);
  }

  kick(reason: string): void {
    this.closeWith(CLOSE_POLICY, reason);
  }

  /** The SFU that held this session's room is gone (its worker died): the client reconnects, and lands on a live one. */
  lost(reason: string): void {
    this.closeWith(CLOSE_SERVICE_RESTART, reason);
  }


  bind(participantId: string): void {
    this.participantId = participantId;
  }

  /** Nothing more is read or sent once closing starts (a replaced session must not act as its participant). */
  private closeWith(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason.slice(0, 120));
  }

  /**
   * Whether the client has left more unread than the limit; if so it is terminated here. Checked
   * before each send, so one large message never trips it, but a client that stopped reading does
   * before the relay holds more than the limit (plus one message) for it.
   */
  private backedUp(): boolean {
    if (this.ws.bufferedAmount <= this.options.maxSendBufferBytes) return false;
    if (this.ws.readyState === this.ws.OPEN) {
      this.options.log.info(
        { participantId: this.participantId, buffered: this.ws.bufferedAmount },
        "the client is not reading its WebSocket; cutting it off",
      );
    }
    this.ws.terminate();
    return true;
  }

  private settleJoin(): void {
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = undefined;
    this.options.admission.joined();
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.closed || this.backedUp()) return;
    const now = performance.now();
    if (!this.bucket.take(now)) {
      if (now - this.lastRateLimitNoticeAt < RATE_LIMIT_NOTICE_INTERVAL_MS) return;
      this.lastRateLimitNoticeAt = now;
      this.send({
        type: "error", code: "rate-limited",
        message:
          `more than ${this.options.maxMessagesPerSecond} messages per second: this frame was dropped, and so are further ` +
          `ones over the limit in the next second (one notice per second); slow down`,
      });
      return;
    }
    if (isBinary) {
      this.send({ type: "error", code: "bad-json", message: "binary frames are not accepted; send JSON in text frames" });
      return;
    }
    if (data.length > this.options.maxFrameBytes) {
      this.send({
        type: "error", code: "too-large",
        message: `frame of ${data.length} bytes is over the limit of ${this.options.maxFrameBytes} bytes`,
      });
      return;
    }
    const parsed = parseClientMessage(data.toString("utf8"), this.options.maxFrameBytes);
    if (!parsed.ok) {
      this.send(parsed.error);
      return;
    }
    const message = parsed.message;
    if (message.type === "join") this.pendingJoinId = message.id;
    this.queue = this.queue
      .then(() => this.handle(message))
      .catch((e: Error) => {
        this.options.log.error({ err: e, type: message.type }, "handler failed");
        this.send({ type: "error", id: "id" in message ? message.id : undefined, code: "internal", message: "the relay failed to handle this message" });
      });
  }

  private async handle(message: ClientMessage): Promise<void> {
    if (this.closed) return;
    await this.sfu.handle(this.participantId, message);
    if (message.type === "leave") this.close("left");
  }

  private onClosed(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = undefined;
    this.options.admission.closed();
    this.sfu.closed(this.participantId, this);
  }
}
