/**
 * Which web pages may open the signaling WebSocket. Browsers send the page's origin with every
 * WebSocket handshake and, unlike fetch, do not ask the server first: without this check any page on
 * the internet could join rooms of a relay bound to localhost or a LAN, from a visitor's browser.
 * Clients that are not browsers send no Origin header and are always let through (they could send any
 * header anyway): the policy protects browsers' users, it does not authenticate anyone.
 */

/** The entry that allows pages served from this machine: localhost, 127.0.0.0/8, [::1], any port. */
export const LOOPBACK_ORIGINS = "loopback";
/** The entry that allows every origin. */
export const ANY_ORIGIN = "*";

/**
 * Parses a comma-separated list of `loopback`, `*` and origins (`https://example.org`,
 * `http://192.168.1.20:3000`), each origin normalized as browsers send it. Returns the list or an error.
 */
export function parseOriginList(text: string): string[] | string {
  const entries = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return `"${text}" lists no origin`;
  const list: string[] = [];
  for (const entry of entries) {
    if (entry === LOOPBACK_ORIGINS || entry === ANY_ORIGIN) {
      list.push(entry);
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    // An origin is scheme://host[:port] and nothing else: a path would never match what browsers send.
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== entry.replace(/\/$/, "").toLowerCase()) {
      return `"${entry}" is not an origin like https://example.org or http://192.168.1.20:3000 (or "${LOOPBACK_ORIGINS}", "${ANY_ORIGIN}")`;
    }
    list.push(url.origin);
  }
  return list;
}

/** Whether a handshake with this Origin header (undefined: none sent) may open the WebSocket. */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(ANY_ORIGIN) || allowed.includes(origin.toLowerCase())) return true;
  return allowed.includes(LOOPBACK_ORIGINS) && isLoopbackOrigin(origin);
}

function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (file:// pages, sandboxed frames) and anything malformed
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  const host = url.hostname;
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}
