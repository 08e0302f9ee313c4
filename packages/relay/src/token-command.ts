/**
 * `sfu-relay token`: mints an access token with the relay's first key (--keys or SFU_KEYS), for
 * trying things out and for scripts; a backend mints its own (docs/auth.md).
 */
import type { TrackSource } from "@sfu-room/protocol";
import { ALL_SOURCES } from "./core/index.ts";
import { mintToken, parseKeys, type TokenClaims, type VideoGrant } from "./signal/access-token.ts";

type BooleanGrant = "roomJoin" | "canPublish" | "canSubscribe" | "canPublishData" | "hidden" | "roomAdmin" | "roomList";

const BOOLEAN_FLAGS: Record<string, BooleanGrant> = {
  "--room-join": "roomJoin",
  "--can-publish": "canPublish",
  "--can-subscribe": "canSubscribe",
  "--can-publish-data": "canPublishData",
  "--hidden": "hidden",
  "--room-admin": "roomAdmin",
  "--room-list": "roomList",
};

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export const TOKEN_HELP = `Usage: sfu-relay token --room ROOM --identity ID [options]   prints a token signed with the first key

  --room ROOM                       the room it joins or administers (video.room); not needed with --room-list true
  --identity ID                     who it is (sub)
  --name NAME                       shown to the others instead of the join's name
  --metadata TEXT                   opaque to the relay
  --can-publish true|false          default true (and --can-subscribe, --can-publish-data)
  --sources LIST                    sources it may publish, e.g. camera,microphone (default: all)
  --hidden true|false               not announced to the others, cannot publish; default false
  --room-join true|false            default true; false for a token that only administers
  --room-admin true|false           the server API for --room (docs/api.md); default false
  --room-list true|false            the server API's ListRooms; default false
  --ttl N[s|m|h|d]                  lifetime, default 6h
  --keys ID:SECRET[,ID:SECRET]      default: env SFU_KEYS`;

export type TokenCommandResult = { ok: true; claims: TokenClaims; keysText: string } | { ok: false; error: string };

/** Reads the subcommand's flags into the claims to sign; errors name the flag. */
export function parseTokenCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): TokenCommandResult {
  const video: VideoGrant = { roomJoin: true };
  let identity: string | undefined;
  let name: string | undefined;
  let metadata: string | undefined;
  let ttlSeconds = 6 * 3600;
  let keysText = env.SFU_KEYS ?? "";
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined || value === "") return { ok: false, error: `${flag} needs a value; run sfu-relay token --help` };
    const grant = BOOLEAN_FLAGS[flag];
    if (grant !== undefined) {
      if (value !== "true" && value !== "false") return { ok: false, error: `${flag}: "${value}" is not true or false` };
      video[grant] = value === "true";
      continue;
    }
    switch (flag) {
      case "--room": video.room = value; break;
      case "--identity": identity = value; break;
      case "--name": name = value; break;
      case "--metadata": metadata = value; break;
      case "--keys": keysText = value; break;
      case "--sources": {
        const sources = value.split(",").map((s) => s.trim());
        const bad = sources.find((s) => !ALL_SOURCES.includes(s as TrackSource));
        if (bad !== undefined) return { ok: false, error: `--sources: "${bad}" is not one of ${ALL_SOURCES.join(", ")}` };
        video.canPublishSources = sources as TrackSource[];
        break;
      }
      case "--ttl": {
        const m = /^(\d+)([smhd])$/.exec(value);
        if (m === null || Number(m[1]) === 0) return { ok: false, error: `--ttl: "${value}" is not a lifetime like 90s, 30m, 6h or 7d` };
        ttlSeconds = Number(m[1]) * TTL_UNITS[m[2]!]!;
        break;
      }
      default:
        return { ok: false, error: `unknown option "${flag}"; run sfu-relay token --help for the list` };
    }
  }
  if (video.room === undefined && video.roomList !== true) return { ok: false, error: "--room is needed: a token joins (or administers) one room; only a --room-list true token needs none" };
  if (identity === undefined) return { ok: false, error: "--identity is needed: a token says who its holder is" };
  if (keysText === "") return { ok: false, error: "no key to sign with: give --keys ID:SECRET or set SFU_KEYS, as for the relay" };
  return { ok: true, claims: { identity, name, metadata, video, ttlSeconds }, keysText };
}

/** Runs the subcommand: the token on stdout, or an error (exit code 2). */
export async function runTokenCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(TOKEN_HELP);
    return 0;
  }
  const parsed = parseTokenCommand(argv, env);
  const keys = parsed.ok ? parseKeys(parsed.keysText) : parsed.error;
  if (!parsed.ok || typeof keys === "string") {
    console.error(`sfu-relay token: ${parsed.ok ? `--keys: ${keys}` : parsed.error}`);
    return 2;
  }
  console.log(await mintToken(keys[0]!, parsed.claims));
  return 0;
}
