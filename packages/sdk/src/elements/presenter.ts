/**
 * The presenter layout: while someone else shares a screen, it takes the stage (the spotlight) and every
 * other tile goes into a strip, one row below it. The speaker layout (`layout="speaker"`) is the same
 * stage with the featured speaker's camera on it while nobody shares (speaker-stage.ts). Your own share is never shown to you full size (a
 * screen showing itself is a hall of mirrors and a waste of the stage): you get a small "You are
 * presenting" preview with a button to stop, and the layout stays what the others' tiles call for.
 */
import { html, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { Room } from "../room/index.ts";
import { presenterLayout } from "./layout.ts";
import { streamOf } from "./streams.ts";
import { renderTile, type TileModel } from "./tiles.ts";

export interface Arrangement {
  /** On the stage: the first remote share, else the featured speaker's camera; undefined in the grid layout. */
  spotlight: TileModel | undefined;
  /** Every other tile (the grid, or the strip under the spotlight). */
  others: TileModel[];
  /** Your own screen share, shown as the small preview. */
  presenting: TileModel | undefined;
}

/** `featured`: the participant whose camera takes the stage when no screen does (the speaker layout). */
export function arrange(tiles: readonly TileModel[], featured?: string): Arrangement {
  const presenting = tiles.find((t) => t.self && t.source === "screen");
  const screen = tiles.find((t) => !t.self && t.source === "screen");
  const spotlight = screen ?? tiles.find((t) => !t.self && t.source === "camera" && t.participantId === featured);
  return { spotlight, presenting, others: tiles.filter((t) => t !== presenting && t !== spotlight) };
}

/** The spotlight over the strip. `width` x `height`: the stage inside its margin. */
export function renderPresenter(spotlight: TileModel, others: readonly TileModel[], room: Room, width: number, height: number, gap: number): TemplateResult {
  const l = presenterLayout(width, height, others.length, gap);
  const size = `--_spotlight-w:${l.spotlightWidth}px;--_spotlight-h:${l.spotlightHeight}px;--_tile-w:${l.tileWidth}px;--_tile-h:${l.tileHeight}px`;
  return html`<div class="presenter" part="presenter" style=${size}>
    <div class="spotlight" part="spotlight">${renderTile(spotlight, room)}</div>
    ${others.length > 0
      ? html`<div class="strip" part="strip">${repeat(others, (t) => t.key, (t) => renderTile(t, room))}</div>`
      : nothing}
  </div>`;
}

/** The sharer's own view of the share: small, labelled, with the way out next to it. */
export function renderPresenting(tile: TileModel, stop: () => void): TemplateResult {
  return html`<div class="presenting" part="presenting" role="status" aria-label="You are presenting">
    <video part="presenting-video" .srcObject=${streamOf(tile.video)} .muted=${true} autoplay playsinline></video>
    <div class="presenting-bar">
      <span>You are presenting</span>
      <button class="presenting-stop" part="presenting-stop" @click=${stop}>Stop</button>
    </div>
  </div>`;
}
