/**
 * Access tokens (docs/auth.md): HS256 JWTs modelled on LiveKit's, signed with one of the relay's keys,
 * which `iss` names. Verifying checks the signature and the times only; what the grants allow (the room,
 * publishing, ...) is the core's rule. Minting is here too, so `sfu-relay token` and tests sign exactly
 * what this verifies.
 */
import { decodeJwt, errors, jwtVerify, SignJWT } from "jose";
import type { TrackSource } from "@sfu-room/protocol";
import { ALL_SOURCES, type Grants, type JoinAccess } from "../core/index.ts";

/** One of the relay's keys: a token whose `iss` is `id` must be signed with `secret`. */
export interface SigningKey {
  id: string;
  secret: string;
}

/** Shortest secret accepted: HS256 wants at least 256 bits. */
export const MIN_SECRET_LENGTH = 32;

/** Clock difference allowed between the machine that minted a token and the relay (seconds). */
export const CLOCK_TOLERANCE_SECONDS = 10;

/** The `video` claim: LiveKit's VideoGrant, the fields this relay knows. */
export interface VideoGrant {
  room?: string;
  roomJoin?: boolean;
  canPublish?: boolean;
  canSubscribe?: boolean;
  canPublishData?: boolean;
  canPublishSources?: TrackSource[];
  hidden?: boolean;
  roomAdmin?: boolean;
  roomList?: boolean;
}

export interface TokenClaims {
  identity: string;
  name?: string | undefined;
  metadata?: string | undefined;
  video: VideoGrant;
  ttlSeconds: number;
}

/** Signs a token with `key` (its id as `iss`), valid from now for `ttlSeconds`. */
export function mintToken(key: SigningKey, claims: TokenClaims): Promise<string> {
  const payload: Record<string, unknown> = { video: claims.video };
  if (claims.name !== undefined) payload.name = claims.name;
  if (claims.metadata !== undefined) payload.metadata = claims.metadata;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(key.id)
    .setSubject(claims.identity)
    .setNotBefore("0s")
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSeconds}s`)
    .sign(new TextEncoder().encode(key.secret));
}

/**
 * What a token is verified for: a join (or refresh) must name its room; a server API token (docs/api.md)
 * may name none (a `roomList` token lists every room).
 */
export type TokenUse = "join" | "admin";

/** The grants of a join's token, or why it is refused (each reason says what to do). */
export async function verifyToken(token: string | undefined, keys: readonly SigningKey[], use: TokenUse = "join"): Promise<JoinAccess> {
  if (token === undefined || token === "") {
    return { refused: use === "join" ? 'this relay requires an access token: send "join" with "token" (see docs/auth.md)' : "the server API needs an admin token: send Authorization: Bearer <token> (see docs/api.md)" };
  }
  let issuer: unknown;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    return { refused: "the token is not a JWT (three base64url parts, a JSON payload); mint it as docs/auth.md shows" };
  }
  if (typeof issuer !== "string") return { refused: 'the token has no "iss" claim: the relay picks the key to verify it with by its issuer' };
  const key = keys.find((k) => k.id === issuer);
  if (key === undefined) return { refused: `the token's issuer "${issuer}" is not one of this relay's keys; sign it with a key the relay has (--keys)` };
  let payload;
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(key.secret), {
      algorithms: ["HS256"], clockTolerance: CLOCK_TOLERANCE_SECONDS, requiredClaims: ["exp", "sub"],
    }));
  } catch (e) {
    return { refused: verifyError(e, issuer) };
  }
  const grants = grantsOf(payload, use);
  return typeof grants === "string" ? { refused: grants } : { granted: grants };
}

function verifyError(e: unknown, issuer: string): string {
  if (e instanceof errors.JWSSignatureVerificationFailed) return `the token's signature does not verify with key "${issuer}": it was signed with another secret, or changed`;
  if (e instanceof errors.JWTExpired) return `the token expired${atTime(e.payload.exp)}; get a new one`;
  if (e instanceof errors.JWTClaimValidationFailed && e.claim === "nbf") return `the token is not valid yet${atTime(e.payload.nbf, "until")}; check the clock of the machine that minted it`;
  if (e instanceof errors.JWTClaimValidationFailed) return `the token's "${e.claim}" claim is refused: ${e.reason === "missing" ? "it is missing" : e.message}`;
  if (e instanceof errors.JOSEAlgNotAllowed) return "the token is not signed with HS256, the only algorithm this relay accepts";
  return `the token is malformed: ${(e as Error).message}`;
}

function atTime(seconds: unknown, word = "at"): string {
  return typeof seconds === "number" ? ` (${word} ${new Date(seconds * 1000).toISOString()})` : "";
}

/** The grants a verified payload carries, or what is wrong with its claims. */
function grantsOf(payload: Record<string, unknown>, use: TokenUse): Grants | string {
  if (typeof payload.sub !== "string" || payload.sub === "") return 'the token\'s "sub" claim (the identity) must be a non-empty string';
  const video = payload.video ?? {};
  if (typeof video !== "object" || video === null || Array.isArray(video)) return 'the token\'s "video" claim must be an object (the grant)';
  const grant = video as Record<string, unknown>;
  for (const field of ["roomJoin", "canPublish", "canSubscribe", "canPublishData", "hidden", "roomAdmin", "roomList"]) {
    if (grant[field] !== undefined && typeof grant[field] !== "boolean") return `the token's video.${field} must be true or false`;
  }
  if (grant.room !== undefined && typeof grant.room !== "string") return "the token's video.room must be a string (a room name)";
  const room = grant.room ?? "";
  if (room === "" && use === "join") return "the token's video grant names no room (video.room); mint it for the room it joins";
  const sources = grant.canPublishSources ?? ALL_SOURCES;
  if (!Array.isArray(sources) || sources.some((s) => !ALL_SOURCES.includes(s as TrackSource))) {
    return `the token's video.canPublishSources must list sources among ${ALL_SOURCES.map((s) => `"${s}"`).join(", ")}`;
  }
  for (const field of ["name", "metadata"]) {
    if (payload[field] !== undefined && typeof payload[field] !== "string") return `the token's "${field}" claim must be a string`;
  }
  return {
    identity: payload.sub,
    name: payload.name as string | undefined,
    metadata: payload.metadata as string | undefined,
    room,
    roomJoin: grant.roomJoin === true,
    canPublish: grant.canPublish !== false,
    canSubscribe: grant.canSubscribe !== false,
    canPublishData: grant.canPublishData !== false,
    canPublishSources: sources as TrackSource[],
    hidden: grant.hidden === true,
    roomAdmin: grant.roomAdmin === true,
    roomList: grant.roomList === true,
  };
}

/** `ID:SECRET[,ID:SECRET]` (the first signs what `sfu-relay token` mints), or what is wrong with it. */
export function parseKeys(text: string): SigningKey[] | string {
  const keys: SigningKey[] = [];
  for (const item of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const colon = item.indexOf(":");
    const id = colon > 0 ? item.slice(0, colon) : "";
    const secret = colon > 0 ? item.slice(colon + 1) : "";
    if (id === "" || secret === "") return `"${item.slice(0, 12)}..." is not ID:SECRET (a key id, a colon, its secret)`;
    if (secret.length < MIN_SECRET_LENGTH) return `the secret of key "${id}" has ${secret.length} characters; HS256 needs at least ${MIN_SECRET_LENGTH} (openssl rand -base64 32 makes one)`;
    if (keys.some((k) => k.id === id)) return `key "${id}" is given twice; each key id names one secret`;
    keys.push({ id, secret });
  }
  return keys.length > 0 ? keys : `"${text}" names no key`;
}
