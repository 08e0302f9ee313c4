/** What the demo reads from its URL: ?room=NAME (default "lobby"), ?server=ws://... and ?name=. */
export interface DemoConfig {
  room: string;
  server: string;
  name: string;
}

export function readConfig(location: Location): DemoConfig {
  const params = new URLSearchParams(location.search);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return {
    room: params.get("room")?.trim() || "lobby",
    // The relay runs beside the page by default (pnpm start): same host, port 7880.
    server: params.get("server")?.trim() || `${scheme}://${location.hostname}:7880/ws`,
    name: params.get("name")?.trim() ?? "",
  };
}
