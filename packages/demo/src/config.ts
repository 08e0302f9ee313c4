/**
 * What the demo reads from its URL: ?room=NAME (default "lobby"), ?server=ws://..., ?name=, and options
 * passed to <sfu-room> as they are: ?audio=off, ?video=off, ?simulcast=off (send the camera as one
 * encoding instead of three layers), ?quality=low|medium|high|auto (the quality asked for remote videos) and ?token= (an access
 * token, e.g. from `sfu-relay token`); ?prejoin=off joins without the element's pre-join view.
 */
export interface DemoConfig {
  room: string;
  server: string;
  name: string;
  /** <sfu-room> attributes taken from the URL. */
  attributes: Record<string, string>;
  /** Show the element's pre-join view (unless ?prejoin=off). */
  prejoin: boolean;
}

const PASSED = ["audio", "video", "simulcast", "quality", "token"] as const;

export function readConfig(location: Location): DemoConfig {
  const params = new URLSearchParams(location.search);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const attributes: Record<string, string> = {};
  for (const key of PASSED) {
    const value = params.get(key);
    if (value !== null) attributes[key] = value.trim();
  }
  return {
    room: params.get("room")?.trim() || "lobby",
    // The relay runs beside the page by default (pnpm start): same host, port 7880.
    server: params.get("server")?.trim() || `${scheme}://${location.hostname}:7880/ws`,
    name: params.get("name")?.trim() ?? "",
    attributes,
    prejoin: params.get("prejoin")?.trim() !== "off",
  };
}
