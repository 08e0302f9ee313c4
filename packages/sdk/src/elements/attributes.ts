/** Attribute converters of <sfu-room>. */
import type { ComplexAttributeConverter } from "lit";
import type { VideoQuality } from "../room/index.ts";

/**
 * `audio` and `video` default to on: absent or any value but off/false/0/no means on
 * (`<sfu-room video="off">` joins with the camera off).
 */
export const onOffConverter: ComplexAttributeConverter<boolean> = {
  fromAttribute: (value: string | null) => value === null || !/^(off|false|0|no)$/i.test(value.trim()),
  toAttribute: (value: boolean) => (value ? "on" : "off"),
};

const QUALITIES: readonly VideoQuality[] = ["auto", "low", "medium", "high"];

/** `quality`: auto (default), low, medium or high; anything else is auto. */
export const qualityConverter: ComplexAttributeConverter<VideoQuality> = {
  fromAttribute: (value: string | null) => {
    const v = (value ?? "").trim().toLowerCase();
    return (QUALITIES as readonly string[]).includes(v) ? (v as VideoQuality) : "auto";
  },
  toAttribute: (value: VideoQuality) => value,
};
