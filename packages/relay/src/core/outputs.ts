/**
 * Everything the core wants done. Each output carries all the adapter needs to act on it: the adapter
 * keeps no copy of the core's state and never asks the core before acting.
 */
import type { ServerMessage, TrackKind } from "@sfu-room/protocol";
import type { AdminReplyOutput } from "./admin.ts";
import type { RelayedData } from "./data-routing.ts";
import type { RoomEventOutput } from "./room-events.ts";
import type { Millis, ParticipantId, SubscriptionId, TrackId } from "./types.ts";

export type Output =
  | SignalOutput
  | ParticipantAddedOutput
  | ParticipantRemovedOutput
  | SessionResumedOutput
  | ParticipantResumedOutput
  | NegotiatePublishOutput
  | RestartIceOutput
  | PublicationRemovedOutput
  | SubscriptionAddedOutput
  | SubscriptionRemovedOutput
  | ForwardOutput
  | PacedForwardOutput
  | RequestKeyframeOutput
  | UpstreamLayerOutput
  | SendNackOutput
  | SendRembOutput
  | RetransmitOutput
  | ProbeOutput
  | DeliverDataOutput
  | AdminReplyOutput
  | RoomEventOutput
  | TimeoutOutput;

/** Send this protocol message to the participant's signaling session (replies, events, dynacast). */
export interface SignalOutput {
  type: "signal";
  participantId: ParticipantId;
  message: ServerMessage;
}

/** A join was accepted: set up the participant's connections (the subscriber connection carries data). */
export interface ParticipantAddedOutput {
  type: "participant-added";
  participantId: ParticipantId;
  /** Connected to another node (JoinInput.presence): no connections here, nothing to set up. */
  mirrored?: true;
}

/** Everything the core held for this participant is gone: the adapter releases its connections. */
export interface ParticipantRemovedOutput {
  type: "participant-removed";
  participantId: ParticipantId;
  /** Set when the relay removed them (their media was lost): close their session, if any, saying so. */
  reason?: string;
  /**
   * With a reason: removed for good (another session took their identity), so their session is closed
   * with a policy code, which tells the client not to reconnect.
   */
  kick?: true;
}

/**
 * A resume was accepted: the session minted as `sessionId` is from now on participant `participantId`'s
 * (signals to them go to it). A session still attached to the participant is closed: it was replaced.
 */
export interface SessionResumedOutput {
  type: "session-resumed";
  sessionId: ParticipantId;
  participantId: ParticipantId;
}

/**
 * The resumed participant has its `resumed` reply: send again what their connections sent while they
 * were away and is still unanswered (the outstanding subscriber offer).
 */
export interface ParticipantResumedOutput {
  type: "participant-resumed";
  participantId: ParticipantId;
}

/**
 * An ICE restart is allowed: apply the publisher connection's restart offer `sdp` and answer it (when
 * they have a publisher connection), offer the subscriber connection again with fresh ICE credentials,
 * then report `ice-restarted` (or `negotiation-failed`) with this request id.
 */
export interface RestartIceOutput {
  type: "restart-ice";
  participantId: ParticipantId;
  requestId: string;
  sdp: string | undefined;
}

/**
 * A publish offer is allowed: answer its SDP, binding each track to its m-line, then report the result
 * (`publish-negotiated` or `negotiation-failed` with this request id).
 */
export interface NegotiatePublishOutput {
  type: "negotiate-publish";
  participantId: ParticipantId;
  requestId: string;
  sdp: string;
  tracks: Array<{ trackId: TrackId; mid: string; kind: TrackKind; layers: readonly string[] }>;
}

/** A published track is gone (unpublished, or its publisher left): stop routing its packets. */
export interface PublicationRemovedOutput {
  type: "publication-removed";
  publisherId: ParticipantId;
  trackId: TrackId;
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

/**
 * Stop the subscriber's m-line for this subscription (and renegotiate). Nothing more is forwarded on
 * it. Not sent for the subscriptions of a participant who leaves: their whole connection goes.
 */
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
  /** PictureID and TL0PICIDX to write into the VP8 payload descriptor (-1: leave that field as is). */
  pictureId: number;
  tl0PicIdx: number;
}

/**
 * A packet the shell keeps (shell/packet-store.ts), sent to one subscription: the publication's packet at
 * `slot` (`historySlot(layer, sourceSeq)`; skip it when the packet there is not `sourceSeq` any more),
 * with these header values.
 */
interface StoredPacketSend {
  subscriptionId: SubscriptionId;
  subscriberId: ParticipantId;
  trackId: TrackId;
  slot: number;
  sourceSeq: number;
  seq: number;
  timestamp: number;
  marker: boolean;
  pictureId: number;
  tl0PicIdx: number;
}

/** Send a video packet the subscriber's pacer held back (pacer.ts), as a `forward` would have sent it (a first send, not a resend). */
export interface PacedForwardOutput extends StoredPacketSend {
  type: "paced-forward";
}

/** Ask the publisher for a keyframe on this layer (PLI on that layer's SSRC). Already throttled. */
export interface RequestKeyframeOutput {
  type: "request-keyframe";
  publisherId: ParticipantId;
  trackId: TrackId;
  layer: number;
}

/**
 * A mirrored participant's track (MirroredTrack): the layer of it, at its origin, that this node's
 * subscribers need now: the highest any of them would pick (layer-selector.ts), -1 when all of them are
 * paused or there are none. The pipe asks the origin node for that layer (and for nothing at -1).
 * Said whenever it changes, and once when the track arrives.
 */
export interface UpstreamLayerOutput {
  type: "upstream-layer";
  publisherId: ParticipantId;
  trackId: TrackId;
  layer: number;
}

/**
 * Ask the publisher again for packets of one layer that did not arrive: a generic NACK (RTCP) on that
 * layer's SSRC. Already past the reorder window, retried at most once per round trip (loss-recovery.ts).
 */
export interface SendNackOutput {
  type: "send-nack";
  publisherId: ParticipantId;
  trackId: TrackId;
  layer: number;
  /** 16-bit sequence numbers of the publisher's stream. */
  seqs: number[];
}

/**
 * Send the publisher a REMB (RTCP) of this value for its media SSRCs: what it should send the relay at
 * most (its uplink as the relay estimates it, or its viewers' downlinks; congestion/publisher-remb.ts).
 */
export interface SendRembOutput {
  type: "send-remb";
  publisherId: ParticipantId;
  bitsPerSecond: number;
}

/**
 * Send a subscriber again a packet it was sent, as probe padding (probing.ts): as RTX on the m-line's
 * RTX SSRC, numbered for transport-cc; not at all where the subscriber declined RTX.
 */
export interface ProbeOutput extends StoredPacketSend {
  type: "probe";
}

/** Send a subscriber again a packet it NACKed, with the header values of the forward that first carried it. */
export interface RetransmitOutput extends StoredPacketSend {
  type: "retransmit";
}

/** Send the data frame of the last `data` input, stamped with `from`, to these participants. */
export interface DeliverDataOutput {
  type: "deliver-data";
  from: ParticipantId;
  recipients: ParticipantId[];
  reliable: boolean;
  /** Rooms spanning nodes: also to these pipes, each frame naming the recipients on the pipe's node (`to`; none: all of them). */
  relayed?: RelayedData[];
}

/** Nothing more to do now. Feed a `timeout` input at `at` (Infinity: nothing is scheduled). */
export interface TimeoutOutput {
  type: "timeout";
  at: Millis;
}
