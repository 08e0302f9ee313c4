/**
 * WHIP sessions (RFC 9725): each is a signaling session of the shell like a WebSocket's, driven by HTTP
 * requests instead of frames (http/whip.ts). Its participant joins the room, publishes what the offer
 * sends and nothing else: it is publish-only (no subscriber connection), and the room sees it as any
 * participant. It ends on DELETE, or when the relay removes it (its connection failed, the server API
 * removed it): then its resource is gone and PATCH/DELETE answer 404.
 *
 * A session is known by an unguessable resource id (the Location's last part), not by its participant
 * id, which everyone in the room sees: whoever holds the Location URL controls the session.
 */
import type { IceServer, ServerMessage } from "@sfu-room/protocol";
import { type JoinAccess, publishForbidden } from "../core/index.ts";
import { iceFragmentOf, whipTracks, withIceCredentials } from "../rtc/whip-sdp.ts";
import type { SessionPort, SfuShell } from "../shell/sfu-shell.ts";

/** A refusal as the HTTP layer answers it: status, error code and what to do. */
export interface WhipRefusal {
  status: number;
  error: string;
  message: string;
}

export interface WhipPublished {
  resourceId: string;
  etag: string;
  answer: string;
  iceServers: IceServer[];
}

export interface WhipSessionsOptions {
  shell: Pick<SfuShell, "open" | "handle" | "closed">;
  /** Verifies a token (the join path's check); undefined: the relay is open and WHIP follows the room's rules. */
  verifyToken: ((token: string | undefined) => Promise<JoinAccess>) | undefined;
  /** Mints resource ids and ETags. */
  newSecret(): string;
}

/** The HTTP status for each error a join or publish can be refused with. */
const STATUS: Partial<Record<string, number>> = {
  unauthorized: 403, forbidden: 403, "bad-room-name": 400, "bad-sdp": 400, "bad-message": 400, "too-many-tracks": 400,
  "room-full": 503, "publish-pending": 409,
};

class WhipSession implements SessionPort {
  readonly publishOnly = true;
  participantId = "";
  readonly resourceId: string;
  readonly room: string;
  etag: string;
  /** The offer as last applied: an ICE restart is this offer with new credentials. */
  offer: string;
  readonly #replies = new Map<string, ServerMessage>();
  readonly #onEnded: (session: WhipSession) => void;

  constructor(resourceId: string, room: string, offer: string, etag: string, onEnded: (session: WhipSession) => void) {
    this.resourceId = resourceId;
    this.room = room;
    this.offer = offer;
    this.etag = etag;
    this.#onEnded = onEnded;
  }

  send(message: ServerMessage): void {
    // Only replies matter: a WHIP client is told nothing about the room.
    if ("id" in message && typeof message.id === "string") this.#replies.set(message.id, message);
  }

  /** The reply to a request, once the shell has handled it (it answers within handle()). */
  reply(requestId: string): ServerMessage | undefined {
    const reply = this.#replies.get(requestId);
    this.#replies.delete(requestId);
    return reply;
  }

  close(): void {
    this.#onEnded(this);
  }

  kick(): void {
    this.#onEnded(this);
  }

  bind(): void {
    // A WHIP session cannot be resumed (it has no resume secret): nothing binds it to another participant.
  }
}

export class WhipSessions {
  readonly #options: WhipSessionsOptions;
  readonly #sessions = new Map<string, WhipSession>();
  #restarts = 0;

  constructor(options: WhipSessionsOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** The session at this resource of this room, if it is still there. */
  get(room: string, resourceId: string): { etag: string } | undefined {
    const session = this.#sessions.get(resourceId);
    return session?.room === room ? session : undefined;
  }

  /**
   * POST: checks the offer and the token before anything is visible, then joins and publishes. A
   * refusal after the join (werift could not answer the offer) takes the participant out again.
   */
  async publish(room: string, name: string, token: string | undefined, offer: string): Promise<WhipPublished | WhipRefusal> {
    const { shell, verifyToken, newSecret } = this.#options;
    const read = whipTracks(offer);
    if ("refused" in read) return { status: 400, error: "bad-sdp", message: read.refused };
    if (verifyToken !== undefined) {
      if (token === undefined) return { status: 401, error: "unauthorized", message: "this relay requires an access token with a publish grant: send Authorization: Bearer <token> (see docs/auth.md)" };
      const access = await verifyToken(token);
      if ("refused" in access) return { status: 401, error: "unauthorized", message: access.refused };
      const forbidden = publishForbidden(access.granted, read.tracks);
      if (forbidden !== undefined) return { status: 403, error: "forbidden", message: forbidden };
    }
    const session = new WhipSession(newSecret(), room, offer, newSecret(), (ended) => this.#ended(ended));
    const id = shell.open(session);
    session.participantId = id;
    await shell.handle(id, { type: "join", id: "whip-join", room, name, token, autoSubscribe: false });
    const joined = session.reply("whip-join");
    if (joined?.type !== "joined") {
      shell.closed(id, session);
      return refusal(joined);
    }
    await shell.handle(id, { type: "publish-offer", id: "whip-publish", sdp: offer, tracks: read.tracks.map((t) => ({ ...t, muted: false })) });
    const answer = session.reply("whip-publish");
    if (answer?.type !== "publish-answer") {
      await this.#leave(session);
      return refusal(answer);
    }
    this.#sessions.set(session.resourceId, session);
    return { resourceId: session.resourceId, etag: session.etag, answer: answer.sdp, iceServers: joined.iceServers };
  }

  /** PATCH with new ICE credentials: the publisher connection restarts ICE; the relay's new ICE part and ETag. */
  async restartIce(room: string, resourceId: string, ufrag: string, pwd: string): Promise<{ fragment: string; etag: string } | WhipRefusal> {
    const session = this.#sessions.get(resourceId);
    if (session === undefined || session.room !== room) return unknownSession(room, resourceId);
    const offer = withIceCredentials(session.offer, ufrag, pwd);
    const requestId = `whip-restart-${++this.#restarts}`;
    await this.#options.shell.handle(session.participantId, { type: "restart-ice", id: requestId, sdp: offer });
    const reply = session.reply(requestId);
    if (reply?.type !== "ice-restarted" || reply.sdp === undefined) return refusal(reply);
    session.offer = offer;
    session.etag = this.#options.newSecret();
    return { fragment: iceFragmentOf(reply.sdp), etag: session.etag };
  }

  /** DELETE: the participant leaves the room and its connection is closed. */
  async end(room: string, resourceId: string): Promise<WhipRefusal | undefined> {
    const session = this.#sessions.get(resourceId);
    if (session === undefined || session.room !== room) return unknownSession(room, resourceId);
    this.#sessions.delete(resourceId);
    await this.#leave(session);
    return undefined;
  }

  async #leave(session: WhipSession): Promise<void> {
    await this.#options.shell.handle(session.participantId, { type: "leave", id: "whip-leave" });
    this.#options.shell.closed(session.participantId, session);
  }

  /** The relay removed the participant (its media was lost, the server API): the resource goes too. */
  #ended(session: WhipSession): void {
    if (this.#sessions.get(session.resourceId) !== session) return;
    this.#sessions.delete(session.resourceId);
    // Told while the core is being drained: the session closes after it.
    queueMicrotask(() => this.#options.shell.closed(session.participantId, session));
  }
}

function refusal(reply: ServerMessage | undefined): WhipRefusal {
  if (reply?.type !== "error") return { status: 500, error: "internal", message: `the relay did not answer as expected (${reply?.type ?? "no reply"}); try again` };
  return { status: STATUS[reply.code] ?? 500, error: reply.code, message: reply.message };
}

/** The 404 of PATCH/DELETE on a session that is not (or no longer) there. */
export function unknownSession(room: string, resourceId: string): WhipRefusal {
  return { status: 404, error: "unknown-session", message: `there is no WHIP session ${resourceId} in room "${room}": it ended (DELETE, or its connection failed); POST a new offer to /whip/${room}` };
}
