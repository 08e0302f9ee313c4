/** Grid geometry: how many columns and how big a tile, so N tiles fill the stage without overflowing it. */
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
