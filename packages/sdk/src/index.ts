/** @sfu-room/sdk: the headless Room API and the <sfu-room> element (importing this defines it). */
export * from "./room/index.ts";
export * from "./elements/index.ts";
