/** The grid of tiles while joined, sized for the stage, and the hidden <audio> elements of remote sound. */
import { html, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { Room } from "../room/index.ts";
import type { AudioUnlockController } from "./audio-unlock.ts";
import { gridLayout } from "./layout.ts";
import { playAudio } from "./play-audio.ts";
import { buildTiles, renderTile } from "./tiles.ts";

export interface GridOptions {
  selfName: string;
  /** This client speaks (its own microphone level). */
  selfSpeaking: boolean;
  /** The stage's size and the gap between tiles, in CSS pixels. */
  width: number;
  height: number;
  gap: number;
  unlock: AudioUnlockController;
}

export function renderGrid(room: Room, o: GridOptions): TemplateResult {
  const tiles = buildTiles(room, o.selfName, o.selfSpeaking);
  const { tileWidth, tileHeight } = gridLayout(o.width - 2 * o.gap, o.height - 2 * o.gap, tiles.length, o.gap);
  const audioTracks = [...room.participants.values()].flatMap((p) => p.audioTracks).filter((t) => t.mediaStreamTrack);
  return html`<div class="grid" part="grid" style="--_tile-w:${tileWidth}px;--_tile-h:${tileHeight}px" data-count=${tiles.length}>
      ${repeat(tiles, (t) => t.key, (t) => renderTile(t, room))}
    </div>
    ${repeat(
      audioTracks,
      (t) => t.id,
      (t) => html`<audio data-track-id=${t.id} autoplay ${playAudio(t.mediaStreamTrack, o.unlock)}></audio>`,
    )}`;
}
