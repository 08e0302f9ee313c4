export * from "./messages.ts";
export * from "./parse.ts";
export * from "./data-frame.ts";
export type * from "./types.ts";
