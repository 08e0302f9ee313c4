/** TypeScript types of the protocol, inferred from the schemas so they cannot drift apart. */
import type * as v from "valibot";
import type * as m from "./messages.ts";

export type TrackKind = v.InferOutput<typeof m.TrackKindSchema>;
export type TrackSource = v.InferOutput<typeof m.TrackSourceSchema>;
export type TrackInfo = v.InferOutput<typeof m.TrackInfoSchema>;
export type ParticipantInfo = v.InferOutput<typeof m.ParticipantInfoSchema>;
export type PublishedTrack = v.InferOutput<typeof m.PublishedTrackSchema>;
export type ErrorCode = v.InferOutput<typeof m.ErrorCodeSchema>;

export type JoinMessage = v.InferOutput<typeof m.JoinSchema>;
export type PublishOfferMessage = v.InferOutput<typeof m.PublishOfferSchema>;
export type UnpublishMessage = v.InferOutput<typeof m.UnpublishSchema>;
export type MuteMessage = v.InferOutput<typeof m.MuteSchema>;
export type SubscribeMessage = v.InferOutput<typeof m.SubscribeSchema>;
export type SubscriptionSettingsMessage = v.InferOutput<typeof m.SubscriptionSettingsSchema>;
export type Quality = v.InferOutput<typeof m.QualitySchema>;
export type LayerSize = v.InferOutput<typeof m.LayerSizeSchema>;
export type LayersWantedMessage = v.InferOutput<typeof m.LayersWantedSchema>;
export type SubscriberAnswerMessage = v.InferOutput<typeof m.SubscriberAnswerSchema>;
export type RequestKeyframeMessage = v.InferOutput<typeof m.RequestKeyframeSchema>;
export type LeaveMessage = v.InferOutput<typeof m.LeaveSchema>;
export type ResumeMessage = v.InferOutput<typeof m.ResumeSchema>;
export type RestartIceMessage = v.InferOutput<typeof m.RestartIceSchema>;
export type RefreshTokenMessage = v.InferOutput<typeof m.RefreshTokenSchema>;
/** Anything a client may send (after defaults are applied). */
export type ClientMessage = v.InferOutput<typeof m.ClientMessageSchema>;
/** What a client writes before defaults are applied (optional fields may be left out). */
export type ClientMessageInput = v.InferInput<typeof m.ClientMessageSchema>;

export type JoinedMessage = v.InferOutput<typeof m.JoinedSchema>;
export type IceServer = v.InferOutput<typeof m.IceServerSchema>;
export type ResumeGrant = v.InferOutput<typeof m.ResumeGrantSchema>;
export type ResumedMessage = v.InferOutput<typeof m.ResumedSchema>;
export type IceRestartedMessage = v.InferOutput<typeof m.IceRestartedSchema>;
export type PublishAnswerMessage = v.InferOutput<typeof m.PublishAnswerSchema>;
export type OkMessage = v.InferOutput<typeof m.OkSchema>;
export type ParticipantJoinedMessage = v.InferOutput<typeof m.ParticipantJoinedSchema>;
export type ParticipantUpdatedMessage = v.InferOutput<typeof m.ParticipantUpdatedSchema>;
export type ParticipantLeftMessage = v.InferOutput<typeof m.ParticipantLeftSchema>;
export type TrackPublishedMessage = v.InferOutput<typeof m.TrackPublishedSchema>;
export type TrackUnpublishedMessage = v.InferOutput<typeof m.TrackUnpublishedSchema>;
export type TrackMutedMessage = v.InferOutput<typeof m.TrackMutedSchema>;
export type Speaker = v.InferOutput<typeof m.SpeakerSchema>;
export type ActiveSpeakersMessage = v.InferOutput<typeof m.ActiveSpeakersSchema>;
export type ConnectionQuality = v.InferOutput<typeof m.ConnectionQualitySchema>;
export type ParticipantQuality = v.InferOutput<typeof m.ParticipantQualitySchema>;
export type ConnectionQualityMessage = v.InferOutput<typeof m.ConnectionQualityMessageSchema>;
export type SubscriberTrack = v.InferOutput<typeof m.SubscriberTrackSchema>;
export type SubscriberOfferMessage = v.InferOutput<typeof m.SubscriberOfferSchema>;
export type BandwidthLimitMessage = v.InferOutput<typeof m.BandwidthLimitSchema>;
export type BandwidthLimit = BandwidthLimitMessage["limit"];
export type ErrorMessage = v.InferOutput<typeof m.ErrorSchema>;
/** Anything the relay may send. */
export type ServerMessage = v.InferOutput<typeof m.ServerMessageSchema>;
