/**
 * The sans-I/O SFU core of sfu-room.
 *
 * `SfuCore` is one state machine holding rooms, participants, published tracks, subscriptions and the
 * per-(subscriber, track) forwarding state. It does no I/O at all: no sockets, no timers, no clock, no
 * randomness. Everything it learns arrives as an {@link Input}, carrying the current time; everything
 * it wants done leaves as an {@link Output}. The same inputs always give the same outputs, which is
 * what lets the tests push thousands of packets, joins, leaves and layer switches through it in
 * milliseconds. (The model is str0m's `Rtc`.)
 *
 * ## The run loop
 *
 * The adapter (WebSocket sessions, werift connections, a timer) drives the core like this:
 *
 * ```ts
 * const core = new SfuCore({ maxParticipantsPerRoom: 50 });
 *
 * // 1. Something happened (a signaling message, an RTP packet, a connection became ready, ...):
 * core.handle({ type: "rtp", now: clock(), publisherId, trackId, layer, seq, timestamp, marker, keyframe, size, pictureId, tl0PicIdx, audioLevel });
 *
 * // 2. Drain the outputs until the core says when it next wants to be woken up.
 * for (;;) {
 *   const out = core.poll();
 *   if (out.type === "timeout") {
 *     scheduleWakeUp(out.at);      // Infinity: nothing scheduled
 *     break;
 *   }
 *   switch (out.type) {
 *     case "forward": sendRtp(out.subscriberId, out.subscriptionId, out); break;   // seq, timestamp, marker, VP8 ids
 *     case "signal": sessions.get(out.participantId)?.send(out.message); break;   // replies, events, dynacast
 *     case "negotiate-publish": answerSdp(out).then(... handle "publish-negotiated" or "negotiation-failed");
 *     case "restart-ice": restartIce(out).then(... handle "ice-restarted" or "negotiation-failed");
 *     case "session-resumed": sessions.rebind(out.sessionId, out.participantId); break;   // before `resumed`
 *     case "request-keyframe": sendPli(out.publisherId, out.trackId, out.layer); break;   // a mirror's: through its pipe
 *     case "upstream-layer": pipeOf(out.publisherId).ask(out.trackId, out.layer); break;   // a mirror's track (spanning rooms)
 *     case "send-nack": sendNack(out.publisherId, out.trackId, out.layer, out.seqs); break;
 *     case "retransmit": resend(out.subscriberId, storedPacket(out.trackId, out.slot), out); break;   // kept at historySlot(layer, seq)
 *     case "paced-forward": sendRtp(out.subscriberId, out.subscriptionId, out, storedPacket(out.trackId, out.slot)); break;   // a forward the pacer held
 *     case "probe": sendRtx(out.subscriberId, storedPacket(out.trackId, out.slot), out); break;   // probe padding (RTX copy)
 *     // participant-added/-removed/-resumed, subscription-added/-removed, publication-removed: connections, m-lines
 *   }
 * }
 *
 * // 3. When the wake-up time comes, tell the core time has passed, and drain again as in 2.
 * core.handle({ type: "timeout", now: clock() });
 * ```
 *
 * Rules of the loop:
 * - Always drain: after every `handle()`, `poll()` until the `timeout` output. Outputs are in the order
 *   the core decided them (for one join: the `joined` reply, `participant-added`, then
 *   `participant-joined` to the others, then the joiner's `subscription-added`).
 * - Every client request becomes one input (inputs.ts), after the adapter did the I/O it needs, and gets
 *   exactly one reply among the outputs: the adapter never answers a client itself, and never asks the
 *   core before acting: each output carries what acting on it needs.
 * - A `forward` output refers to the packet of the last `rtp` input, so poll the forwards out before the
 *   next `rtp` input. Forward output objects are pooled: read (or copy) one before the next `poll()`.
 * - Time only moves through inputs: `now` is any monotonic milliseconds; a `timeout` input with
 *   `now >= at` of the last `timeout` output releases what was waiting (coalesced keyframe requests,
 *   away participants whose resume window ended, the active-speakers decision of an interval).
 *   Feeding it early, late or more often is harmless.
 * - Unknown participant or subscription ids in facts are ignored, never thrown on; a request from a
 *   participant who has not joined is answered `not-joined`.
 *
 * Access: the adapter checks a join's token (signature, times) and passes its `Grants` in the join
 * (`access`); the core applies them: Membership (room, roomJoin), Publishing (canPublish, sources,
 * hidden), Subscribing (canSubscribe), data routing (canPublishData), and hidden participants are
 * never announced. Without keys the join has no `access` and gets every grant (`openGrants`).
 *
 * Rooms spanning nodes (the cluster's `--cluster-rooms span`): a participant's `presence` (join input)
 * is local, another node's pipe, or a mirror of another node's participant (participant.ts). A pipe is
 * offered only this node's own participants' tracks and data (nothing loops); a mirror has no
 * connections here (`participant-added` says `mirrored`), publishes with `mirror-publish`, and its tracks'
 * `upstream-layer` outputs say which layer of the origin the subscribers here need (the pipe asks for it).
 *
 * Server API and webhooks: an `admin` input (admin.ts) is one server API call, answered by one
 * `admin-reply` output; `room-event` outputs (room-events.ts) report rooms started and finished,
 * participants joined and left, tracks published and unpublished, for the shell's webhooks.
 *
 * Inside (sfu-core.ts has the map): `Membership` (rooms, join/leave rules), `ResumeWindow` (participants
 * whose session dropped, kept until a deadline for `resume`), `Publishing` (tracks, the
 * two-phase publish, unpublish/mute rules), `SubscriptionTable` (every (subscriber, track) link, the hot
 * path's fan-out array), `BandwidthController` (the congestion rule), `Dynacast` (layers each publisher
 * must send), `KeyframeScheduler` (throttled, coalesced keyframe requests), `ActiveSpeakers` (speaking set and dominant
 * speaker per room, from the packets' audio levels), `ConnectionQuality` (good/poor/lost per participant, from
 * loss, round trips and jitter), `LossRecovery` (NACKs to publishers, subscribers' NACKs answered
 * with resends), `Pacing` (a pacer per subscriber connection: forwards and resends spread at a rate
 * from their estimate, audio first). Records: `Participant`, `Publication` (its `LayerRate`, one `KeyframeThrottle` and one
 * `NackGenerator` per layer), `Subscription` (pending /
 * awaiting keyframe / forwarding / paused, current and target layer, picked by `selectLayer`) with its
 * `SequenceRewriter` (seq and timestamp continuity across layer switches) and `RetransmissionHistory`
 * (what went out under which seq), and the `OutputQueue`.
 */
export type * from "./types.ts";
export { ALL_SOURCES, DEFAULT_CORE_CONFIG, openGrants } from "./types.ts";
export type * from "./inputs.ts";
export type * from "./outputs.ts";
export type { FeedbackPacket } from "./congestion/send-side-estimator.ts";
export type { RelayedData } from "./data-routing.ts";
export type * from "./admin.ts";
export type * from "./room-events.ts";
export { SfuCore, type SubscriptionView } from "./sfu-core.ts";
export { publishForbidden } from "./publishing.ts";
export { HISTORY_PER_LAYER, historySlot } from "./retransmission-history.ts";
export type { SubscriptionState } from "./subscription.ts";
