/**
 * TURN for clients: what a --turn-url may say, which settings go together, and the ICE servers one
 * participant is given in `joined`. With a shared secret (coturn's `use-auth-secret`, the "TURN REST
 * API" scheme) every participant gets its own credential that expires: username
 * `<expiry, unix seconds>:<participant id>`, password base64(HMAC-SHA1(secret, username)). coturn
 * checks both on its own, so the relay never talks to it. See docs/deploy.md.
 */
import { createHmac } from "node:crypto";
import { lookup } from "node:dns/promises";
import type { IceServer } from "@sfu-room/protocol";

export interface TurnSettings {
  /** turn:/turns: URLs (RFC 7065); none: no TURN is offered. */
  urls: string[];
  /** coturn's static-auth-secret: credentials are minted per participant. */
  secret: string | undefined;
  /** How long a minted credential is valid (s). */
  ttlSeconds: number;
  /** Static credentials, the same for everyone (instead of a secret). */
  username: string | undefined;
  credential: string | undefined;
}

const TURN_URL = /^(turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:\?transport=([a-z]+))?$/;

/** Why `url` is not a TURN URL browsers accept, or undefined when it is one. */
export function turnUrlError(url: string): string | undefined {
  const m = TURN_URL.exec(url);
  if (!m) return `"${url}" is not a TURN URL like turn:turn.example.org:3478?transport=udp or turns:turn.example.org:443?transport=tcp`;
  const [, scheme, , port, transport] = m;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `"${url}": port ${port} is not 1-65535`;
  if (transport !== undefined && transport !== "udp" && transport !== "tcp") return `"${url}": transport must be udp or tcp, not ${transport}`;
  if (scheme === "turns" && transport === "udp") return `"${url}": turns: is TURN over TLS (TCP); use ?transport=tcp or a turn: URL for UDP`;
  return undefined;
}

/**
 * The addresses of the TURN servers in `urls` (host names looked up once): a path whose remote address
 * is one of them was relayed by that server. A name that does not resolve here adds nothing.
 */
export async function turnServerAddresses(urls: readonly string[]): Promise<Set<string>> {
  const hosts = urls.map((url) => TURN_URL.exec(url)?.[2]?.replace(/^\[|\]$/g, "")).filter((h) => h !== undefined);
  const found = await Promise.all(hosts.map((host) => lookup(host, { all: true }).then((all) => all.map((a) => a.address), () => [])));
  return new Set(found.flat());
}

/** Why these settings cannot work together (named by their flags), or undefined. */
export function turnSettingsError(t: TurnSettings): string | undefined {
  const hasStatic = t.username !== undefined || t.credential !== undefined;
  if (t.urls.length === 0) {
    return t.secret !== undefined || hasStatic ? "--turn-secret / --turn-username / --turn-credential need --turn-url (the TURN server clients use)" : undefined;
  }
  if (t.secret !== undefined && hasStatic) return "--turn-secret and --turn-username/--turn-credential exclude each other: give the secret (coturn use-auth-secret) or static credentials";
  if (t.secret === undefined && !hasStatic) return "--turn-url needs credentials: --turn-secret (coturn use-auth-secret), or --turn-username and --turn-credential";
  if (hasStatic && (t.username === undefined || t.credential === undefined)) return "--turn-username and --turn-credential go together: give both";
  return undefined;
}

/** A coturn `use-auth-secret` credential for `participantId`, valid until `expiresAtSeconds` (unix time). */
export function mintTurnCredential(secret: string, participantId: string, expiresAtSeconds: number): { username: string; credential: string } {
  const username = `${expiresAtSeconds}:${participantId}`;
  return { username, credential: createHmac("sha1", secret).update(username).digest("base64") };
}

/** The ICE servers `participantId` is told to use at `nowMs` (unix ms): none without TURN URLs. */
export function turnIceServers(t: TurnSettings, participantId: string, nowMs: number): IceServer[] {
  if (t.urls.length === 0) return [];
  if (t.secret !== undefined) {
    return [{ urls: [...t.urls], ...mintTurnCredential(t.secret, participantId, Math.floor(nowMs / 1000) + t.ttlSeconds) }];
  }
  return [{ urls: [...t.urls], username: t.username, credential: t.credential }];
}
