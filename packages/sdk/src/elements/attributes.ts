/** Attribute converters of <sfu-room>. */
import type { ComplexAttributeConverter } from "lit";

/**
 * `audio` and `video` default to on: absent or any value but off/false/0/no means on
 * (`<sfu-room video="off">` joins with the camera off).
 */
export const onOffConverter: ComplexAttributeConverter<boolean> = {
  fromAttribute: (value: string | null) => value === null || !/^(off|false|0|no)$/i.test(value.trim()),
  toAttribute: (value: boolean) => (value ? "on" : "off"),
};
