/** Participant tiles: the model derived from the room, and their template. */
import { html, nothing, type TemplateResult } from "lit";
import type { BandwidthLimit } from "@sfu-room/protocol";
import type { ConnectionQuality, ConnectionState, RemoteTrack, Room } from "../room/index.ts";
import { markFirstFrame } from "./first-frame.ts";
import { micOffIcon } from "./icons.ts";
import { observeView } from "./observe-view.ts";
import { qualityIndicator } from "./quality-icon.ts";
import { SELF } from "./speaking.ts";
import { streamOf } from "./streams.ts";

export type VideoState = "on" | "off" | "waiting";

export interface TileModel {
  key: string;
  participantId: string;
  name: string;
  self: boolean;
  source: "camera" | "screen";
  video: MediaStreamTrack | undefined;
  /** The remote video track while the tile shows its media: observed for the adaptive stream. */
  shown: RemoteTrack | undefined;
  /** on: media attached; off: no camera or camera turned off; waiting: published, media not here yet. */
  videoState: VideoState;
  audio: "on" | "muted" | "none";
  speaking: boolean;
  connection: "live" | "connecting" | "interrupted";
  /** What the relay says this viewer's link does to the video (`RemoteTrack.bandwidthLimit`). */
  limit: BandwidthLimit;
  /** The relay's rating of the participant's connection (camera tiles show it). */
  quality: ConnectionQuality;
}

/** `selfSpeaking`: from this client's own microphone level; the others' is the relay's (`isSpeaking`). */
export function buildTiles(room: Room | undefined, selfName: string, selfSpeaking: boolean): TileModel[] {
  if (!room) return [];
  const state: ConnectionState = room.state;
  const selfConnection = state === "interrupted" || state === "reconnecting" ? "interrupted" : state === "connected" ? "live" : "connecting";
  const tiles: TileModel[] = [];
  const screens: TileModel[] = [];
  const local = room.local;
  const cam = local.tracks.get("camera");
  const mic = local.tracks.get("microphone");
  const screen = local.tracks.get("screen");
  const selfLabel = selfName ? `${selfName} (you)` : "You";
  tiles.push({
    key: "self:camera",
    participantId: local.id || SELF,
    name: selfLabel,
    self: true,
    source: "camera",
    video: cam?.mediaStreamTrack,
    shown: undefined,
    videoState: cam?.mediaStreamTrack && !cam.muted ? "on" : "off",
    audio: !mic ? "none" : mic.muted ? "muted" : "on",
    speaking: selfSpeaking,
    connection: selfConnection,
    limit: "none",
    quality: local.connectionQuality,
  });
  if (screen?.mediaStreamTrack) {
    screens.push({
      key: "self:screen",
      participantId: local.id || SELF,
      name: `${selfLabel}: screen`,
      self: true,
      source: "screen",
      video: screen.mediaStreamTrack,
      shown: undefined,
      videoState: "on",
      audio: "none",
      speaking: false,
      connection: selfConnection,
      limit: "none",
      quality: local.connectionQuality,
    });
  }
  for (const participant of room.participants.values()) {
    const camera = participant.cameraTrack;
    const microphone = participant.microphoneTrack;
    const videoState: VideoState = !camera || camera.muted ? "off" : camera.mediaStreamTrack ? "on" : "waiting";
    const name = participant.name || "Guest";
    tiles.push({
      key: `${participant.id}:camera`,
      participantId: participant.id,
      name,
      self: false,
      source: "camera",
      video: camera?.mediaStreamTrack,
      shown: videoState === "on" ? camera : undefined,
      videoState,
      audio: !microphone ? "none" : microphone.muted ? "muted" : "on",
      speaking: participant.isSpeaking,
      connection: videoState === "waiting" || (microphone && !microphone.muted && !microphone.mediaStreamTrack) ? "connecting" : "live",
      limit: videoState === "on" ? camera!.bandwidthLimit : "none",
      quality: participant.connectionQuality,
    });
    const share = participant.screenTrack;
    if (share) {
      const shareState: VideoState = share.muted ? "off" : share.mediaStreamTrack ? "on" : "waiting";
      screens.push({
        key: `${participant.id}:screen:${share.id}`,
        participantId: participant.id,
        name: `${name}: screen`,
        self: false,
        source: "screen",
        video: share.mediaStreamTrack,
        shown: shareState === "on" ? share : undefined,
        videoState: shareState,
        audio: "none",
        speaking: false,
        connection: share.mediaStreamTrack ? "live" : "connecting",
        limit: shareState === "on" ? share.bandwidthLimit : "none",
        quality: participant.connectionQuality,
      });
    }
  }
  return [...screens, ...tiles];
}

function initials(name: string): string {
  const words = name.replace(/\(you\)|: screen/g, "").trim().split(/\s+/).filter(Boolean);
  return (words.length > 1 ? `${words[0]![0]}${words[1]![0]}` : (words[0] ?? "?").slice(0, 2)) || "?";
}

/** The crossed microphone: for a muted microphone, and for none at all (off at join, denied, absent): both are silent. */
function mutedIndicator(text: string): TemplateResult {
  return html`<span class="muted" part="muted-indicator" title=${text}>${micOffIcon}<span class="visually-hidden">${text}</span></span>`;
}

/**
 * Over a video paused for bandwidth: its frozen last frame is covered (not hidden: a hidden <video>
 * reads as not visible, and the relay would then keep it paused for that reason instead).
 */
function pausedCover(name: string): TemplateResult {
  return html`<div class="avatar paused-cover" part="avatar"><span>${initials(name)}</span></div>
    <div class="paused" part="paused-notice" role="status">Video paused: poor connection</div>`;
}

/** `room`: the Room the tiles come from (the first remote frame of each join is marked). */
export function renderTile(tile: TileModel, room: Room): TemplateResult {
  const parts = ["tile"];
  if (tile.self) parts.push("tile-self");
  if (tile.source === "screen") parts.push("tile-screen");
  if (tile.speaking) parts.push("tile-speaking");
  if (tile.videoState !== "on") parts.push("tile-video-off");
  const connectionText = tile.connection === "live" ? "connected" : tile.connection === "connecting" ? "connecting" : "connection interrupted";
  return html`<div
    class="tile"
    part=${parts.join(" ")}
    role="group"
    aria-label=${tile.name}
    data-participant-id=${tile.participantId}
    data-source=${tile.source}
    data-video=${tile.videoState}
    data-audio=${tile.audio}
    ?data-self=${tile.self}
    ?data-speaking=${tile.speaking}
    data-limited=${tile.limit === "none" ? nothing : tile.limit}
  >
    <video
      part="video"
      data-participant-id=${tile.participantId}
      data-track-id=${tile.shown?.id ?? nothing}
      .srcObject=${streamOf(tile.video)}
      ${observeView(tile.shown)}
      ${markFirstFrame(tile.shown ? room : undefined)}
      .muted=${true}
      autoplay
      playsinline
      ?hidden=${tile.videoState !== "on"}
    ></video>
    ${tile.videoState !== "on" ? html`<div class="avatar" part="avatar"><span>${initials(tile.name)}</span></div>` : nothing}
    ${tile.limit === "paused" ? pausedCover(tile.name) : nothing}
    <div class="indicator" part="indicator" data-state=${tile.connection} title=${connectionText}>
      <span class="visually-hidden">${connectionText}</span>
    </div>
    <div class="label" part="label">
      <span class="name" part="name">${tile.name}</span>
      ${tile.source === "camera" ? qualityIndicator(tile.quality) : nothing}
      ${tile.audio !== "on" && tile.source === "camera" ? mutedIndicator(tile.audio === "muted" ? "microphone muted" : "no microphone") : nothing}
      ${tile.speaking ? html`<span class="visually-hidden">speaking</span>` : nothing}
      ${tile.limit === "reduced" ? html`<span class="limited" part="limited-indicator" title="your connection limits this video's quality">low bandwidth</span>` : nothing}
    </div>
  </div>`;
}
