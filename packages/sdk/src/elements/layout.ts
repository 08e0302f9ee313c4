/**
 * Stage geometry, pure functions of the stage's size: the grid (how many columns and how big a tile, so
 * N tiles fill the stage without overflowing it) and the presenter layout (a shared screen over a strip).
 */
export interface GridLayout {
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

/**
 * Picks the column count that gives the largest tiles for `count` tiles in a `width` x `height` stage.
 * Tiles keep an aspect ratio between `minAspect` and `maxAspect` (16:9); by default a landscape stage
 * keeps tiles at 4:3 or wider, a portrait stage (phones) allows down to 3:4.
 * With no usable height (a stage sized by its content), tiles are laid out by width at 16:9.
 */
export function gridLayout(
  width: number,
  height: number,
  count: number,
  gap = 8,
  minAspect = width >= height ? 4 / 3 : 3 / 4,
  maxAspect = 16 / 9,
): GridLayout {
  const n = Math.max(1, count);
  const w = Math.max(0, width);
  if (height < 80) {
    const columns = Math.max(1, Math.min(n, Math.floor((w + gap) / (240 + gap))));
    const tileWidth = Math.floor((w - gap * (columns - 1)) / columns);
    return { columns, rows: Math.ceil(n / columns), tileWidth, tileHeight: Math.floor(tileWidth / maxAspect) };
  }
  let best: GridLayout = { columns: 1, rows: n, tileWidth: 0, tileHeight: 0 };
  let bestArea = -1;
  for (let columns = 1; columns <= n; columns++) {
    const rows = Math.ceil(n / columns);
    const cellW = (w - gap * (columns - 1)) / columns;
    const cellH = (height - gap * (rows - 1)) / rows;
    if (cellW <= 0 || cellH <= 0) continue;
    const aspect = Math.min(maxAspect, Math.max(minAspect, cellW / cellH));
    const tileWidth = Math.floor(Math.min(cellW, cellH * aspect));
    const tileHeight = Math.floor(tileWidth / aspect);
    const area = tileWidth * tileHeight;
    if (area > bestArea) {
      bestArea = area;
      best = { columns, rows, tileWidth, tileHeight };
    }
  }
  return best;
}

/** Presenter geometry: the shared screen's box (the spotlight) and the size of each tile in the strip. */
export interface PresenterLayout {
  spotlightWidth: number;
  spotlightHeight: number;
  tileWidth: number;
  tileHeight: number;
}

/** Narrower than this, strip tiles stop shrinking and the strip scrolls sideways instead. */
const MIN_STRIP_TILE_WIDTH = 112;

/**
 * A shared screen over a row of `count` tiles (the strip), in a `width` x `height` stage. The strip takes
 * about a fifth of the height (72-180 px), its tiles 16:9 (4:3 on portrait stages, where width is
 * scarce), narrower when they would not fit the row, and never under 112 px (then the row scrolls).
 * The spotlight takes the rest; on a portrait stage (a phone) at most a 4:3 box of the full width, as
 * screens are landscape and a taller box would only add black bars.
 */
export function presenterLayout(width: number, height: number, count: number, gap = 8): PresenterLayout {
  const w = Math.max(0, width);
  const h = Math.max(0, height);
  const portrait = h > w;
  if (count === 0) return { spotlightWidth: Math.floor(w), spotlightHeight: Math.floor(portrait ? Math.min(h, (w * 3) / 4) : h), tileWidth: 0, tileHeight: 0 };
  const tileHeight = Math.floor(Math.min(180, Math.max(72, h * (portrait ? 0.2 : 0.18))));
  const aspect = portrait ? 4 / 3 : 16 / 9;
  const fitting = (w - gap * (count - 1)) / count;
  const tileWidth = Math.floor(Math.min(tileHeight * aspect, Math.max(MIN_STRIP_TILE_WIDTH, fitting)));
  const rest = Math.max(0, h - tileHeight - gap);
  return {
    spotlightWidth: Math.floor(w),
    spotlightHeight: Math.floor(portrait ? Math.min(rest, (w * 3) / 4) : rest),
    tileWidth,
    tileHeight,
  };
}
