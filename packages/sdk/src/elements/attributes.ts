/** Attribute converters of <sfu-room>. */
import { QualitySchema } from "@sfu-room/protocol";
import type { ComplexAttributeConverter } from "lit";
import type { VideoQuality } from "../room/index.ts";

/**
 * `audio`, `video` and `simulcast` default to on: absent or any value but off/false/0/no means on
 * (`<sfu-room video="off">` joins with the camera off).
 */
export const onOffConverter: ComplexAttributeConverter<boolean> = {
  fromAttribute: (value: string | null) => value === null || !/^(off|false|0|no)$/i.test(value.trim()),
  toAttribute: (value: boolean) => (value ? "on" : "off"),
};

/**
 * The protocol's quality vocabulary, so the attribute accepts exactly what the relay does (typed as the
 * SDK's VideoQuality: a value the protocol adds and the SDK lacks fails to compile here).
 */
const QUALITIES: readonly VideoQuality[] = QualitySchema.options;
const isQuality = (value: string): value is VideoQuality => (QUALITIES as readonly string[]).includes(value);

/** `quality`: auto (default), low, medium or high; anything else is auto. */
export const qualityConverter: ComplexAttributeConverter<VideoQuality> = {
  fromAttribute: (value: string | null) => {
    const v = (value ?? "").trim().toLowerCase();
    return isQuality(v) ? v : "auto";
  },
  toAttribute: (value: VideoQuality) => value,
};

/** How the tiles are laid out: `grid` (equal tiles) or `speaker` (the dominant speaker on the stage). */
export type TileLayout = "grid" | "speaker";

/** `layout`: grid (default) or speaker; anything else is grid. */
export const layoutConverter: ComplexAttributeConverter<TileLayout> = {
  fromAttribute: (value: string | null) => ((value ?? "").trim().toLowerCase() === "speaker" ? "speaker" : "grid"),
  toAttribute: (value: TileLayout) => value,
};
