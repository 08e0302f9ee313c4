/**
 * Publishing: the published tracks of every room, and the rules of publishing, unpublishing and muting.
 *
 * A publish has two phases (inputs.ts): the offer is allowed or refused before any SDP is applied
 * (`offer`), and the tracks exist only once their SDP is negotiated (`complete`); an offer in between is
 * pending, one per participant at a time.
 */
import type { ServerMessage } from "@sfu-room/protocol";
import type { NegotiationFailedInput, PublishNegotiatedInput, PublishOfferInput } from "./inputs.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { Participant } from "./participant.ts";
import { Publication } from "./publication.ts";
import { roomEvent } from "./room-events.ts";
import type { CoreConfig, Grants, MirroredTrack, OfferedTrack, ParticipantId, TrackId } from "./types.ts";

interface PendingOffer {
  requestId: string;
  tracks: OfferedTrack[];
}

export class Publishing {
  /** Every publication of every room, by its (core-unique) track id: the one lookup per RTP packet. */
  private readonly tracks = new Map<TrackId, Publication>();
  /** Each publisher's tracks, in publish order. */
  private readonly byPublisher = new Map<ParticipantId, Map<TrackId, Publication>>();
  private readonly pending = new Map<ParticipantId, PendingOffer>();
  private readonly config: CoreConfig;
  private readonly out: OutputQueue;

  constructor(config: CoreConfig, out: OutputQueue) {
    this.config = config;
    this.out = out;
  }

  get size(): number {
    return this.tracks.size;
  }

  /** Every published track (for counts). */
  all(): IterableIterator<Publication> {
    return this.tracks.values();
  }

  get(trackId: TrackId): Publication | undefined {
    return this.tracks.get(trackId);
  }

  /** A participant's tracks, in publish order. */
  of(publisherId: ParticipantId): Publication[] {
    const mine = this.byPublisher.get(publisherId);
    return mine === undefined ? [] : [...mine.values()];
  }

  /** Phase 1: allows the offer (`negotiate-publish`) or refuses it (an error); true when allowed. */
  offer(publisher: Participant, input: PublishOfferInput): boolean {
    const refusal = this.refusal(publisher, input);
    if (refusal !== undefined) {
      this.out.error(publisher.id, input.requestId, refusal.code, refusal.message);
      return false;
    }
    this.pending.set(publisher.id, { requestId: input.requestId, tracks: input.tracks });
    this.out.push({
      type: "negotiate-publish",
      participantId: publisher.id,
      requestId: input.requestId,
      sdp: input.sdp,
      tracks: input.tracks.map((t) => ({ trackId: t.trackId, mid: t.mid, kind: t.kind, layers: t.layers })),
    });
    return true;
  }

  /**
   * Phase 2: the offer's SDP is answered. Replies `publish-answer` and returns the new publications (the
   * caller announces them); undefined when no such offer is pending (then nothing happens).
   */
  complete(publisher: Participant, input: PublishNegotiatedInput): Publication[] | undefined {
    const offer = this.pending.get(publisher.id);
    if (offer === undefined || offer.requestId !== input.requestId) return undefined;
    this.pending.delete(publisher.id);
    const created: Publication[] = [];
    for (const offered of offer.tracks) {
      const negotiated = input.tracks.find((t) => t.trackId === offered.trackId);
      if (negotiated === undefined) continue; // the adapter negotiates every offered track or fails the whole offer
      const pub = new Publication(publisher, offered, negotiated, this.config.keyframeRequestIntervalMs);
      this.add(pub);
      created.push(pub);
    }
    this.out.signal(publisher.id, {
      type: "publish-answer",
      id: input.requestId,
      sdp: input.sdp,
      tracks: created.map((p) => ({ mid: p.mid, trackId: p.id })),
    });
    return created;
  }

  /** The adapter could not answer the offer: it is forgotten (the caller sends the error). */
  fail(publisher: Participant, input: NegotiationFailedInput): void {
    if (this.pending.get(publisher.id)?.requestId === input.requestId) this.pending.delete(publisher.id);
  }

  /**
   * The requester's own track in their room, or undefined after sending the refusal: `unknown-track`
   * for a track that is not in their room, `not-your-track` for someone else's.
   */
  own(requester: Participant, trackId: TrackId, requestId: string): Publication | undefined {
    const pub = this.tracks.get(trackId);
    if (pub === undefined || pub.publisher.room !== requester.room) {
      this.out.error(requester.id, requestId, "unknown-track", `there is no track "${trackId}" in this room`);
      return undefined;
    }
    if (pub.publisher !== requester) {
      this.out.error(requester.id, requestId, "not-your-track", `track "${trackId}" is published by someone else; you can only change your own tracks`);
      return undefined;
    }
    return pub;
  }

  /** Tells the others when the muted state changes. */
  mute(pub: Publication, muted: boolean): void {
    if (pub.muted === muted) return;
    pub.muted = muted;
    this.announce(pub, { type: "track-muted", trackId: pub.id, participantId: pub.publisher.id, muted });
  }

  /** The track is gone: the adapter stops routing it, the others are told. (Its subscriptions go first.) */
  remove(pub: Publication): void {
    this.tracks.delete(pub.id);
    const mine = this.byPublisher.get(pub.publisher.id);
    mine?.delete(pub.id);
    if (mine?.size === 0) this.byPublisher.delete(pub.publisher.id);
    this.out.push({ type: "publication-removed", publisherId: pub.publisher.id, trackId: pub.id });
    this.announce(pub, { type: "track-unpublished", trackId: pub.id, participantId: pub.publisher.id });
    if (pub.publisher.reported) this.out.push(roomEvent("track_unpublished", pub.publisher.room.name, pub.publisher, pub));
  }

  /** Whether an offer of theirs is being negotiated (then their publisher connection is busy). */
  negotiating(publisherId: ParticipantId): boolean {
    return this.pending.has(publisherId);
  }

  /** The participant left: a pending offer of theirs is dropped. */
  forget(participantId: ParticipantId): void {
    this.pending.delete(participantId);
  }

  /** Sends `message` about `pub` to everyone else in its room who is shown its publisher. */
  announce(pub: Publication, message: ServerMessage): void {
    for (const other of pub.publisher.room.others(pub.publisher)) if (pub.publisher.shownTo(other)) this.out.signal(other.id, message);
  }

  /**
   * A mirrored participant's tracks, as its node described them; returns the new publications (the
   * caller announces them). A track id already here is skipped (its node said it twice).
   */
  mirror(publisher: Participant, tracks: readonly MirroredTrack[]): Publication[] {
    const created: Publication[] = [];
    for (const track of tracks) {
      if (this.tracks.has(track.trackId)) continue;
      const pub = Publication.mirrored(publisher, track, this.config.keyframeRequestIntervalMs);
      this.add(pub);
      created.push(pub);
    }
    return created;
  }

  private add(pub: Publication): void {
    this.tracks.set(pub.id, pub);
    let mine = this.byPublisher.get(pub.publisher.id);
    if (mine === undefined) this.byPublisher.set(pub.publisher.id, (mine = new Map()));
    mine.set(pub.id, pub);
  }

  private refusal(publisher: Participant, input: PublishOfferInput): { code: "forbidden" | "too-many-tracks" | "publish-pending" | "already-published" | "bad-message" | "internal"; message: string } | undefined {
    const forbidden = publishForbidden(publisher.grants, input.tracks);
    if (forbidden !== undefined) return { code: "forbidden", message: forbidden };
    if (this.pending.has(publisher.id)) {
      return { code: "publish-pending", message: "a publish offer of yours is still being negotiated; wait for its publish-answer, then offer again" };
    }
    if (publisher.iceRestart !== undefined) {
      return { code: "publish-pending", message: "an ICE restart of yours is still being negotiated; wait for its ice-restarted, then offer again" };
    }
    const mine = this.of(publisher.id);
    const max = this.config.maxTracksPerParticipant;
    if (mine.length + input.tracks.length > max) {
      return {
        code: "too-many-tracks",
        message: `you publish ${mine.length} track(s) and offered ${input.tracks.length} more; at most ${max} per participant: unpublish a track first`,
      };
    }
    const mids = new Set<string>();
    for (const t of input.tracks) {
      if (mids.has(t.mid)) return { code: "bad-message", message: `mid "${t.mid}" is listed twice in tracks; list each m-line once` };
      mids.add(t.mid);
      const published = mine.find((p) => p.mid === t.mid);
      if (published !== undefined) {
        return { code: "already-published", message: `mid "${t.mid}" already carries your track "${published.id}"; unpublish it first or use another m-line` };
      }
    }
    const ids = new Set<TrackId>();
    for (const t of input.tracks) {
      // Track ids are minted by the adapter, never by a client: a clash is a relay bug, not bad input.
      if (this.tracks.has(t.trackId) || ids.has(t.trackId)) return { code: "internal", message: `track id "${t.trackId}" is already in use; nothing was published` };
      ids.add(t.trackId);
    }
    return undefined;
  }
}

/**
 * Why the publisher's token does not allow publishing these tracks, or undefined when it does. Also
 * asked before a WHIP publisher joins (signal/whip-sessions.ts): a refused one never enters the room.
 */
export function publishForbidden(grants: Grants, tracks: ReadonlyArray<Pick<OfferedTrack, "source">>): string | undefined {
  if (grants.hidden) return "you joined hidden (your token's video grant has hidden true): hidden participants cannot publish";
  if (!grants.canPublish) return "your token does not allow publishing (its video grant has canPublish false); you can still receive";
  const refused = tracks.filter((t) => !grants.canPublishSources.includes(t.source));
  if (refused.length === 0) return undefined;
  const sources = [...new Set(refused.map((t) => `"${t.source}"`))].join(", ");
  return `your token allows publishing only ${grants.canPublishSources.map((s) => `"${s}"`).join(", ")} (canPublishSources), not ${sources}; nothing of this offer was published`;
}
