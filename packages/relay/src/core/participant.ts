/** A member of one room: what they publish and what they receive. */
import type { ParticipantInfo } from "@sfu-room/protocol";
import type { Publication } from "./publication.ts";
import type { Room } from "./room.ts";
import type { Subscription } from "./subscription.ts";
import { TokenBucket } from "./token-bucket.ts";
import type { CoreConfig, ParticipantId, TrackId } from "./types.ts";

type DataLimits = Pick<CoreConfig, "dataMessagesPerSecond" | "dataBytesPerSecond">;

export class Participant {
  /** Their tracks, in publish order. */
  readonly publications = new Map<TrackId, Publication>();
  /** What they receive, by the track received. */
  readonly subscriptions = new Map<TrackId, Subscription>();

  readonly id: ParticipantId;
  readonly name: string;
  readonly room: Room;
  /** Subscribe to every existing and future track of the room. */
  readonly autoSubscribe: boolean;

  /** The last downlink estimate of their subscriber connection, bits/s (undefined: none yet). */
  downlinkBps: number | undefined;
  /** Data rate limits: frames and bytes. */
  readonly dataFrames: TokenBucket;
  readonly dataBytes: TokenBucket;

  constructor(id: ParticipantId, name: string, room: Room, autoSubscribe: boolean, limits: DataLimits) {
    this.dataFrames = new TokenBucket(2 * limits.dataMessagesPerSecond, limits.dataMessagesPerSecond);
    this.dataBytes = new TokenBucket(2 * limits.dataBytesPerSecond, limits.dataBytesPerSecond);
    this.id = id;
    this.name = name;
    this.room = room;
    this.autoSubscribe = autoSubscribe;
  }

  info(): ParticipantInfo {
    return { id: this.id, name: this.name, tracks: [...this.publications.values()].map((p) => p.info()) };
  }
}
