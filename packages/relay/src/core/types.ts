/**
 * The inputs and outputs of the sans-I/O SFU core (see ./index.ts for the run loop).
 *
 * Time is a number of milliseconds from any monotonic origin, carried by every input. The core never
 * reads a clock, opens a socket, sets a timer or draws a random number: the same inputs always give the
 * same outputs.
 */
import type { ServerMessage, TrackKind, TrackSource } from "@sfu-room/protocol";
import type { LayerSize, SubscriberWish } from "./layer-selector.ts";

export type Millis = number;
export type ParticipantId = string;
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
}

export const DEFAULT_CORE_CONFIG: CoreConfig = {
  maxParticipantsPerRoom: 100,
  maxTracksPerParticipant: 8,
  keyframeRequestIntervalMs: 500,
  bandwidthUpgradeHoldMs: 3000,
  maxDataFrameBytes: 16 * 1024,
  dataMessagesPerSecond: 500,
  dataBytesPerSecond: 1024 * 1024,
};

/** A track as the adapter describes it when the publisher's offer was accepted. */
export interface PublishedTrackSpec {
  /** Adapter-assigned, unique in the core. */
  trackId: TrackId;
  kind: TrackKind;
  source: TrackSource;
  /** MIME type, e.g. "video/VP8". */
  codec: string;
  /** RTP clock rate of the codec (90000 for video, 48000 for Opus): used to continue timestamps. */
  clockRate: number;
  /** Simulcast rids, lowest quality first; [] without simulcast (then the only layer is index 0). */
  layers: string[];
  /** Encoded width/height of each layer, lowest first, when the publisher said (for size-based choice). */
  layerSizes?: LayerSize[];
  muted: boolean;
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

export type Input =
  | JoinInput
  | LeaveInput
  | PublishInput
  | UnpublishInput
  | MuteInput
  | SubscribeInput
  | SubscriptionReadyInput
  | LayerPreferenceInput
  | SubscriptionSettingsInput
  | BandwidthEstimateInput
  | RtpInput
  | KeyframeRequestInput
  | DataInput
  | TimeoutInput;

/** A signaling session asks to join a room. Replies `joined` or an error (`room-full`, `already-joined`). */
export interface JoinInput {
  type: "join";
  now: Millis;
  /** Adapter-assigned, unique in the core. */
  participantId: ParticipantId;
  requestId: string;
  room: string;
  name: string;
  /** Subscribe to every existing and future track of the room. */
  autoSubscribe: boolean;
}

/** The participant left or its connection died. Releases everything of theirs. Unknown ids are ignored. */
export interface LeaveInput {
  type: "leave";
  now: Millis;
  participantId: ParticipantId;
}

/**
 * The adapter accepted a publish offer. On success nothing is sent to the publisher (the adapter answers
 * with the SDP); on failure an `error` with `requestId` goes to the publisher and no state changes.
 */
export interface PublishInput {
  type: "publish";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
  tracks: PublishedTrackSpec[];
}

export interface UnpublishInput {
  type: "unpublish";
  now: Millis;
  participantId: ParticipantId;
  /** Present when the client asked (then it gets `ok` or an error); absent when the adapter decided. */
  requestId?: string;
  trackId: TrackId;
}

export interface MuteInput {
  type: "mute";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
  trackId: TrackId;
  muted: boolean;
}

/** The participant wants (subscribe: true) or no longer wants a track. Replies `ok` or an error. */
export interface SubscribeInput {
  type: "subscribe";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
  trackId: TrackId;
  subscribe: boolean;
}

/**
 * The subscriber's connection can now carry this subscription (its m-line is negotiated and the
 * transport is connected). Until then nothing is forwarded for it. Video starts at a keyframe, which is
 * requested from the publisher now.
 */
export interface SubscriptionReadyInput {
  type: "subscription-ready";
  now: Millis;
  subscriptionId: SubscriptionId;
}

/** The highest simulcast layer (index into the track's layers) this subscriber should get. */
export interface LayerPreferenceInput {
  type: "layer-preference";
  now: Millis;
  subscriptionId: SubscriptionId;
  maxLayer: number;
}

/** The subscriber's wish for one subscription changed (only the fields given). */
export interface SubscriptionSettingsInput {
  type: "subscription-settings";
  now: Millis;
  subscriptionId: SubscriptionId;
  settings: Partial<SubscriberWish>;
}

/** What a subscriber's connection can carry now (e.g. from its REMB), bits per second. */
export interface BandwidthEstimateInput {
  type: "bandwidth-estimate";
  now: Millis;
  participantId: ParticipantId;
  bitsPerSecond: number;
}

/**
 * One RTP packet arrived from a publisher. Only the header facts the core needs; the adapter keeps the
 * packet and acts on the `forward` outputs polled right after. The adapter may reuse one object for
 * every packet: the core copies what it keeps.
 */
export interface RtpInput {
  type: "rtp";
  now: Millis;
  publisherId: ParticipantId;
  trackId: TrackId;
  /** Index into the track's layers (0 without simulcast). */
  layer: number;
  /** 16-bit RTP sequence number. */
  seq: number;
  /** 32-bit RTP timestamp. */
  timestamp: number;
  marker: boolean;
  /** The packet starts a keyframe (first packet of a VP8/H264 key frame). Always false for audio. */
  keyframe: boolean;
  /** Payload bytes. */
  size: number;
}

/** A subscriber's decoder asked for a keyframe (PLI/FIR) on this subscription. Throttled, coalesced. */
export interface KeyframeRequestInput {
  type: "keyframe-request";
  now: Millis;
  subscriptionId: SubscriptionId;
}

/**
 * A participant sent a data frame. The adapter keeps the bytes and acts on the `deliver-data` output
 * polled right after; on refusal the sender gets an `error` (with `messageId` as its id).
 */
export interface DataInput {
  type: "data";
  now: Millis;
  participantId: ParticipantId;
  /** Arrived on the reliable (ordered) channel, and goes out on it; else the lossy one. */
  reliable: boolean;
  /** Recipients; undefined means everyone else in the room. */
  to: readonly ParticipantId[] | undefined;
  /** Frame size in bytes (header + payload). */
  size: number;
  /** The frame header's `id`, echoed in an error. */
  messageId: string | undefined;
}

/** Time has passed; the adapter calls this at (or after) the time of the last `timeout` output. */
export interface TimeoutInput {
  type: "timeout";
  now: Millis;
}

// ---------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------

export type Output =
  | SignalOutput
  | SubscriptionAddedOutput
  | SubscriptionRemovedOutput
  | ForwardOutput
  | RequestKeyframeOutput
  | ParticipantRemovedOutput
  | DeliverDataOutput
  | LayersWantedOutput
  | TimeoutOutput;

/** Send this protocol message to the participant's signaling session. */
export interface SignalOutput {
  type: "signal";
  participantId: ParticipantId;
  message: ServerMessage;
}

/** Add a sending m-line for this track to the subscriber's connection (and renegotiate it). */
export interface SubscriptionAddedOutput {
  type: "subscription-added";
  subscriptionId: SubscriptionId;
  subscriberId: ParticipantId;
  publisherId: ParticipantId;
  trackId: TrackId;
  kind: TrackKind;
  codec: string;
}

/** Stop the subscriber's m-line for this subscription (and renegotiate). Nothing more is forwarded on it. */
export interface SubscriptionRemovedOutput {
  type: "subscription-removed";
  subscriptionId: SubscriptionId;
  subscriberId: ParticipantId;
}

/**
 * Send the RTP packet of the last `rtp` input on this subscription, with these header values. The
 * object may be reused by the core: read it before the next poll().
 */
export interface ForwardOutput {
  type: "forward";
  subscriptionId: SubscriptionId;
  subscriberId: ParticipantId;
  seq: number;
  timestamp: number;
  marker: boolean;
}

/** Ask the publisher for a keyframe on this layer (PLI on that layer's SSRC). Already throttled. */
export interface RequestKeyframeOutput {
  type: "request-keyframe";
  publisherId: ParticipantId;
  trackId: TrackId;
  layer: number;
}

/** Send the data frame of the last `data` input, stamped with `from`, to these participants. */
export interface DeliverDataOutput {
  type: "deliver-data";
  from: ParticipantId;
  recipients: ParticipantId[];
  reliable: boolean;
}

/**
 * Dynacast: which simulcast layers of a track some subscriber needs now. The publisher may stop encoding
 * the others and must resume one when it is wanted again. Sent whenever the set changes.
 */
export interface LayersWantedOutput {
  type: "layers-wanted";
  publisherId: ParticipantId;
  trackId: TrackId;
  /** Per layer, lowest first. */
  layers: boolean[];
}

/** Everything the core held for this participant is gone: the adapter releases its connections. */
export interface ParticipantRemovedOutput {
  type: "participant-removed";
  participantId: ParticipantId;
}

/** Nothing more to do now. Feed a `timeout` input at `at` (Infinity: nothing is scheduled). */
export interface TimeoutOutput {
  type: "timeout";
  at: Millis;
}

/** Counts for health, metrics and leak checks. */
export interface CoreStats {
  rooms: number;
  participants: number;
  tracks: number;
  subscriptions: number;
  /** Keyframe requests waiting for their throttle interval to pass. */
  pendingKeyframeRequests: number;
}
