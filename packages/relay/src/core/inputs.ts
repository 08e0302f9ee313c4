/**
 * Everything the core can learn. Two families:
 *
 * - **Requests**: a client's signaling message, after the adapter did what needs I/O (minting ids,
 *   negotiating SDP). They carry the client's `requestId`, and the core answers every one of them with
 *   exactly one reply output (`ok`, `joined`, `publish-answer` or an `error` with a specific code).
 *   A request from a participant who has not joined is answered `not-joined`.
 * - **Facts**: what the adapter observed (a connection came up, a packet or an estimate arrived, time
 *   passed). They are never answered; unknown ids in them are ignored.
 */
import type { ErrorCode, IceServer, Quality } from "@sfu-room/protocol";
import type { AdminInput } from "./admin.ts";
import type { FeedbackPacket } from "./congestion/send-side-estimator.ts";
import type { Presence } from "./participant.ts";
import type { Grants, Millis, MirroredTrack, NegotiatedTrack, OfferedTrack, ParticipantId, SubscriptionId, TrackId } from "./types.ts";

export type Input =
  | JoinInput
  | LeaveInput
  | SessionClosedInput
  | ResumeInput
  | RestartIceInput
  | RefreshTokenInput
  | IceRestartedInput
  | PublishOfferInput
  | PublishNegotiatedInput
  | MirrorPublishInput
  | MirrorUpdateInput
  | NegotiationFailedInput
  | UnpublishInput
  | MuteInput
  | SubscribeInput
  | SubscriptionSettingsInput
  | KeyframeRequestInput
  | SubscriptionReadyInput
  | LayerPreferenceInput
  | BandwidthEstimateInput
  | TransportFeedbackInput
  | PublisherArrivalsInput
  | PictureLossInput
  | NackInput
  | RoundTripInput
  | RtpInput
  | DataInput
  | DataBackedUpInput
  | MediaLostInput
  | AdminInput
  | TimeoutInput;

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/**
 * A signaling session asks to join a room. Replies `joined` (then `participant-added`, and the joiner's
 * subscriptions) or an error (`room-full`, `already-joined`, `unauthorized`), in which case nothing of
 * it stays.
 */
export interface JoinInput {
  type: "join";
  now: Millis;
  /** The session's id, minted by the adapter when the socket opened. */
  participantId: ParticipantId;
  requestId: string;
  room: string;
  name: string;
  /** Subscribe to every existing and future track of the room. */
  autoSubscribe: boolean;
  /** ICE servers for this participant (TURN credentials minted by the adapter); sent in `joined`. */
  iceServers?: IceServer[];
  /** Proves a later `resume` is this participant's (minted by the adapter: the core has no randomness). */
  resumeSecret?: string;
  /**
   * The client lost its session and joins again: that session's id and secret. Counted; a session the
   * core still holds in the same room with that secret is removed first (the new one replaces it).
   */
  rejoinOf?: { participantId: ParticipantId; secret: string };
  /**
   * What the adapter's check of the join's token found: its grants, or why the token is refused (then
   * the join is, with `unauthorized`). Undefined: the relay has no keys and admits everyone to any room.
   */
  access?: JoinAccess;
  /**
   * Rooms spanning nodes (participant.ts): another node's pipe (joins hidden, receives only this node's
   * own participants' tracks) or a mirror of another node's participant (no connections here, never
   * subscribes; its `joined` reply goes nowhere). Set by the cluster, never by a client. Default: local.
   */
  presence?: Presence;
}

/** A verified token's grants (the core still checks them against the join), or the adapter's refusal. */
export type JoinAccess = { granted: Grants } | { refused: string };

/**
 * The participant leaves (requestId: it asked, and gets `ok` even when it was not in a room) or is gone
 * (no requestId: its socket closed or its connections died). Releases everything of theirs.
 */
export interface LeaveInput {
  type: "leave";
  now: Millis;
  participantId: ParticipantId;
  requestId?: string | undefined;
}

/**
 * A new signaling session (its own minted id, not joined) takes back participant `resumeOf`, whose
 * session dropped (away) or is still attached (a half-open socket the relay has not noticed: it is
 * replaced). Replies `resumed` to `resumeOf` (after `session-resumed`, which re-binds the session), or
 * `resume-refused` to the session when the participant is not there, the room or the secret differs,
 * or the relay keeps no sessions (resume window 0); `already-joined` when the session itself joined.
 */
export interface ResumeInput {
  type: "resume";
  now: Millis;
  /** The new session's id, minted by the adapter when its socket opened. */
  participantId: ParticipantId;
  requestId: string;
  room: string;
  /** The participant to take back (`joined.participantId`). */
  resumeOf: ParticipantId;
  /** Must equal the `resumeSecret` of their join. */
  secret: string;
  /** Fresh ICE servers for them (TURN credentials minted by the adapter); sent in `resumed`. */
  iceServers?: IceServer[];
  /** The secret for their next resume (minted by the adapter): a grant is used once. */
  nextSecret?: string;
}

/**
 * ICE restart, phase 1: the client wants fresh ICE credentials on its connections (`sdp`: its publisher
 * connection's ICE-restart offer). Refused with `publish-pending` while a publish or another restart
 * negotiates; allowed with a `restart-ice` output, after which the adapter reports `ice-restarted` or
 * `negotiation-failed` with this request id.
 */
export interface RestartIceInput {
  type: "restart-ice";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
  sdp: string | undefined;
}

/**
 * A joined participant's new token (`refresh-token`), verified by the adapter: `access` as a join's,
 * absent on a relay without keys (then nothing changes). Replies `ok`, or `unauthorized`. What the new
 * grants no longer allow stops (withdrawn-grants.ts): tracks unpublished, subscriptions ended.
 */
export interface RefreshTokenInput {
  type: "refresh-token";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
  access?: JoinAccess;
}

/** ICE restart, phase 2: the connections restart. Replies `ice-restarted` with the publisher's answer (if any). */
export interface IceRestartedInput {
  type: "ice-restarted";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
  sdp: string | undefined;
}

/**
 * Publishing, phase 1: the client's publish offer, before any SDP is applied. Refused (too many tracks,
 * a mid already published, a publish still negotiating) with an error and no change; allowed with a
 * `negotiate-publish` output, after which the adapter answers the SDP and reports the result with
 * `publish-negotiated` or `negotiation-failed`. So a refused publish never touches the peer connection.
 */
export interface PublishOfferInput {
  type: "publish-offer";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
  /** The offer, passed back in `negotiate-publish` untouched. */
  sdp: string;
  tracks: OfferedTrack[];
}

/** Publishing, phase 2: the answer to an allowed offer is ready. Replies `publish-answer`; the others learn the tracks. */
export interface PublishNegotiatedInput {
  type: "publish-negotiated";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
  /** The SDP answer for the client. */
  sdp: string;
  /** One per offered track. */
  tracks: NegotiatedTrack[];
}

/**
 * Tracks of a mirrored participant (JoinInput.presence) arrive through its node's pipe: they exist at
 * once (there is no SDP of theirs here) and are announced to this node's participants, who subscribe as
 * to any track. Unpublish and mute of mirrors are the `unpublish` and `mute` requests (their replies go
 * nowhere). A participant who is not a mirror is refused (`internal`: only the cluster sends this).
 */
export interface MirrorPublishInput {
  type: "mirror-publish";
  now: Millis;
  participantId: ParticipantId;
  tracks: MirroredTrack[];
}

/** A mirrored participant's name or metadata changed on its node (the server API there): this node's participants are told. */
export interface MirrorUpdateInput {
  type: "mirror-update";
  now: Millis;
  participantId: ParticipantId;
  name: string;
  metadata: string | undefined;
}

/**
 * The adapter could not apply a client's SDP (a publish offer allowed in phase 1, an ICE restart, or a
 * subscriber answer). Replies the error; a pending publish or restart is forgotten, so nothing of it stays.
 */
export interface NegotiationFailedInput {
  type: "negotiation-failed";
  now: Millis;
  participantId: ParticipantId;
  /** The publish offer's request id; undefined for a subscriber answer (it has none). */
  requestId: string | undefined;
  code: Extract<ErrorCode, "bad-sdp" | "stale-offer" | "internal">;
  message: string;
}

export interface UnpublishInput {
  type: "unpublish";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
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

/** What the subscriber says about one subscription; the fields given change, the others stay. */
export interface SubscriberSettings {
  quality?: Quality | undefined;
  /** Rendered size of the tile in device pixels. */
  width?: number | undefined;
  height?: number | undefined;
  /** false: paused. */
  visible?: boolean | undefined;
}

/** The subscriber's wish for a track it receives changed. Replies `ok`, or `unknown-track` when it does not receive it. */
export interface SubscriptionSettingsInput {
  type: "subscription-settings";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
  trackId: TrackId;
  settings: SubscriberSettings;
}

/** The subscriber asks for a keyframe of a track it receives. Replies `ok` or `unknown-track`; throttled. */
export interface KeyframeRequestInput {
  type: "keyframe-request";
  now: Millis;
  participantId: ParticipantId;
  requestId: string;
  trackId: TrackId;
}

// ---------------------------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------------------------

/**
 * A signaling session's socket closed without `leave`. A joined participant becomes away for the
 * resume window (removed at once when it is 0); a session that never joined leaves nothing.
 */
export interface SessionClosedInput {
  type: "session-closed";
  now: Millis;
  participantId: ParticipantId;
}

/**
 * A participant's peer connection stayed disconnected or failed past its grace, or never came up.
 * Removed (`participant-removed` with the reason), unless away: then the resume window decides, so a
 * client whose network stalled can still resume and restart ICE.
 */
export interface MediaLostInput {
  type: "media-lost";
  now: Millis;
  participantId: ParticipantId;
  reason: string;
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

/** What a subscriber's connection can carry now (e.g. from its REMB), bits per second. */
export interface BandwidthEstimateInput {
  type: "bandwidth-estimate";
  now: Millis;
  participantId: ParticipantId;
  bitsPerSecond: number;
}

/**
 * A subscriber's transport-cc feedback, resolved by the adapter against what it sent: per packet, in
 * transport sequence order, when the relay sent it, its size, and when it arrived or that it was lost.
 * Its send-side estimate caps that subscriber's layers, and from then on its REMB is ignored.
 */
export interface TransportFeedbackInput {
  type: "transport-feedback";
  now: Millis;
  participantId: ParticipantId;
  packets: readonly FeedbackPacket[];
}

/**
 * What arrived from a publisher that does only REMB (no transport-cc): per packet since the last such
 * input, in arrival order, its abs-send-time as `sentAt` (ms, unwrapped; the publisher's clock), its
 * size, and when it arrived (the relay's clock). The relay's receive estimate from it goes back to the
 * publisher as REMB (`send-remb`).
 */
export interface PublisherArrivalsInput {
  type: "publisher-arrivals";
  now: Millis;
  participantId: ParticipantId;
  packets: readonly FeedbackPacket[];
}

/** A subscriber's decoder asked for a keyframe (RTCP PLI/FIR) on this subscription. Throttled, coalesced. */
export interface PictureLossInput {
  type: "picture-loss";
  now: Millis;
  subscriptionId: SubscriptionId;
}

/**
 * A subscriber's generic NACK (RTCP) on this subscription: the sequence numbers it lacks, as it received
 * them (the rewritten ones). Answered with `retransmit` outputs as loss-recovery.ts allows.
 */
export interface NackInput {
  type: "nack";
  now: Millis;
  subscriptionId: SubscriptionId;
  seqs: readonly number[];
}

/** A participant's round-trip time as one of its connections measured it (RTCP receiver reports). */
export interface RoundTripInput {
  type: "round-trip-time";
  now: Millis;
  participantId: ParticipantId;
  rttMs: Millis;
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
  /** VP8 payload descriptor: 15-bit PictureID, -1 without one (other codecs, 7-bit ids). */
  pictureId: number;
  /** VP8 payload descriptor: TL0PICIDX, -1 without one. */
  tl0PicIdx: number;
  /** Audio: the RFC 6464 level, -dBov (0 loudest, 127 silence); absent or -1 without the extension. */
  audioLevel?: number;
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
  /** Why the frame could not be decoded (then it is refused with `bad-data`); undefined for a good frame. */
  malformed: string | undefined;
  /** Recipients; undefined means everyone else in the room. */
  to: readonly ParticipantId[] | undefined;
  /** Frame size in bytes (header + payload). */
  size: number;
  /** The frame header's `id`, echoed in an error. */
  messageId: string | undefined;
}

/**
 * Recipients of the last delivered reliable frame did not get it: their channel is backed up (they are
 * not keeping up). The sender is told, so a reliable message is delivered or its sender knows.
 */
export interface DataBackedUpInput {
  type: "data-backed-up";
  now: Millis;
  participantId: ParticipantId;
  recipients: readonly ParticipantId[];
  /** The frame header's `id`, echoed in the error. */
  messageId: string | undefined;
}

/** Time has passed; the adapter calls this at (or after) the time of the last `timeout` output. */
export interface TimeoutInput {
  type: "timeout";
  now: Millis;
}
