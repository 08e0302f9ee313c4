/**
 * Every signaling message of sfu-room, as a valibot schema. The TypeScript types are inferred from the
 * same schemas (see index.ts), so the relay and the SDK validate exactly what they type-check.
 *
 * Conventions (docs/protocol.md describes the flow):
 * - one JSON object per WebSocket text frame, discriminated by `type`;
 * - a client request carries an `id` (any string up to 64 chars); the relay's reply to it carries the
 *   same `id`, whether it is the success reply or an `error`;
 * - the relay may send events (no `id`) at any time after `joined`.
 */
import * as v from "valibot";

/** Limits that are part of the protocol itself (the relay may configure lower ones). */
export const PROTOCOL_LIMITS = {
  /** Longest request id. */
  requestIdLength: 64,
  /** Longest display name, in characters. */
  nameLength: 64,
  /** Longest token (JWT or opaque). */
  tokenLength: 4096,
  /** Longest SDP the relay accepts. */
  sdpLength: 64 * 1024,
  /** Most tracks described in one publish offer. */
  tracksPerOffer: 16,
  /** Most tracks one participant can publish at once, whatever the relay's configuration. */
  tracksPerParticipant: 64,
  /** Longest participant metadata (from the token, or set through the server API), in characters. */
  metadataLength: 4096,
} as const;

/** Room names: 1-64 of letters, digits, `-`, `_`, `.`; not starting with `.` (they appear in URLs and logs). */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;

const RequestId = v.pipe(v.string(), v.minLength(1), v.maxLength(PROTOCOL_LIMITS.requestIdLength));
const RoomName = v.pipe(
  v.string(),
  v.regex(ROOM_NAME_PATTERN, "a room name is 1-64 characters of A-Z a-z 0-9 - _ . and does not start with '.'"),
);
/**
 * Characters that change how text around them is shown without being visible themselves: C0/C1
 * controls, the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, which
 * can make "evil\u202Egnp.exe" read as "evilexe.png"), the direction marks (U+200E/F, U+061C), and
 * zero-width space and invisible operators, the soft hyphen and the blank fillers (U+115F, U+1160, U+180E,
 * U+3164, U+FFA0) a name made of nothing could hide behind. ZWJ/ZWNJ (U+200C/D) stay: emoji and several
 * scripts need them.
 */
const INVISIBLE_FORMATTING = /[\p{Cc}\u00AD\u061C\u115F\u1160\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\u3164\uFEFF\uFFA0]/gu;

/**
 * A display name as everyone shows it: Unicode NFC; whitespace runs (tabs and newlines included) are one
 * space; invisible formatting removed; trimmed; at most PROTOCOL_LIMITS.nameLength code points. The
 * relay stores and forwards names only in this form (the join schema applies it), and the SDK applies
 * it to the names it receives, so both ends show the same text. It makes names plain, not unique:
 * look-alike names remain possible, so names are never identity (participant ids are).
 */
export function cleanDisplayName(name: string): string {
  // Invisibles out before NFC: one between a letter and its accent would otherwise keep the pair apart,
  // and cleaning the result again (the SDK does) would give another string.
  const cleaned = name.replace(/[^\S\uFEFF]+/gu, " ").replace(INVISIBLE_FORMATTING, "").normalize("NFC").replace(/ {2,}/g, " ").trim();
  const codePoints = [...cleaned];
  return codePoints.length <= PROTOCOL_LIMITS.nameLength ? cleaned : codePoints.slice(0, PROTOCOL_LIMITS.nameLength).join("").trimEnd();
}

const DisplayName = v.pipe(v.string(), v.maxLength(PROTOCOL_LIMITS.nameLength), v.transform(cleanDisplayName));
const Sdp = v.pipe(v.string(), v.minLength(1), v.maxLength(PROTOCOL_LIMITS.sdpLength));
const Mid = v.pipe(v.string(), v.minLength(1), v.maxLength(32));
const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

export const TrackKindSchema = v.picklist(["audio", "video"]);
export const TrackSourceSchema = v.picklist(["camera", "microphone", "screen", "screen-audio", "unknown"]);

/** A track as everyone in the room sees it. */
export const TrackInfoSchema = v.object({
  /** Relay-assigned, unique in the room. */
  id: Id,
  /** Who publishes it. */
  participantId: Id,
  kind: TrackKindSchema,
  source: TrackSourceSchema,
  /** MIME type of the codec the publisher sends, e.g. "video/VP8", "audio/opus". */
  codec: v.string(),
  /** Simulcast rids the publisher sends, lowest quality first; empty without simulcast. */
  layers: v.array(v.string()),
  muted: v.boolean(),
});

/** A participant as everyone in the room sees them. */
export const ParticipantInfoSchema = v.object({
  id: Id,
  /** Display only, never identity (see cleanDisplayName); cleaned again here whatever the relay sent. */
  name: v.pipe(v.string(), v.transform(cleanDisplayName)),
  /** Opaque text from their token's `metadata` claim or the server API (docs/api.md); absent when none. */
  metadata: v.optional(v.pipe(v.string(), v.maxLength(PROTOCOL_LIMITS.metadataLength))),
  tracks: v.array(TrackInfoSchema),
});

export const LayerSizeSchema = v.object({
  width: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16384)),
  height: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16384)),
});

export const QualitySchema = v.picklist(["auto", "low", "medium", "high"]);

/** What the client says about one m-line of its publish offer. */
export const PublishedTrackSchema = v.object({
  /** The mid of the m-line in the offer that carries this track. */
  mid: Mid,
  kind: TrackKindSchema,
  source: v.optional(TrackSourceSchema, "unknown"),
  /** Simulcast rids, lowest quality first, as in the offer's a=simulcast line. */
  layers: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(16))), v.maxLength(3)), []),
  /**
   * Encoded size of each simulcast layer, in the order of `layers` (e.g. from the capture size and each
   * encoding's scaleResolutionDownBy). Lets the relay send small tiles a small layer.
   */
  layerSizes: v.optional(v.pipe(v.array(LayerSizeSchema), v.maxLength(3))),
  muted: v.optional(v.boolean(), false),
});

// ---------------------------------------------------------------------------------------------
// Client -> relay
// ---------------------------------------------------------------------------------------------

export const JoinSchema = v.object({
  type: v.literal("join"),
  id: RequestId,
  room: RoomName,
  name: v.optional(DisplayName, ""),
  token: v.optional(v.pipe(v.string(), v.maxLength(PROTOCOL_LIMITS.tokenLength))),
  /** Subscribe to every track in the room automatically (default true). */
  autoSubscribe: v.optional(v.boolean(), true),
  /**
   * Joining again after losing the session (its resume was refused, or it gave up on it): the
   * participant id and resume secret of that session. If the relay still holds it (a media path that
   * never came back), it is removed first, so the others never see the same person twice. Counted in
   * /metrics as a rejoin.
   */
  rejoinOf: v.optional(v.object({ participantId: Id, secret: v.pipe(v.string(), v.minLength(1), v.maxLength(128)) })),
});

export const PublishOfferSchema = v.object({
  type: v.literal("publish-offer"),
  id: RequestId,
  /** SDP offer of the publisher connection (the client offers, the relay answers). */
  sdp: Sdp,
  /** One entry per m-line that sends media; m-lines not listed are rejected in the answer. */
  tracks: v.pipe(v.array(PublishedTrackSchema), v.maxLength(PROTOCOL_LIMITS.tracksPerOffer)),
});

export const UnpublishSchema = v.object({
  type: v.literal("unpublish"),
  id: RequestId,
  trackId: Id,
});

export const MuteSchema = v.object({
  type: v.literal("mute"),
  id: RequestId,
  trackId: Id,
  muted: v.boolean(),
});

export const SubscribeSchema = v.object({
  type: v.literal("subscribe"),
  id: RequestId,
  trackId: Id,
  /** true to receive the track, false to stop receiving it. */
  subscribe: v.boolean(),
});

/**
 * How the subscriber wants a subscribed video track: any subset of the fields; those left out keep
 * their value. Defaults: quality "auto", size unknown, visible.
 */
export const SubscriptionSettingsSchema = v.object({
  type: v.literal("subscription-settings"),
  id: RequestId,
  trackId: Id,
  /** "auto" lets the relay pick by tile size and bandwidth; low/medium/high pin a layer. */
  quality: v.optional(QualitySchema),
  /** Rendered size of the tile in device pixels. */
  width: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(16384))),
  height: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(16384))),
  /** false while the tile is hidden or off screen (picture-in-picture counts as visible): paused. */
  visible: v.optional(v.boolean()),
});

export const SubscriberAnswerSchema = v.object({
  type: v.literal("subscriber-answer"),
  /** The `offerId` of the subscriber-offer this answers. */
  offerId: v.pipe(v.number(), v.integer(), v.minValue(1)),
  sdp: Sdp,
});

export const RequestKeyframeSchema = v.object({
  type: v.literal("request-keyframe"),
  id: RequestId,
  trackId: Id,
});

/**
 * Instead of `join`, the first message on a new WebSocket after the previous one dropped: takes the
 * session back (same participant id, publications, subscriptions and peer connections) while the relay
 * still keeps it, i.e. within `joined.resume.windowMs` of the drop. Refused (`resume-refused`) after
 * the window, after a relay restart or with a wrong secret: then join again.
 */
export const ResumeSchema = v.object({
  type: v.literal("resume"),
  id: RequestId,
  room: RoomName,
  /** The `participantId` of `joined`. */
  participantId: Id,
  /** The `resume.secret` of `joined`. */
  secret: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
});

/**
 * Restart ICE on the participant's peer connections (the network changed or the media path is down).
 * With a publisher connection, `sdp` is its new offer with fresh ICE credentials
 * (`createOffer({ iceRestart: true })`), answered in `ice-restarted`; the relay also sends a new
 * `subscriber-offer` with fresh credentials, answered as usual with `subscriber-answer`.
 */
export const RestartIceSchema = v.object({
  type: v.literal("restart-ice"),
  id: RequestId,
  /** The publisher connection's ICE-restart offer; absent when the client has not published. */
  sdp: v.optional(Sdp),
});

/**
 * A new access token for the joined session, before the one it joined with expires (docs/auth.md):
 * verified as the join's, for the same identity and room; its grants apply to later requests, and a
 * rejoin after a lost session uses it. Reply `ok`; refused with `unauthorized`.
 */
export const RefreshTokenSchema = v.object({
  type: v.literal("refresh-token"),
  id: RequestId,
  token: v.pipe(v.string(), v.minLength(1), v.maxLength(PROTOCOL_LIMITS.tokenLength)),
});

export const LeaveSchema = v.object({
  type: v.literal("leave"),
  id: v.optional(RequestId),
});

export const ClientMessageSchema = v.variant("type", [
  JoinSchema,
  PublishOfferSchema,
  UnpublishSchema,
  MuteSchema,
  SubscribeSchema,
  SubscriptionSettingsSchema,
  SubscriberAnswerSchema,
  RequestKeyframeSchema,
  ResumeSchema,
  RestartIceSchema,
  RefreshTokenSchema,
  LeaveSchema,
]);

// ---------------------------------------------------------------------------------------------
// Relay -> client
// ---------------------------------------------------------------------------------------------

/** An ICE server for both peer connections, as RTCIceServer (TURN credentials may be time-limited). */
export const IceServerSchema = v.object({
  urls: v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(512))),
  username: v.optional(v.string()),
  credential: v.optional(v.string()),
});

/** How to take the session back after the WebSocket drops (see `resume`). */
export const ResumeGrantSchema = v.object({
  /** Proves the session is yours; keep it secret (in memory only). */
  secret: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  /** How long the relay keeps the session after the WebSocket drops (ms); 0: it does not. */
  windowMs: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

export const JoinedSchema = v.object({
  type: v.literal("joined"),
  id: RequestId,
  participantId: Id,
  room: RoomName,
  /** Everyone already in the room, with their tracks (not including the joiner). */
  participants: v.array(ParticipantInfoSchema),
  /** TURN/STUN servers the client should use (beside the relay's own candidates); may be empty. */
  iceServers: v.array(IceServerSchema),
  resume: ResumeGrantSchema,
});

/**
 * Reply to `resume`: the session is back. A snapshot of the room now, so what happened during the gap
 * can be reconciled: who is there with their tracks (not including you), and your own publications
 * the relay still holds. Subscriber m-lines and SSRCs are unchanged; a subscriber offer the client
 * missed is sent again after this.
 */
export const ResumedSchema = v.object({
  type: v.literal("resumed"),
  id: RequestId,
  participantId: Id,
  room: RoomName,
  participants: v.array(ParticipantInfoSchema),
  /** Your publications as the relay has them (ids and mute state). */
  tracks: v.array(TrackInfoSchema),
  iceServers: v.array(IceServerSchema),
  resume: ResumeGrantSchema,
});

/** Reply to `restart-ice`: the publisher connection's answer (when an offer was sent). */
export const IceRestartedSchema = v.object({
  type: v.literal("ice-restarted"),
  id: RequestId,
  sdp: v.optional(Sdp),
});

export const PublishAnswerSchema = v.object({
  type: v.literal("publish-answer"),
  id: RequestId,
  sdp: Sdp,
  /** The relay's track id for each published mid. */
  tracks: v.array(v.object({ mid: Mid, trackId: Id })),
});

/** Success reply to requests that have no other payload (unpublish, mute, subscribe, request-keyframe, leave). */
export const OkSchema = v.object({
  type: v.literal("ok"),
  id: RequestId,
});

export const ParticipantJoinedSchema = v.object({
  type: v.literal("participant-joined"),
  participant: ParticipantInfoSchema,
});

/**
 * A participant's name or metadata changed (the server API's UpdateParticipant): their info as it is
 * now. Sent to everyone in the room, the participant included (a hidden one: only to themselves).
 */
export const ParticipantUpdatedSchema = v.object({
  type: v.literal("participant-updated"),
  participant: ParticipantInfoSchema,
});

export const ParticipantLeftSchema = v.object({
  type: v.literal("participant-left"),
  participantId: Id,
});

export const TrackPublishedSchema = v.object({
  type: v.literal("track-published"),
  track: TrackInfoSchema,
});

export const TrackUnpublishedSchema = v.object({
  type: v.literal("track-unpublished"),
  trackId: Id,
  participantId: Id,
});

export const TrackMutedSchema = v.object({
  type: v.literal("track-muted"),
  trackId: Id,
  participantId: Id,
  muted: v.boolean(),
});

/** One participant who speaks now, with their smoothed audio level. */
export const SpeakerSchema = v.object({
  participantId: Id,
  /** 0 (silence) to 1 (full scale): linear amplitude, as `audioLevel` in WebRTC stats. */
  level: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
});

/**
 * Who speaks in the room, decided by the relay from the audio levels in the publishers' packets (RFC
 * 6464): the dominant speaker first, then the others in the order they started. Sent to everyone in the
 * room when the set or the dominant speaker changes, at most once per evaluation interval; [] when
 * nobody speaks any more.
 */
export const ActiveSpeakersSchema = v.object({
  type: v.literal("active-speakers"),
  speakers: v.array(SpeakerSchema),
});

/** How well a participant's connections to the relay carry media now. */
export const ConnectionQualitySchema = v.picklist(["good", "poor", "lost"]);

/** One participant's connection quality, with the measurements it was decided on. */
export const ParticipantQualitySchema = v.object({
  participantId: Id,
  quality: ConnectionQualitySchema,
  /** Share of packets lost (0..1), the worse of what the relay received from them and what they received from it. */
  loss: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
  /** Round trip between the relay and them, ms; absent before one was measured. */
  rttMs: v.optional(v.pipe(v.number(), v.minValue(0))),
  /** Interarrival jitter of their audio at the relay (RFC 3550), ms; absent without audio. */
  jitterMs: v.optional(v.pipe(v.number(), v.minValue(0))),
});

/**
 * Connection quality, decided by the relay from its view of each participant's connections (loss both
 * ways, round trip, jitter) every 2 s. Sent to everyone in the room, the participants concerned
 * included, listing those whose quality changed; a joiner hears everyone not "good".
 */
export const ConnectionQualityMessageSchema = v.object({
  type: v.literal("connection-quality"),
  updates: v.array(ParticipantQualitySchema),
});

/** Which remote track an m-line of the subscriber connection carries. */
export const SubscriberTrackSchema = v.object({
  mid: Mid,
  trackId: Id,
  participantId: Id,
  kind: TrackKindSchema,
});

export const SubscriberOfferSchema = v.object({
  type: v.literal("subscriber-offer"),
  /** Increases with every offer; the answer names it. */
  offerId: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** SDP offer of the subscriber connection (the relay offers, the client answers). */
  sdp: Sdp,
  /** The m-lines that currently carry a track; others are inactive or stopped. */
  tracks: v.array(SubscriberTrackSchema),
});

/**
 * Dynacast, to a publisher: which simulcast layers of its track someone receives now. The client may
 * stop encoding the others (RTCRtpEncodingParameters.active = false) and must resume them when listed.
 */
export const LayersWantedSchema = v.object({
  type: v.literal("layers-wanted"),
  trackId: Id,
  /** The rids wanted, lowest first; [] when nobody watches the track. */
  rids: v.array(v.string()),
});

/**
 * To a subscriber, about one video it receives: whether its link limits it. `reduced`: a lower layer
 * than its wish (the quality it pinned, or the one its tile size picks) is sent, because the relay's
 * estimate of its downlink does not carry more; `paused`: not even the lowest layer fits, so the video
 * is paused (audio goes on) and tried again from time to time; `none`: it gets its wish again. Sent
 * when the state changes; a subscription starts at `none`.
 */
export const BandwidthLimitSchema = v.object({
  type: v.literal("bandwidth-limit"),
  trackId: Id,
  limit: v.picklist(["none", "reduced", "paused"]),
});

export const ErrorCodeSchema = v.picklist([
  "bad-json",
  "bad-message",
  "unknown-type",
  "too-large",
  "rate-limited",
  "not-joined",
  "already-joined",
  "bad-room-name",
  "room-full",
  "too-many-tracks",
  "publish-pending",
  "already-published",
  "bad-sdp",
  "unknown-track",
  "not-your-track",
  "own-track",
  "stale-offer",
  "unauthorized",
  "forbidden",
  "resume-refused",
  "removed",
  "data-too-large",
  "unknown-participant",
  "bad-data",
  "internal",
]);

export const ErrorSchema = v.object({
  type: v.literal("error"),
  /** The id of the request that failed, when the failure answers a request. */
  id: v.optional(v.string()),
  code: ErrorCodeSchema,
  /** Human-readable, says what was wrong and what to do. */
  message: v.string(),
});

export const ServerMessageSchema = v.variant("type", [
  JoinedSchema,
  ResumedSchema,
  IceRestartedSchema,
  PublishAnswerSchema,
  OkSchema,
  ParticipantJoinedSchema,
  ParticipantUpdatedSchema,
  ParticipantLeftSchema,
  TrackPublishedSchema,
  TrackUnpublishedSchema,
  TrackMutedSchema,
  ActiveSpeakersSchema,
  ConnectionQualityMessageSchema,
  SubscriberOfferSchema,
  LayersWantedSchema,
  BandwidthLimitSchema,
  ErrorSchema,
]);
