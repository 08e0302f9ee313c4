/**
 * A minimal client for Janus's WebSocket API (subprotocol "janus-protocol"): sessions, plugin handles,
 * transactions, keep-alives, and the VideoRoom requests the benchmark uses.
 * https://janus.conf.meetecho.com/docs/rest.html and .../docs/videoroom.html describe the messages.
 */
import WebSocket from "ws";

type Json = Record<string, unknown>;

interface Pending {
  resolve: (m: Json) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class JanusError extends Error {}

export class JanusSession {
  sessionId = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly handles = new Map<number, JanusHandle>();
  /** Transactions completed by their ack (trickle, keepalive). */
  private readonly ackOnly = new Set<string>();
  private nextTx = 1;
  private keepalive: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => this.onMessage(JSON.parse(data.toString()) as Json));
    ws.on("close", () => this.fail(new JanusError("Janus WebSocket closed")));
    ws.on("error", () => undefined);
  }

  /** Opens a WebSocket and creates a Janus session on it. */
  static async connect(url: string): Promise<JanusSession> {
    const ws = new WebSocket(url, "janus-protocol");
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const session = new JanusSession(ws);
    const reply = await session.send({ janus: "create" });
    session.sessionId = (reply.data as { id: number }).id;
    session.keepalive = setInterval(() => session.send({ janus: "keepalive" }).catch(() => undefined), 20_000);
    return session;
  }

  /** Sends a Janus-level request; resolves with its success reply or (asynchronous requests) its event. */
  send(message: Json, timeoutMs = 20_000): Promise<Json> {
    if (this.closed) return Promise.reject(new JanusError("session closed"));
    const transaction = `t${this.nextTx++}`;
    const full: Json = { ...message, transaction };
    if (this.sessionId && message.janus !== "create") full.session_id = this.sessionId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        reject(new JanusError(`Janus: no reply to ${String(message.janus)} ${JSON.stringify((message.body as Json | undefined)?.request ?? "")} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(transaction, { resolve, reject, timer });
      if (message.janus === "trickle" || message.janus === "keepalive") this.ackOnly.add(transaction);
      this.ws.send(JSON.stringify(full));
    });
  }

  async attach(plugin = "janus.plugin.videoroom"): Promise<JanusHandle> {
    const reply = await this.send({ janus: "attach", plugin });
    const handle = new JanusHandle(this, (reply.data as { id: number }).id);
    this.handles.set(handle.id, handle);
    return handle;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.send({ janus: "destroy" }, 5000);
    } catch {
      // the socket may already be gone
    }
    this.fail(new JanusError("session closed"));
    this.ws.close();
  }

  private fail(error: Error): void {
    this.closed = true;
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
  }

  private onMessage(m: Json): void {
    const kind = m.janus as string;
    const tx = m.transaction as string | undefined;
    const pending = tx === undefined ? undefined : this.pending.get(tx);
    if (kind === "ack") {
      // An asynchronous request was accepted and its event follows; a trickle gets only the ack.
      if (pending && this.ackOnly.has(tx!)) {
        this.ackOnly.delete(tx!);
        this.pending.delete(tx!);
        clearTimeout(pending.timer);
        pending.resolve(m);
      }
      return;
    }
    if (pending && (kind === "success" || kind === "event" || kind === "error")) {
      this.pending.delete(tx!);
      clearTimeout(pending.timer);
      const data = (m.plugindata as { data?: Json } | undefined)?.data;
      if (kind === "error") pending.reject(new JanusError(`Janus error ${JSON.stringify(m.error)}`));
      else if (data && (data.error !== undefined || data.error_code !== undefined)) {
        pending.reject(new JanusError(`VideoRoom error ${String(data.error_code)}: ${String(data.error)}`));
      } else pending.resolve(m);
      return;
    }
    const sender = m.sender as number | undefined;
    if (sender !== undefined) this.handles.get(sender)?.emit(m);
  }
}

export class JanusHandle {
  private readonly listeners = new Set<(m: Json) => void>();
  /** Janus reported ICE and DTLS up on this handle's PeerConnection. */
  webrtcUp = false;

  constructor(readonly session: JanusSession, readonly id: number) {}

  /** A request to the plugin, optionally with a JSEP; resolves with { data, jsep } of the reply. */
  async message(body: Json, jsep?: { type: string; sdp: string }): Promise<{ data: Json; jsep: { type: string; sdp: string } | undefined }> {
    const reply = await this.session.send({ janus: "message", handle_id: this.id, body, ...(jsep ? { jsep } : {}) });
    return {
      data: ((reply.plugindata as { data?: Json } | undefined)?.data ?? {}) as Json,
      jsep: reply.jsep as { type: string; sdp: string } | undefined,
    };
  }

  /** Tells Janus the client has no more candidates (they are all in the SDP already). */
  trickleDone(): Promise<Json> {
    return this.session.send({ janus: "trickle", handle_id: this.id, candidate: { completed: true } });
  }

  waitFor(test: (m: Json) => boolean, timeoutMs = 20_000): Promise<Json> {
    return new Promise((resolve, reject) => {
      const listener = (m: Json) => {
        if (!test(m)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new JanusError(`Janus handle ${this.id}: event not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  async waitWebrtcUp(timeoutMs = 20_000): Promise<void> {
    if (this.webrtcUp) return;
    await this.waitFor((m) => m.janus === "webrtcup", timeoutMs);
  }

  emit(m: Json): void {
    if (m.janus === "webrtcup") this.webrtcUp = true;
    for (const l of [...this.listeners]) l(m);
  }
}

/** Creates a VideoRoom room for the benchmark (not permanent; no bitrate cap; no periodic PLI). */
export async function createJanusRoom(url: string, room: number, publishers: number): Promise<void> {
  const session = await JanusSession.connect(url);
  try {
    const handle = await session.attach();
    await handle.message({
      request: "create",
      room,
      permanent: false,
      description: `bench ${room}`,
      publishers,
      bitrate: 0,
      fir_freq: 0,
      audiocodec: "opus",
      videocodec: "vp8",
      notify_joining: false,
      audiolevel_event: false,
    });
  } finally {
    await session.close();
  }
}

export async function destroyJanusRoom(url: string, room: number): Promise<void> {
  const session = await JanusSession.connect(url);
  try {
    const handle = await session.attach();
    await handle.message({ request: "destroy", room, permanent: false });
  } catch {
    // already gone
  } finally {
    await session.close();
  }
}
