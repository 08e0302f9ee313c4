export * from "./messages.ts";
export * from "./parse.ts";
export type * from "./types.ts";
