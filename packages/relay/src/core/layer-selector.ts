/**
 * LayerSelector: which simulcast layer one subscriber should get of one track. A pure policy, the one
 * place where these rules live:
 *
 *   1. Not visible (tile hidden, scrolled away, page in the background) -> paused: no layer at all.
 *      Picture-in-picture counts as visible (the SDK reports it so).
 *   2. A pinned quality (low / medium / high) is honoured as asked, whatever the tile size: users who
 *      pin a quality get it (a common complaint about other SFUs is that they downgrade anyway).
 *   3. "auto": the smallest layer that covers the rendered size (no 720p for a 160 px tile); the top
 *      layer when the size or the layer sizes are unknown.
 *   4. Bandwidth caps everything, pinned or not: a layer the subscriber's link cannot carry is not
 *      sent. The cap never pauses: the lowest layer is always allowed.
 */

import type { LayerSize, Quality } from "@sfu-room/protocol";

/** What the subscriber says about one subscription (all optional in the protocol; these are defaults). */
export interface SubscriberWish {
  quality: Quality;
  /** Rendered size of the tile in device pixels; undefined when unknown. */
  width: number | undefined;
  height: number | undefined;
  visible: boolean;
}

export const DEFAULT_WISH: SubscriberWish = { quality: "auto", width: undefined, height: undefined, visible: true };

/** The layer index for the wish, or -1 for paused. `bandwidthCap` is the highest layer the link carries. */
export function selectLayer(
  wish: SubscriberWish,
  layerCount: number,
  layerSizes: readonly LayerSize[] | undefined,
  bandwidthCap: number,
): number {
  if (!wish.visible) return -1;
  const top = layerCount - 1;
  let layer: number;
  switch (wish.quality) {
    case "low":
      layer = 0;
      break;
    case "medium":
      layer = Math.min(1, top);
      break;
    case "high":
      layer = top;
      break;
    case "auto":
      layer = coveringLayer(wish, top, layerSizes);
      break;
  }
  return Math.max(0, Math.min(layer, bandwidthCap, top));
}

/**
 * The smallest layer at least as large as the tile in both directions (with 10% slack, so a 330 px
 * tile still gets the 320 px layer); the top layer when nothing covers it or sizes are unknown.
 */
function coveringLayer(wish: SubscriberWish, top: number, sizes: readonly LayerSize[] | undefined): number {
  if (wish.width === undefined || wish.height === undefined || sizes === undefined || sizes.length !== top + 1) return top;
  for (let layer = 0; layer < top; layer++) {
    const size = sizes[layer]!;
    if (size.width * 1.1 >= wish.width && size.height * 1.1 >= wish.height) return layer;
  }
  return top;
}
