import { describe, expect, it } from "vitest";
import { DEFAULT_WISH, selectLayer, type SubscriberWish } from "../../src/core/layer-selector.ts";

const sizes = [
  { width: 320, height: 180 },
  { width: 640, height: 360 },
  { width: 1280, height: 720 },
];
const wish = (w: Partial<SubscriberWish>): SubscriberWish => ({ ...DEFAULT_WISH, ...w });

describe("LayerSelector", () => {
  it("auto with nothing known: the top layer", () => {
    expect(selectLayer(DEFAULT_WISH, 3, sizes, 2)).toBe(2);
    expect(selectLayer(wish({ width: 100, height: 100 }), 3, undefined, 2)).toBe(2);
  });

  it("auto: the smallest layer that covers the tile, with 10% slack", () => {
    expect(selectLayer(wish({ width: 160, height: 90 }), 3, sizes, 2)).toBe(0);
    expect(selectLayer(wish({ width: 350, height: 197 }), 3, sizes, 2)).toBe(0); // within 10% of 320x180
    expect(selectLayer(wish({ width: 360, height: 200 }), 3, sizes, 2)).toBe(1);
    expect(selectLayer(wish({ width: 200, height: 400 }), 3, sizes, 2)).toBe(2); // a tall tile needs the height
    expect(selectLayer(wish({ width: 1920, height: 1080 }), 3, sizes, 2)).toBe(2);
  });

  it("a pinned quality wins over the tile size", () => {
    expect(selectLayer(wish({ quality: "high", width: 160, height: 90 }), 3, sizes, 2)).toBe(2);
    expect(selectLayer(wish({ quality: "low", width: 1920, height: 1080 }), 3, sizes, 2)).toBe(0);
    expect(selectLayer(wish({ quality: "medium" }), 3, sizes, 2)).toBe(1);
  });

  it("the bandwidth cap wins over everything, but never pauses", () => {
    expect(selectLayer(wish({ quality: "high" }), 3, sizes, 1)).toBe(1);
    expect(selectLayer(wish({ width: 1280, height: 720 }), 3, sizes, 0)).toBe(0);
    expect(selectLayer(wish({ quality: "low" }), 3, sizes, -5)).toBe(0);
  });

  it("not visible pauses, whatever else is asked", () => {
    expect(selectLayer(wish({ visible: false, quality: "high" }), 3, sizes, 2)).toBe(-1);
  });

  it("fewer layers: qualities map onto what exists", () => {
    expect(selectLayer(wish({ quality: "medium" }), 2, undefined, 1)).toBe(1);
    expect(selectLayer(wish({ quality: "high" }), 1, undefined, 0)).toBe(0);
    expect(selectLayer(wish({ quality: "low" }), 1, undefined, 0)).toBe(0);
  });
});
