/**
 * The tiles while joined, sized for the stage: a grid, or the presenter layout while someone else
 * shares a screen or, in the speaker layout, while someone has spoken (presenter.ts); your own share's small preview; the hidden <audio> elements of remote
 * sound (voices and shared tabs' sound alike).
 */
import { html, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { Room } from "../room/index.ts";
import type { AudioUnlockController } from "./audio-unlock.ts";
import { gridLayout } from "./layout.ts";
import { playAudio } from "./play-audio.ts";
import { arrange, renderPresenter, renderPresenting } from "./presenter.ts";
import { buildTiles, renderTile, type TileModel } from "./tiles.ts";

export interface GridOptions {
  selfName: string;
  /** This client speaks (its own microphone level). */
  selfSpeaking: boolean;
  /** The stage's size and the gap between tiles, in CSS pixels. */
  width: number;
  height: number;
  gap: number;
  unlock: AudioUnlockController;
  /** The speaker layout's featured participant (their camera takes the stage); undefined: the grid. */
  featured: string | undefined;
  /** The "Stop" of your own share's preview. */
  stopPresenting(): void;
}

export function renderGrid(room: Room, o: GridOptions): TemplateResult {
  const { spotlight, others, presenting } = arrange(buildTiles(room, o.selfName, o.selfSpeaking), o.featured);
  const width = o.width - 2 * o.gap;
  const height = o.height - 2 * o.gap;
  const audioTracks = [...room.participants.values()].flatMap((p) => p.audioTracks).filter((t) => t.mediaStreamTrack);
  return html`${spotlight ? renderPresenter(spotlight, others, room, width, height, o.gap) : renderTiles(room, others, width, height, o.gap)}
    ${presenting ? renderPresenting(presenting, o.stopPresenting) : nothing}
    ${repeat(
      audioTracks,
      (t) => t.id,
      (t) => html`<audio data-track-id=${t.id} autoplay ${playAudio(t.mediaStreamTrack, o.unlock)}></audio>`,
    )}`;
}

function renderTiles(room: Room, tiles: readonly TileModel[], width: number, height: number, gap: number): TemplateResult {
  const { tileWidth, tileHeight } = gridLayout(width, height, tiles.length, gap);
  return html`<div class="grid" part="grid" style="--_tile-w:${tileWidth}px;--_tile-h:${tileHeight}px" data-count=${tiles.length}>
    ${repeat(tiles, (t) => t.key, (t) => renderTile(t, room))}
  </div>`;
}
