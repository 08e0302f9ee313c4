/**
 * The other participants as last known and their tracks, kept from the relay's messages. A track is
 * bound to its media once both its announcement and its media have arrived, in either order
 * (docs/protocol.md 6.4). The media comes from the current connection. While the Room reconnects
 * the roster is kept as last known; the relay's snapshot (`resumed`, or `joined` of a rejoin) is then
 * reconciled into it with the ordinary events. It is cleared when the Room disconnects.
 */
import type { BandwidthLimit, ParticipantInfo, TrackInfo } from "@sfu-room/protocol";
import { RemoteParticipant, RemoteTrack } from "./remote.ts";
import type { RoomEvents } from "./room-events.ts";
import type { ReceivedTrack } from "./subscriber-transport.ts";
import type { SubscriptionSettings } from "./view-settings.ts";

type RosterEvent =
  | "participant-joined"
  | "participant-left"
  | "participant-updated"
  | "track-published"
  | "track-unpublished"
  | "track-subscribed"
  | "track-unsubscribed"
  | "track-muted"
  | "track-unmuted"
  | "track-bandwidth-limit";

export interface RosterHost {
  localId(): string;
  emit<K extends RosterEvent>(type: K, payload: RoomEvents[K]): void;
  /** The media the current connection already receives for a track. */
  received(trackId: string): ReceivedTrack | undefined;
  /** Sends a track's `subscription-settings`. */
  sendSettings(trackId: string, settings: SubscriptionSettings): Promise<void>;
  /** Whether the elements remote tracks are attached to are observed (ConnectOptions.adaptiveStream). */
  adaptiveStream(): boolean;
  /** Someone left (an event, or found gone by a reconcile): what is kept for them elsewhere goes too. */
  left(participantId: string): void;
}

export class RemoteRoster {
  readonly participants = new Map<string, RemoteParticipant>();
  readonly #host: RosterHost;

  constructor(host: RosterHost) {
    this.#host = host;
  }

  /** `announce` false: there at join, so in `participants` when the join completes but not announced. */
  join(info: ParticipantInfo, announce: boolean): void {
    if (info.id === this.#host.localId() || this.participants.has(info.id)) return;
    const participant = new RemoteParticipant(info);
    this.participants.set(info.id, participant);
    if (announce) this.#host.emit("participant-joined", { participant });
    for (const track of info.tracks) this.publish(track, announce);
  }

  /** Their name or metadata changed (`participant-updated`, or found changed by a reconcile). */
  update(info: Pick<ParticipantInfo, "id" | "name" | "metadata">): void {
    const participant = this.participants.get(info.id);
    if (!participant || (participant.name === info.name && participant.metadata === info.metadata)) return;
    participant.name = info.name;
    participant.metadata = info.metadata;
    this.#host.emit("participant-updated", { participant });
  }

  leave(participantId: string): void {
    const participant = this.participants.get(participantId);
    if (!participant) return;
    for (const trackId of [...participant.tracks.keys()]) this.unpublish(participantId, trackId);
    this.participants.delete(participantId);
    this.#host.left(participantId);
    this.#host.emit("participant-left", { participant });
  }

  publish(info: TrackInfo, announce: boolean): void {
    const participant = this.participants.get(info.participantId);
    if (!participant) return;
    const existing = participant.tracks.get(info.id);
    if (existing) {
      existing.update(info);
      return;
    }
    const track = new RemoteTrack(info, (settings) => this.#host.sendSettings(info.id, settings), this.#host.adaptiveStream());
    participant.tracks.set(info.id, track);
    if (announce) this.#host.emit("track-published", { participant, track });
    const received = this.#host.received(info.id);
    if (received) this.received(received);
  }

  unpublish(participantId: string, trackId: string): void {
    const participant = this.participants.get(participantId);
    const track = participant?.tracks.get(trackId);
    if (!participant || !track) return;
    if (track.unbind()) this.#host.emit("track-unsubscribed", { participant, track });
    participant.tracks.delete(trackId);
    this.#host.emit("track-unpublished", { participant, track });
  }

  mute(participantId: string, trackId: string, muted: boolean): void {
    const participant = this.participants.get(participantId);
    const track = participant?.tracks.get(trackId);
    if (!participant || !track || track.muted === muted) return;
    track.muted = muted;
    this.#host.emit(muted ? "track-muted" : "track-unmuted", { participant, track });
  }

  /** The relay's `bandwidth-limit` for a track you receive. */
  limit(trackId: string, limit: BandwidthLimit): void {
    for (const participant of this.participants.values()) {
      const track = participant.tracks.get(trackId);
      if (!track || track.bandwidthLimit === limit) continue;
      track.bandwidthLimit = limit;
      this.#host.emit("track-bandwidth-limit", { participant, track });
    }
  }

  /** Media arrived; for a track not announced yet, publish() binds it when the announcement comes. */
  received(received: ReceivedTrack): void {
    const participant = this.participants.get(received.participantId);
    const track = participant?.tracks.get(received.trackId);
    if (!participant || !track) return;
    track.bind(received);
    this.#host.emit("track-subscribed", { participant, track });
  }

  receiveEnded(received: ReceivedTrack): void {
    const participant = this.participants.get(received.participantId);
    const track = participant?.tracks.get(received.trackId);
    // The track may already carry newer media (its m-line was replaced): only this reception ends.
    if (!participant || !track || track.receiver !== received.receiver) return;
    track.unbind();
    this.#host.emit("track-unsubscribed", { participant, track });
  }

  /**
   * The room as the relay has it now (after a resume or a rejoin): who left, joined, published,
   * unpublished or (un)muted meanwhile gets its usual event; whoever is unchanged keeps their objects
   * (and, after a resume, their media).
   */
  reconcile(snapshot: readonly ParticipantInfo[]): void {
    const now = new Map(snapshot.filter((p) => p.id !== this.#host.localId()).map((p) => [p.id, p]));
    for (const id of [...this.participants.keys()]) if (!now.has(id)) this.leave(id);
    for (const info of now.values()) {
      const participant = this.participants.get(info.id);
      if (!participant) {
        this.join(info, true);
        continue;
      }
      this.update(info);
      const tracks = new Map(info.tracks.map((t) => [t.id, t]));
      for (const trackId of [...participant.tracks.keys()]) if (!tracks.has(trackId)) this.unpublish(info.id, trackId);
      for (const track of info.tracks) {
        this.mute(info.id, track.id, track.muted);
        this.publish(track, true);
      }
    }
  }

  /** The connection carrying the media was replaced (a rejoin): every track loses its media until the new one brings it. */
  unbindAll(): void {
    for (const participant of this.participants.values()) {
      for (const track of participant.tracks.values()) if (track.unbind()) this.#host.emit("track-unsubscribed", { participant, track });
    }
  }

  /** The connection ended: no media any more, and nobody known until the next join. */
  clear(): void {
    for (const participant of this.participants.values()) for (const track of participant.tracks.values()) track.unbind();
    this.participants.clear();
  }
}
