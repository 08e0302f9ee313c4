/**
 * The vocabulary of the sans-I/O SFU core: ids, time, limits. Inputs and outputs are in inputs.ts and
 * outputs.ts (see ./index.ts for the run loop).
 *
 * Time is a number of milliseconds from any monotonic origin, carried by every input. The core never
 * reads a clock, opens a socket, sets a timer or draws a random number: the same inputs always give the
 * same outputs.
 */
import type { LayerSize, TrackKind, TrackSource } from "@sfu-room/protocol";

export type Millis = number;
/** Minted by the adapter (unguessable, unique in the core): the core has no randomness. */
export type ParticipantId = string;
/** Minted by the adapter for each track a publish offer declares (unguessable, unique in the core). */
export type TrackId = string;
/** Core-assigned, unique for the core's lifetime, never reused: one (subscriber, track) pair. */
export type SubscriptionId = number;

/** Limits and timings of the core. Every field has a default (DEFAULT_CORE_CONFIG). */
export interface CoreConfig {
  /** Participants in one room; the next join gets `room-full`. */
  maxParticipantsPerRoom: number;
  /** Tracks one participant may publish at once; more gets `too-many-tracks`. */
  maxTracksPerParticipant: number;
  /**
   * At most one keyframe request per (publisher track, layer) in this interval. Requests that arrive
   * inside it are coalesced into one, sent when the interval has passed.
   */
  keyframeRequestIntervalMs: Millis;
  /**
   * After a subscriber's layer was lowered for bandwidth, it is raised again (one layer at a time) only
   * when its estimate has allowed more for this long: down fast, up carefully.
   */
  bandwidthUpgradeHoldMs: Millis;
  /** Largest data frame (header + payload) a participant may send; larger gets `data-too-large`. */
  maxDataFrameBytes: number;
  /** Data frames per second one participant may send (bursts of twice this); more get `rate-limited`. */
  dataMessagesPerSecond: number;
  /** Data bytes per second one participant may send (bursts of twice this). */
  dataBytesPerSecond: number;
  /**
   * A participant whose signaling session closes without `leave` is kept this long (away: media and
   * data flow on, signals to them are dropped), so a new session can `resume` it; 0: removed at once.
   */
  resumeWindowMs: Millis;
  /** How often each participant's connection quality is rated (connection-quality.ts); 0: never. */
  connectionQualityIntervalMs: Millis;
}

export const DEFAULT_CORE_CONFIG: CoreConfig = {
  maxParticipantsPerRoom: 100,
  maxTracksPerParticipant: 8,
  keyframeRequestIntervalMs: 500,
  bandwidthUpgradeHoldMs: 3000,
  maxDataFrameBytes: 16 * 1024,
  dataMessagesPerSecond: 500,
  dataBytesPerSecond: 1024 * 1024,
  resumeWindowMs: 20_000,
  connectionQualityIntervalMs: 2000,
};

/** A track a publish offer declares, as the client described it, with the adapter's id for it. */
export interface OfferedTrack {
  trackId: TrackId;
  /** The m-line of the publisher's offer that carries it. */
  mid: string;
  kind: TrackKind;
  source: TrackSource;
  /** Simulcast rids, lowest quality first; [] without simulcast (then the only layer is index 0). */
  layers: string[];
  /** Encoded width/height of each layer, lowest first, when the publisher said (for size-based choice). */
  layerSizes?: LayerSize[] | undefined;
  muted: boolean;
}

/**
 * A track of another node's participant, as that node described it. It arrives here as one stream (the
 * layer the pipe asks for, see `upstream-layer`), so it has one layer here; `layers` and `layerSizes`
 * are its layers at the origin, from which this node's subscribers choose.
 */
export interface MirroredTrack {
  trackId: TrackId;
  kind: TrackKind;
  source: TrackSource;
  codec: string;
  clockRate: number;
  muted: boolean;
  layers: string[];
  layerSizes?: LayerSize[] | undefined;
}

/** What negotiating the publisher's SDP found out about an offered track. */
export interface NegotiatedTrack {
  trackId: TrackId;
  /** MIME type, e.g. "video/VP8". */
  codec: string;
  /** RTP clock rate of the codec (90000 for video, 48000 for Opus): used to continue timestamps. */
  clockRate: number;
}

/**
 * What a participant may do, from their verified access token (docs/auth.md: LiveKit's `video` grant,
 * with the token's identity claims). A relay without keys admits everyone with {@link openGrants}.
 */
export interface Grants {
  /** The token's `sub`: who they are (one session per identity and room: a second join replaces the first). */
  identity: string;
  /** The token's `name`: shown to the others instead of the join's `name`. */
  name: string | undefined;
  /** The token's `metadata`, opaque to the relay. */
  metadata: string | undefined;
  /** The only room the token joins. */
  room: string;
  roomJoin: boolean;
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
  /** The sources they may publish (when canPublish). */
  canPublishSources: readonly TrackSource[];
  /** Not announced to the others, and never publishing: a recorder, a moderator watching. */
  hidden: boolean;
  /** The server API's room-scoped methods, for `room` only (core/admin.ts). */
  roomAdmin: boolean;
  /** The server API's ListRooms (core/admin.ts). */
  roomList: boolean;
}

/** Every track source: what a token without `canPublishSources` allows. */
export const ALL_SOURCES: readonly TrackSource[] = ["camera", "microphone", "screen", "screen-audio", "unknown"];

/** Everything allowed in `room`: the grants of every participant of a relay that has no keys. */
export function openGrants(room: string): Grants {
  return {
    identity: "", name: undefined, metadata: undefined, room, roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true,
    canPublishSources: ALL_SOURCES, hidden: false, roomAdmin: false, roomList: false,
  };
}

/** Tracks and subscriptions (by their track's kind), for metrics. */
export interface KindCounts {
  tracks: Record<"audio" | "video", number>;
  subscriptions: Record<"audio" | "video", number>;
}

/** Counts for health, metrics and leak checks. */
export interface CoreStats {
  rooms: number;
  participants: number;
  tracks: number;
  subscriptions: number;
  /** Keyframe requests waiting for their throttle interval to pass. */
  pendingKeyframeRequests: number;
  /** Resumes accepted since the core started. */
  resumes: number;
  /** Resumes refused since the core started (`resume-refused`). */
  resumeRefusals: number;
  /** Joins since the core started that said they rejoin after a lost session (`join.rejoinOf`). */
  rejoins: number;
  /** Times a subscription's forwarded simulcast layer changed from one layer to another, since the core started. */
  layerSwitches: number;
  /** Data frames delivered to their recipients, since the core started. */
  dataRelayed: number;
  /** Data frames refused (malformed, too large, over the rate, unknown recipient), since the core started. */
  dataRefused: number;
  /** Packets the relay resent to subscribers who NACKed them (loss-recovery.ts), since the core started. */
  retransmits: number;
  /** NACKed packets not resent: within a round trip of the last resend, over budget, or no longer kept. */
  retransmitsWithheld: number;
  /** Sequence numbers NACKed to publishers (each retry counts). */
  nackedToPublishers: number;
  /** Times losses were given up on (not recovered in time): each asked for a keyframe instead. */
  lossesGivenUp: number;
  /** Video packets (first sends or resends) a subscriber's pacer dropped from its full queue (pacer.ts). */
  pacerDropped: number;
  /** Probes of subscribers' downlinks started (probing.ts), since the core started. */
  probes: number;
  /** Probes whose feedback raised the subscriber's estimate. */
  probesSucceeded: number;
  /** Packets sent as probe padding (RTX copies of recent video packets). */
  probePackets: number;
}
