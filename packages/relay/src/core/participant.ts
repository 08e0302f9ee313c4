/** A member of one room. What they publish and receive is held by Publishing and the SubscriptionTable. */
import type { Room } from "./room.ts";
import { TokenBucket } from "./token-bucket.ts";
import type { CoreConfig, Grants, ParticipantId } from "./types.ts";

type DataLimits = Pick<CoreConfig, "dataMessagesPerSecond" | "dataBytesPerSecond">;

export class Participant {
  readonly id: ParticipantId;
  /** Shown to the others; never identity (the id is). The server API may change it. */
  name: string;
  /** Opaque to the relay, shown to the others: the token's `metadata`, then what the server API sets. */
  metadata: string | undefined;
  readonly room: Room;
  /** Subscribe to every existing and future track of the room. */
  readonly autoSubscribe: boolean;
  /** Proves a `resume` is this participant's (minted by the adapter at join); "" never resumes. */
  /** Replaced at each resume: a grant is used once. */
  resumeSecret: string;
  /** What their token allows; the rules of publishing, subscribing and data ask it. A refreshed token replaces it. */
  grants: Grants;
  /** The request id of the ICE restart under way, if one is. */
  iceRestart: string | undefined = undefined;
  /** Data rate limits: frames and bytes. */
  readonly dataFrames: TokenBucket;
  readonly dataBytes: TokenBucket;

  constructor(id: ParticipantId, name: string, room: Room, autoSubscribe: boolean, resumeSecret: string, grants: Grants, limits: DataLimits) {
    this.id = id;
    this.name = name;
    this.grants = grants;
    this.metadata = grants.metadata;
    this.room = room;
    this.autoSubscribe = autoSubscribe;
    this.resumeSecret = resumeSecret;
    this.dataFrames = new TokenBucket(2 * limits.dataMessagesPerSecond, limits.dataMessagesPerSecond);
    this.dataBytes = new TokenBucket(2 * limits.dataBytesPerSecond, limits.dataBytesPerSecond);
  }
}
