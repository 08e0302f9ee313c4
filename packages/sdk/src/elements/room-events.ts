/**
 * What the element passes on from its Room: the events a page hears on the element, and the changes
 * that re-render it (people and tracks coming and going, mutes, the connection state). Errors and the
 * end of the connection are the JoinController's.
 */
import type { ReactiveControllerHost } from "lit";
import type { Room } from "../room/index.ts";
import { fire, type ParticipantSummary } from "./events.ts";

/** Room events after which the grid or the controls look different. */
const RENDERED = [
  "track-published",
  "track-unpublished",
  "track-subscribed",
  "track-unsubscribed",
  "track-muted",
  "track-unmuted",
  "track-bandwidth-limit",
  "local-track-published",
  "local-track-unpublished",
  "local-track-updated",
  "active-speakers-changed",
  "connection-quality-changed",
] as const;

export function summary(p: { id: string; name: string }): ParticipantSummary {
  return { id: p.id, name: p.name };
}

/** `current()` is false once the element has moved on to another Room (left, or rejoined): its events are then ignored. */
export function forwardRoomEvents(room: Room, host: ReactiveControllerHost & EventTarget, current: () => boolean): void {
  const update = () => {
    if (current()) host.requestUpdate();
  };
  room.on("connection-state", ({ state }) => {
    if (!current()) return;
    fire(host, "connection-state", { state });
    host.requestUpdate();
  });
  room.on("participant-joined", ({ participant }) => {
    if (!current()) return;
    fire(host, "participant-joined", { participant: summary(participant) });
    host.requestUpdate();
  });
  room.on("participant-left", ({ participant }) => {
    if (!current()) return;
    fire(host, "participant-left", { participant: summary(participant) });
    host.requestUpdate();
  });
  room.on("participant-updated", ({ participant }) => {
    if (!current()) return;
    fire(host, "participant-updated", { participant: summary(participant) });
    host.requestUpdate();
  });
  room.on("local-participant-updated", ({ participant }) => {
    if (!current()) return;
    fire(host, "participant-updated", { participant: summary(participant) });
    host.requestUpdate();
  });
  room.on("active-speakers-changed", ({ speakers }) => {
    if (!current()) return;
    fire(host, "active-speakers-changed", { speakers: speakers.map((p) => ({ ...summary(p), level: p.speakingLevel, self: p === room.local })) });
  });
  room.on("connection-quality-changed", ({ participant, quality, loss, rttMs, jitterMs }) => {
    if (!current()) return;
    const self = participant === room.local;
    fire(host, "connection-quality-changed", { participant: summary(participant), self, quality, loss, ...(rttMs === undefined ? {} : { rttMs }), ...(jitterMs === undefined ? {} : { jitterMs }) });
  });
  room.on("e2ee-state-changed", (detail) => {
    if (current()) fire(host, "e2ee-state-changed", detail);
  });
  room.on("data", (detail) => {
    if (current()) fire(host, "data", detail);
  });
  for (const type of RENDERED) room.on(type, update);
}
