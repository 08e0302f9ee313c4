/**
 * The demo's token under `npm start`: the relay's development endpoint (GET /dev/token, on only with
 * --dev-tokens) mints one for the room. A real page gets its token from its own backend (docs/auth.md).
 */

/** A token for `room`, or undefined when the relay has no development endpoint (then it is open, or ?token= is needed). */
export async function fetchDevToken(server: string, room: string, name: string): Promise<string | undefined> {
  const url = new URL(server);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  url.pathname = "/dev/token";
  url.search = new URLSearchParams({ room, name }).toString();
  try {
    const res = await fetch(url);
    if (!res.ok) return undefined;
    return ((await res.json()) as { token?: string }).token;
  } catch {
    return undefined; // relay unreachable: <sfu-room> reports that itself when it connects
  }
}
