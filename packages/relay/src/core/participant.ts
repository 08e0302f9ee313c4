/** A member of one room. What they publish and receive is held by Publishing and the SubscriptionTable. */
import type { Room } from "./room.ts";
import { TokenBucket } from "./token-bucket.ts";
import type { CoreConfig, Grants, ParticipantId } from "./types.ts";

type DataLimits = Pick<CoreConfig, "dataMessagesPerSecond" | "dataBytesPerSecond">;

/**
 * Rooms spanning nodes (docs/scale.md): besides the participants connected here, a room may hold
 * - a **pipe**: another node's (`node`) hidden participant that receives the tracks and data of this
 *   node's own participants (and only those: a track crosses each pipe at most once, so there are no loops);
 * - **mirrors**: participants connected to another node (`origin`), whose tracks arrive here through
 *   that node's pipe. They have no connections here and never subscribe.
 */
export type Presence = { kind: "local" } | { kind: "pipe"; node: string } | { kind: "mirror"; origin: string };

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
  /** Connected here, another node's pipe, or mirrored from another node. */
  readonly presence: Presence;

  constructor(id: ParticipantId, name: string, room: Room, autoSubscribe: boolean, resumeSecret: string, grants: Grants, limits: DataLimits, presence: Presence = LOCAL) {
    this.id = id;
    this.name = name;
    this.grants = grants;
    this.metadata = grants.metadata;
    this.room = room;
    this.autoSubscribe = autoSubscribe;
    this.resumeSecret = resumeSecret;
    this.dataFrames = new TokenBucket(2 * limits.dataMessagesPerSecond, limits.dataMessagesPerSecond);
    this.dataBytes = new TokenBucket(2 * limits.dataBytesPerSecond, limits.dataBytesPerSecond);
    this.presence = presence;
  }

  /** Connected to another node: what this node knows of them comes through that node's pipe. */
  get mirrored(): boolean {
    return this.presence.kind === "mirror";
  }

  get pipe(): boolean {
    return this.presence.kind === "pipe";
  }

  /** Whether `other` is told about this participant and their tracks: a pipe carries only this node's own. */
  shownTo(other: Participant): boolean {
    return !(other.pipe && this.presence.kind !== "local");
  }

  /** Reported in webhooks and the server API's events by this node (a mirror is, by its own node; a pipe is not a person). */
  get reported(): boolean {
    return this.presence.kind === "local";
  }
}

const LOCAL: Presence = { kind: "local" };
