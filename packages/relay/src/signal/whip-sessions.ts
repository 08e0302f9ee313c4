/**
 * WHIP sessions (RFC 9725) and their playback twin, WHEP sessions: each is a signaling session of the
 * shell like a WebSocket's, driven by HTTP requests instead of frames (http/whip.ts). A WHIP
 * participant joins the room, publishes what the offer sends and nothing else: it is publish-only (no
 * subscriber connection), and the room sees it as any participant. A WHEP participant joins hidden and
 * view-only: its offer's recvonly m-lines carry one publisher's tracks (the one asked for, or else the
 * first to publish, and the next one when that one leaves). Either ends on DELETE, or when the relay
 * removes it (its connection failed, the server API removed it): then its resource is gone and
 * PATCH/DELETE answer 404.
 *
 * A session is known by an unguessable resource id (the Location's last part), not by its participant
 * id, which everyone in the room sees: whoever holds the Location URL controls the session.
 */
import type { IceServer, Quality, ServerMessage, TrackInfo } from "@sfu-room/protocol";
import { type JoinAccess, publishForbidden } from "../core/index.ts";
import { SdpError } from "../rtc/publisher-connection.ts";
import { recvonlyKinds } from "../rtc/subscriber-connection.ts";
import { iceFragmentOf, whipTracks, withIceCredentials } from "../rtc/whip-sdp.ts";
import type { SessionPort, SfuShell } from "../shell/sfu-shell.ts";

export type SessionKind = "whip" | "whep";

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
  shell: Pick<SfuShell, "open" | "handle" | "closed" | "answerViewer">;
  /** Verifies a token (the join path's check); undefined: the relay is open and WHIP follows the room's rules. */
  verifyToken: ((token: string | undefined) => Promise<JoinAccess>) | undefined;
  /** Mints resource ids and ETags. */
  newSecret(): string;
  /** A session ended without a DELETE (its connection failed, the server API removed it): a worker tells the primary. */
  onEnded?(resourceId: string): void;
}

/**
 * What http/whip.ts asks of the sessions: WhipSessions in this process, or the same calls carried to
 * the room's worker process (workers/worker-whip.ts). Every answer is plain data (it crosses IPC).
 */
export interface WhipBackend {
  publish(room: string, name: string, token: string | undefined, offer: string): Promise<WhipPublished | WhipRefusal>;
  view(room: string, token: string | undefined, offer: string, wish: WhepWish): Promise<WhipPublished | WhipRefusal>;
  /** The session's current ETag; undefined: there is no such session. */
  etag(kind: SessionKind, room: string, resourceId: string): Promise<string | undefined>;
  restartIce(kind: SessionKind, room: string, resourceId: string, ufrag: string, pwd: string): Promise<{ fragment: string; etag: string } | WhipRefusal>;
  /** DELETE; undefined: ended. */
  end(kind: SessionKind, room: string, resourceId: string): Promise<WhipRefusal | undefined>;
}

/** The HTTP status for each error a join or publish can be refused with. */
const STATUS: Partial<Record<string, number>> = {
  unauthorized: 403, forbidden: 403, "bad-room-name": 400, "bad-sdp": 400, "bad-message": 400, "too-many-tracks": 400,
  "room-full": 503, "publish-pending": 409,
};

/** What a WHEP viewer asked to watch. */
export interface WhepWish {
  /** This participant's tracks; undefined: the first publisher's, then the next one's. */
  participant: string | undefined;
  quality: Quality | undefined;
}

class WhipSession implements SessionPort {
  readonly publishOnly: boolean;
  readonly viewOnly: boolean;
  /** WHEP: what it watches, and whose tracks it receives now. */
  wish: WhepWish | undefined;
  watched: string | undefined;
  /** WHEP: everyone's tracks in the room, by participant, in the order they published (the next to watch). */
  readonly tracks = new Map<string, TrackInfo[]>();
  /** Left the room (DELETE, a refusal after the join, or removed by the relay). */
  left = false;
  participantId = "";
  readonly resourceId: string;
  readonly room: string;
  etag: string;
  /** The offer as last applied: an ICE restart is this offer with new credentials. */
  offer: string;
  readonly #replies = new Map<string, ServerMessage>();
  readonly #onEnded: (session: WhipSession) => void;
  readonly #onRoomEvent: (session: WhipSession, event: ServerMessage) => void;

  constructor(resourceId: string, room: string, offer: string, etag: string, wish: WhepWish | undefined, onEnded: (session: WhipSession) => void, onRoomEvent: (session: WhipSession, event: ServerMessage) => void) {
    this.publishOnly = wish === undefined;
    this.viewOnly = wish !== undefined;
    this.wish = wish;
    this.watched = wish?.participant;
    this.#onRoomEvent = onRoomEvent;
    this.resourceId = resourceId;
    this.room = room;
    this.offer = offer;
    this.etag = etag;
    this.#onEnded = onEnded;
  }

  send(message: ServerMessage): void {
    // Replies, and for a viewer who publishes what: a WHIP/WHEP client is told nothing about the room.
    if ("id" in message && typeof message.id === "string") this.#replies.set(message.id, message);
    else if (this.viewOnly) this.#onRoomEvent(this, message);
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

export class WhipSessions implements WhipBackend {
  readonly #options: WhipSessionsOptions;
  readonly #sessions = new Map<string, WhipSession>();
  #restarts = 0;

  constructor(options: WhipSessionsOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** The session of this kind at this resource of this room, if it is still there. */
  get(kind: SessionKind, room: string, resourceId: string): WhipSession | undefined {
    const session = this.#sessions.get(resourceId);
    return session?.room === room && session.viewOnly === (kind === "whep") ? session : undefined;
  }

  async etag(kind: SessionKind, room: string, resourceId: string): Promise<string | undefined> {
    return this.get(kind, room, resourceId)?.etag;
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
    const session = new WhipSession(newSecret(), room, offer, newSecret(), undefined, (ended) => this.#ended(ended), () => undefined);
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

  /**
   * WHEP POST: joins hidden, answers the viewer's recvonly m-lines, and subscribes them to the wished
   * participant's tracks (or the first publisher's). A participant asked for must be in the room.
   */
  async view(room: string, token: string | undefined, offer: string, wish: WhepWish): Promise<WhipPublished | WhipRefusal> {
    const { shell, verifyToken, newSecret } = this.#options;
    if (!offer.startsWith("v=0")) return { status: 400, error: "bad-sdp", message: "the body is not an SDP offer: it must start with v=0" };
    if (recvonlyKinds(offer).length === 0) return { status: 400, error: "bad-sdp", message: "the offer receives no audio or video: a WHEP offer has recvonly audio and/or video m-lines" };
    if (verifyToken !== undefined) {
      if (token === undefined) return { status: 401, error: "unauthorized", message: "this relay requires an access token that may subscribe: send Authorization: Bearer <token> (see docs/auth.md)" };
      const access = await verifyToken(token);
      if ("refused" in access) return { status: 401, error: "unauthorized", message: access.refused };
      if (!access.granted.canSubscribe) return { status: 403, error: "forbidden", message: "your token does not allow receiving (its video grant has canSubscribe false)" };
    }
    const session = new WhipSession(newSecret(), room, offer, newSecret(), wish, (ended) => this.#ended(ended), (viewer, event) => this.#roomEvent(viewer, event));
    const id = shell.open(session);
    session.participantId = id;
    await shell.handle(id, { type: "join", id: "whep-join", room, name: "", token, autoSubscribe: false });
    const joined = session.reply("whep-join");
    if (joined?.type !== "joined") {
      shell.closed(id, session);
      return refusal(joined);
    }
    if (wish.participant !== undefined && !joined.participants.some((p) => p.id === wish.participant)) {
      await this.#leave(session);
      return { status: 404, error: "unknown-participant", message: `there is no participant ${wish.participant} in room "${room}"; leave out ?participant= to watch whoever publishes` };
    }
    let answer: string;
    try {
      answer = await shell.answerViewer(id, offer);
    } catch (e) {
      await this.#leave(session);
      return { status: e instanceof SdpError ? 400 : 500, error: e instanceof SdpError ? "bad-sdp" : "internal", message: (e as Error).message };
    }
    this.#sessions.set(session.resourceId, session);
    for (const participant of joined.participants) for (const track of participant.tracks) this.#roomEvent(session, { type: "track-published", track });
    return { resourceId: session.resourceId, etag: session.etag, answer, iceServers: joined.iceServers };
  }

  /** What a viewer hears of the room: tracks come and go; when the one it watches leaves, it watches the next. */
  #roomEvent(session: WhipSession, event: ServerMessage): void {
    if (event.type === "track-published") {
      const { track } = event;
      session.tracks.set(track.participantId, [...(session.tracks.get(track.participantId) ?? []), track]);
      session.watched ??= track.participantId;
      if (track.participantId === session.watched) this.#subscribe(session, track);
    } else if (event.type === "track-unpublished") {
      const left = session.tracks.get(event.participantId)?.filter((t) => t.id !== event.trackId) ?? [];
      if (left.length > 0) session.tracks.set(event.participantId, left);
      else session.tracks.delete(event.participantId);
    } else if (event.type === "participant-left") {
      session.tracks.delete(event.participantId);
      if (event.participantId !== session.watched || session.wish?.participant !== undefined) return;
      const [next] = session.tracks.entries();
      session.watched = next?.[0];
      for (const track of next?.[1] ?? []) this.#subscribe(session, track);
    }
  }

  /** The viewer receives this track (on the m-line of its kind), at the quality it asked for. */
  #subscribe(session: WhipSession, track: TrackInfo): void {
    const { shell } = this.#options;
    const id = session.participantId;
    const quality = session.wish?.quality;
    // Told during a drain (a track-published event): asked after it.
    queueMicrotask(() => {
      if (session.left) return;
      void shell.handle(id, { type: "subscribe", id: `whep-subscribe-${track.id}`, trackId: track.id, subscribe: true }).then(() => {
        if (quality !== undefined && track.kind === "video") return shell.handle(id, { type: "subscription-settings", id: `whep-quality-${track.id}`, trackId: track.id, quality });
      });
    });
  }

  /** PATCH with new ICE credentials: the publisher connection restarts ICE; the relay's new ICE part and ETag. */
  async restartIce(kind: SessionKind, room: string, resourceId: string, ufrag: string, pwd: string): Promise<{ fragment: string; etag: string } | WhipRefusal> {
    const session = this.get(kind, room, resourceId);
    if (session === undefined) return unknownSession(kind, room, resourceId);
    const offer = withIceCredentials(session.offer, ufrag, pwd);
    let answer: string;
    if (session.viewOnly) {
      try {
        answer = await this.#options.shell.answerViewer(session.participantId, offer);
      } catch (e) {
        return { status: 400, error: "bad-sdp", message: (e as Error).message };
      }
    } else {
      const requestId = `whip-restart-${++this.#restarts}`;
      await this.#options.shell.handle(session.participantId, { type: "restart-ice", id: requestId, sdp: offer });
      const reply = session.reply(requestId);
      if (reply?.type !== "ice-restarted" || reply.sdp === undefined) return refusal(reply);
      answer = reply.sdp;
    }
    session.offer = offer;
    session.etag = this.#options.newSecret();
    return { fragment: iceFragmentOf(answer), etag: session.etag };
  }

  /** DELETE: the participant leaves the room and its connection is closed. */
  async end(kind: SessionKind, room: string, resourceId: string): Promise<WhipRefusal | undefined> {
    const session = this.get(kind, room, resourceId);
    if (session === undefined) return unknownSession(kind, room, resourceId);
    this.#sessions.delete(resourceId);
    await this.#leave(session);
    return undefined;
  }

  async #leave(session: WhipSession): Promise<void> {
    session.left = true;
    await this.#options.shell.handle(session.participantId, { type: "leave", id: "leave" });
    this.#options.shell.closed(session.participantId, session);
  }

  /** The relay removed the participant (its media was lost, the server API): the resource goes too. */
  #ended(session: WhipSession): void {
    session.left = true;
    if (this.#sessions.get(session.resourceId) !== session) return;
    this.#sessions.delete(session.resourceId);
    this.#options.onEnded?.(session.resourceId);
    // Told while the core is being drained: the session closes after it.
    queueMicrotask(() => this.#options.shell.closed(session.participantId, session));
  }
}

function refusal(reply: ServerMessage | undefined): WhipRefusal {
  if (reply?.type !== "error") return { status: 500, error: "internal", message: `the relay did not answer as expected (${reply?.type ?? "no reply"}); try again` };
  return { status: STATUS[reply.code] ?? 500, error: reply.code, message: reply.message };
}

/** The 404 of PATCH/DELETE on a session that is not (or no longer) there. */
export function unknownSession(kind: SessionKind, room: string, resourceId: string): WhipRefusal {
  return { status: 404, error: "unknown-session", message: `there is no ${kind.toUpperCase()} session ${resourceId} in room "${room}": it ended (DELETE, or its connection failed); POST a new offer to /${kind}/${room}` };
}
