/**
 * The relay's configuration: every field, its default, and how it is read from flags and environment
 * variables. `--help` prints the same table (see cli.ts); docs/configuration.md documents it for users.
 */
import { createRequire } from "node:module";
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PROTOCOL_LIMITS } from "@sfu-room/protocol";
import { type CoreConfig, DEFAULT_CORE_CONFIG } from "./core/types.ts";
import { tlsPairError } from "./http/tls-files.ts";
import type { NativeSendMode } from "./rtc/fast-send/native-accelerator.ts";
import { LOG_FORMATS, type LogFormat } from "./log.ts";
import { type TurnSettings, turnSettingsError, turnUrlError } from "./rtc/turn-credentials.ts";
import { parseKeys, type SigningKey } from "./signal/access-token.ts";
import { LOOPBACK_ORIGINS, parseOriginList } from "./signal/origin-policy.ts";

export interface RelayConfig {
  /** Interface the HTTP/WebSocket server listens on. */
  host: string;
  /** Port of the HTTP/WebSocket server (0 picks a free one). */
  port: number;
  /**
   * PEM certificate (chain) and private key: the server speaks HTTPS and wss:// instead of HTTP and ws://.
   * Both or neither; re-read on SIGHUP (RunningRelay.reloadTls).
   */
  tlsCertPath: string | undefined;
  tlsKeyPath: string | undefined;
  /** The built `<sfu-room>` element module served at GET /sfu-room.js (packages/sdk/scripts/build-element.mjs). */
  elementModulePath: string;
  /**
   * SFU processes (default: one per core): 1 runs everything in this process; more fork that many
   * workers (workers/*), each an SFU with its own slice of the media port ranges, and rooms are spread over them.
   */
  workers: number;
  /**
   * Redis (redis:// or rediss:// URL): this relay is one node of a cluster, and a client reaches its
   * room through any node (cluster/, docs/scale.md). Undefined: a relay of its own.
   */
  redisUrl: string | undefined;
  /** This node's id in the cluster's registry (undefined: hostname, process id and a random part). */
  nodeId: string | undefined;
  /**
   * Where a room's participants go when they connect to different nodes (with a cluster): "proxy" puts
   * the room on one node and proxies the others' signaling to it; "span" keeps each participant on the
   * node it reached and pipes each node's tracks to the room's other nodes (docs/scale.md).
   */
  clusterRooms: "proxy" | "span";
  /**
   * The native send accelerator (packages/relay/native, built by scripts/bootstrap.sh when a C compiler
   * is present): "auto" uses it when built, "on" refuses to start without it, "off" never uses it.
   */
  nativeSend: NativeSendMode;
  /** Local address the WebRTC UDP sockets and ICE-TCP listeners bind to. */
  rtcBindAddress: string;
  /** Addresses put in the relay's ICE candidates (what browsers connect to); defaults to the bind address. */
  announcedAddresses: string[];
  /** Inclusive UDP port range for WebRTC sockets (one socket per peer connection); undefined: any port. */
  udpPortRange: [number, number] | undefined;
  /** Passive ICE-TCP candidates (one TCP listener per peer connection): the way in where UDP is blocked. */
  iceTcp: boolean;
  /** Inclusive port range of those TCP listeners; undefined: the UDP range (TCP and UDP ports are separate). */
  tcpPortRange: [number, number] | undefined;
  /** TURN servers handed to clients in `joined` (docs/deploy.md). */
  turn: TurnSettings;
  /** Largest signaling frame accepted, in bytes. */
  maxFrameBytes: number;
  /** Signaling messages per second one session may send (burst of twice this). */
  maxMessagesPerSecond: number;
  /** Core limits and timings. */
  core: CoreConfig;
  /** WebSocket ping interval; two missed pongs in a row end the session (ms). */
  pingIntervalMs: number;
  /** A connection that stays disconnected this long (failed: 5 s at most) has lost its media (ms). */
  peerTimeoutMs: number;
  /** WebSockets that are open but have not joined yet, across the relay; more are refused (HTTP 503). */
  maxPendingSessions: number;
  /** A WebSocket that has not joined successfully this long after opening is closed (ms). */
  joinTimeoutMs: number;
  /** Signaling WebSockets open at once from one remote address; more are refused (HTTP 429). */
  maxSessionsPerAddress: number;
  /** Bytes queued to one WebSocket that its client has not read; past this the client is cut off. */
  maxSendBufferBytes: number;
  /**
   * Page origins allowed to open the WebSocket: exact origins, "loopback" (pages on localhost,
   * 127.0.0.0/8, [::1]) or "*". Clients that send no Origin header (not browsers) are always allowed.
   */
  allowedOrigins: string[];
  /**
   * Keys that sign access tokens (docs/auth.md), chosen by a token's `iss`; several during a rotation.
   * None: the relay is open (anyone joins any room with every grant), and says so at start.
   */
  keys: SigningKey[];
  /**
   * URLs that get the room events as signed POSTs (docs/api.md), each in order, retried with back-off;
   * signed with the first key, so they need keys. None: no webhooks.
   */
  webhookUrls: string[];
  /** `GET /dev/token` mints tokens with every grant for any room, for `npm start`'s demo; needs keys. */
  devTokens: boolean;
  /** Log level: fatal, error, warn, info, debug, trace, silent. */
  logLevel: string;
  /** JSON lines (production) or readable lines (`npm start`): log.ts. */
  logFormat: LogFormat;
  /** On SIGTERM/SIGINT, how long participants get to close their WebSockets before the relay exits anyway (ms). */
  drainMs: number;
}

export const DEFAULT_RELAY_CONFIG: RelayConfig = {
  host: "127.0.0.1",
  port: 7880,
  tlsCertPath: undefined,
  tlsKeyPath: undefined,
  // The SDK's built element, found through the dependency on @sfu-room/sdk: the workspace's
  // packages/sdk, or the installed package (whose tarball carries dist/sfu-room.js).
  elementModulePath: join(dirname(createRequire(import.meta.url).resolve("@sfu-room/sdk/package.json")), "dist", "sfu-room.js"),
  // One SFU per core: one room forwards on one core, so more rooms use more of them (docs/deploy.md#workers).
  // availableParallelism, not cpus().length: it follows a CPU affinity or quota set on the process.
  workers: availableParallelism(),
  redisUrl: undefined,
  nodeId: undefined,
  clusterRooms: "proxy",
  nativeSend: "auto",
  rtcBindAddress: "127.0.0.1",
  announcedAddresses: [],
  udpPortRange: undefined,
  iceTcp: true,
  tcpPortRange: undefined,
  turn: { urls: [], secret: undefined, ttlSeconds: 24 * 3600, username: undefined, credential: undefined },
  maxFrameBytes: 64 * 1024,
  maxMessagesPerSecond: 50,
  core: DEFAULT_CORE_CONFIG,
  pingIntervalMs: 10_000,
  peerTimeoutMs: 10_000,
  maxPendingSessions: 100,
  joinTimeoutMs: 10_000,
  maxSessionsPerAddress: 50,
  maxSendBufferBytes: 1024 * 1024,
  allowedOrigins: [LOOPBACK_ORIGINS],
  keys: [],
  webhookUrls: [],
  devTokens: false,
  logLevel: "info",
  logFormat: "json",
  drainMs: 5000,
};

/** One configuration option: its flag, its environment variable, and how its text becomes a value. */
interface OptionSpec {
  flag: string;
  env: string;
  valueName: string;
  description: string;
  /** Given several times on the command line, the values add up (as one comma-separated list). */
  repeatable?: true;
  apply(config: RelayConfig, text: string): string | undefined; // returns an error message
  current(config: RelayConfig): string;
}

function int(text: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

/** An option whose value is a whole number in [min, max]; `expected` completes "... is not <expected>". */
function intOption(o: {
  flag: string; env: string; valueName: string; description: string;
  min: number; max: number; expected: string;
  set(c: RelayConfig, n: number): void;
  get(c: RelayConfig): number;
}): OptionSpec {
  return {
    flag: o.flag, env: o.env, valueName: o.valueName, description: o.description,
    apply: (c, t) => {
      const n = int(t, o.min, o.max);
      if (n === undefined) return `"${t}" is not ${o.expected}`;
      o.set(c, n);
      return undefined;
    },
    current: (c) => String(o.get(c)),
  };
}

/** An option whose value is an inclusive port range "MIN-MAX" (1024-65535, min < max). */
function portRangeOption(o: {
  flag: string; env: string; description: string; unset: string;
  set(c: RelayConfig, range: [number, number]): void;
  get(c: RelayConfig): [number, number] | undefined;
}): OptionSpec {
  return {
    flag: o.flag, env: o.env, valueName: "MIN-MAX", description: o.description,
    apply: (c, t) => {
      const m = /^(\d+)-(\d+)$/.exec(t);
      const lo = m ? int(m[1]!, 1024, 65535) : undefined;
      const hi = m ? int(m[2]!, 1024, 65535) : undefined;
      if (lo === undefined || hi === undefined || hi <= lo) return `"${t}" is not a range like 40000-40999 (1024-65535, min < max)`;
      o.set(c, [lo, hi]);
      return undefined;
    },
    current: (c) => o.get(c)?.join("-") ?? o.unset,
  };
}

/** An option whose value is any non-empty text, never echoed by --help (secrets are among them). */
function textOption(o: { flag: string; env: string; valueName: string; description: string; set(c: RelayConfig, text: string): void }): OptionSpec {
  return {
    flag: o.flag, env: o.env, valueName: o.valueName, description: o.description,
    apply: (c, t) => (t.length > 0 ? void o.set(c, t) : "must not be empty"),
    current: () => "(none)",
  };
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export const OPTIONS: OptionSpec[] = [
  {
    flag: "--host", env: "SFU_HOST", valueName: "ADDR",
    description: "interface the HTTP/WebSocket server listens on",
    apply: (c, t) => (isIP(t) || t === "localhost" ? void (c.host = t) : `"${t}" is not an IP address`),
    current: (c) => c.host,
  },
  intOption({
    flag: "--port", env: "SFU_PORT", valueName: "N",
    description: "HTTP/WebSocket port (0 picks a free port)",
    min: 0, max: 65535, expected: "a port (0-65535)",
    set: (c, n) => (c.port = n),
    get: (c) => c.port,
  }),
  {
    flag: "--tls-cert", env: "SFU_TLS_CERT", valueName: "FILE",
    description: "PEM certificate (full chain) to serve HTTPS and wss:// directly, e.g. /etc/letsencrypt/live/HOST/fullchain.pem (with --tls-key; re-read on SIGHUP)",
    apply: (c, t) => (t.trim() ? void (c.tlsCertPath = resolve(t)) : "needs the path of a PEM certificate file"),
    current: (c) => c.tlsCertPath ?? "(none: plain HTTP and ws://)",
  },
  {
    flag: "--tls-key", env: "SFU_TLS_KEY", valueName: "FILE",
    description: "PEM private key of --tls-cert, e.g. /etc/letsencrypt/live/HOST/privkey.pem",
    apply: (c, t) => (t.trim() ? void (c.tlsKeyPath = resolve(t)) : "needs the path of a PEM private key file"),
    current: (c) => c.tlsKeyPath ?? "(none)",
  },
  {
    flag: "--element-module", env: "SFU_ELEMENT_MODULE", valueName: "PATH",
    description: "the built <sfu-room> element module served at GET /sfu-room.js",
    apply: (c, t) => (t.trim() ? void (c.elementModulePath = resolve(t)) : "needs the path of the built file"),
    current: (c) => c.elementModulePath,
  },
  {
    flag: "--rtc-bind", env: "SFU_RTC_BIND", valueName: "ADDR",
    description: "local IPv4 address the WebRTC UDP sockets and ICE-TCP listeners bind to (0.0.0.0: all)",
    apply: (c, t) => (isIP(t) === 4 ? void (c.rtcBindAddress = t) : `"${t}" is not an IPv4 address`),
    current: (c) => c.rtcBindAddress,
  },
  {
    flag: "--announced-ip", env: "SFU_ANNOUNCED_IPS", valueName: "ADDR[,ADDR]",
    description: "address(es) put in ICE candidates, e.g. the public IP behind NAT (default: the bind address)",
    apply: (c, t) => {
      const list = t.split(",").map((s) => s.trim()).filter(Boolean);
      const bad = list.find((a) => !isIP(a));
      if (bad !== undefined || list.length === 0) return `"${bad ?? t}" is not an IP address`;
      c.announcedAddresses = list;
      return undefined;
    },
    current: (c) => (c.announcedAddresses.length ? c.announcedAddresses.join(",") : "(bind address)"),
  },
  {
    ...intOption({
      flag: "--workers", env: "SFU_WORKERS", valueName: "N",
      description: "SFU worker processes (rooms are spread over them, each keeps its rooms; the port ranges are split between them); 1: everything in one process",
      min: 1, max: 256, expected: "a number of workers from 1 to 256",
      set: (c, n) => (c.workers = n),
      get: (c) => c.workers,
    }),
    // --help says where the default comes from, not only what it is on the machine that printed it.
    current: (c) => (c.workers === availableParallelism() ? `${c.workers} (one per core)` : String(c.workers)),
  },
  {
    flag: "--redis", env: "SFU_REDIS_URL", valueName: "URL",
    description: "join a cluster of relays through this Redis (redis://[:password@]host:port[/db], rediss:// for TLS): clients reach their room through any node (docs/scale.md)",
    apply: (c, t) => {
      const error = redisUrlError(t);
      if (error) return error;
      c.redisUrl = t;
      return undefined;
    },
    current: (c) => (c.redisUrl === undefined ? "(none: a relay of its own)" : c.redisUrl.replace(/:[^:@/]*@/, ":***@")),
  },
  {
    flag: "--node-id", env: "SFU_NODE_ID", valueName: "ID",
    description: "this node's id in the cluster (with --redis): letters, digits, '.', '_', '-'; unique per running node",
    apply: (c, t) => (/^[A-Za-z0-9._-]{1,64}$/.test(t) ? void (c.nodeId = t) : `"${t}" is not a node id: use 1-64 letters, digits, '.', '_' or '-'`),
    current: (c) => c.nodeId ?? "(hostname-pid-random)",
  },
  {
    flag: "--cluster-rooms", env: "SFU_CLUSTER_ROOMS", valueName: "proxy|span",
    description: "with --redis, a room whose participants reach different nodes: proxy runs it on one node (the others relay its signaling); span keeps everyone on the node they reached and pipes each track once to each other node of the room (docs/scale.md)",
    apply: (c, t) => (t === "proxy" || t === "span" ? void (c.clusterRooms = t) : `"${t}" is not proxy or span`),
    current: (c) => c.clusterRooms,
  },
  {
    flag: "--native-send", env: "SFU_NATIVE_SEND", valueName: "auto|on|off",
    description: "SRTP protection and UDP send of forwarded media in native code (built by npm install when a C compiler is present; the same bytes, about a third of the CPU): auto uses it when built, on refuses to start without it",
    apply: (c, t) => (t === "auto" || t === "on" || t === "off" ? void (c.nativeSend = t) : `"${t}" is not auto, on or off`),
    current: (c) => c.nativeSend,
  },
  portRangeOption({
    flag: "--udp-ports", env: "SFU_UDP_PORTS", unset: "(any)",
    description: "UDP port range for WebRTC, one port per peer connection (two per participant)",
    set: (c, range) => (c.udpPortRange = range),
    get: (c) => c.udpPortRange,
  }),
  {
    flag: "--ice-tcp", env: "SFU_ICE_TCP", valueName: "on|off",
    description: "offer passive ICE-TCP candidates (one TCP listener per peer connection) for clients whose UDP is blocked",
    apply: (c, t) => (t === "on" || t === "off" ? void (c.iceTcp = t === "on") : `"${t}" is not on or off`),
    current: (c) => (c.iceTcp ? "on" : "off"),
  },
  portRangeOption({
    flag: "--tcp-ports", env: "SFU_TCP_PORTS", unset: "(the UDP range)",
    description: "TCP port range of the ICE-TCP listeners, one port per peer connection",
    set: (c, range) => (c.tcpPortRange = range),
    get: (c) => c.tcpPortRange,
  }),
  {
    flag: "--turn-url", env: "SFU_TURN_URLS", valueName: "URL[,URL]", repeatable: true,
    description: "TURN server for clients, e.g. turn:turn.example.org:3478?transport=udp or turns:turn.example.org:443?transport=tcp (repeatable)",
    apply: (c, t) => {
      const urls = t.split(",").map((s) => s.trim()).filter(Boolean);
      const error = urls.length === 0 ? `"${t}" names no TURN URL` : urls.map(turnUrlError).find((e) => e !== undefined);
      if (error) return error;
      c.turn = { ...c.turn, urls };
      return undefined;
    },
    current: (c) => (c.turn.urls.length ? c.turn.urls.join(",") : "(none)"),
  },
  textOption({
    flag: "--turn-secret", env: "SFU_TURN_SECRET", valueName: "SECRET",
    description: "coturn's static-auth-secret: each participant gets its own time-limited TURN credential",
    set: (c, t) => (c.turn = { ...c.turn, secret: t }),
  }),
  intOption({
    flag: "--turn-ttl", env: "SFU_TURN_TTL_S", valueName: "SECONDS",
    description: "lifetime of a TURN credential minted with --turn-secret",
    min: 60, max: 7 * 24 * 3600, expected: "a number of seconds from 60 to 604800",
    set: (c, n) => (c.turn = { ...c.turn, ttlSeconds: n }),
    get: (c) => c.turn.ttlSeconds,
  }),
  textOption({
    flag: "--turn-username", env: "SFU_TURN_USERNAME", valueName: "NAME",
    description: "static TURN username (with --turn-credential), instead of --turn-secret",
    set: (c, t) => (c.turn = { ...c.turn, username: t }),
  }),
  textOption({
    flag: "--turn-credential", env: "SFU_TURN_CREDENTIAL", valueName: "PASSWORD",
    description: "static TURN password (with --turn-username)",
    set: (c, t) => (c.turn = { ...c.turn, credential: t }),
  }),
  intOption({
    flag: "--max-participants", env: "SFU_MAX_PARTICIPANTS", valueName: "N",
    description: "participants per room",
    min: 1, max: 10_000, expected: "a number from 1 to 10000",
    set: (c, n) => (c.core = { ...c.core, maxParticipantsPerRoom: n }),
    get: (c) => c.core.maxParticipantsPerRoom,
  }),
  intOption({
    flag: "--max-tracks", env: "SFU_MAX_TRACKS", valueName: "N",
    description: "tracks one participant may publish",
    min: 1, max: PROTOCOL_LIMITS.tracksPerParticipant, expected: `a number from 1 to ${PROTOCOL_LIMITS.tracksPerParticipant}`,
    set: (c, n) => (c.core = { ...c.core, maxTracksPerParticipant: n }),
    get: (c) => c.core.maxTracksPerParticipant,
  }),
  intOption({
    flag: "--keyframe-interval", env: "SFU_KEYFRAME_INTERVAL_MS", valueName: "MS",
    description: "at most one keyframe request per publisher layer in this many ms",
    min: 50, max: 60_000, expected: "a number of ms from 50 to 60000",
    set: (c, n) => (c.core = { ...c.core, keyframeRequestIntervalMs: n }),
    get: (c) => c.core.keyframeRequestIntervalMs,
  }),
  intOption({
    flag: "--max-data-frame-bytes", env: "SFU_MAX_DATA_FRAME_BYTES", valueName: "N",
    description: "largest data-channel frame (header + payload) a participant may send",
    min: 256, max: 256 * 1024, expected: "a number from 256 to 262144",
    set: (c, n) => (c.core = { ...c.core, maxDataFrameBytes: n }),
    get: (c) => c.core.maxDataFrameBytes,
  }),
  intOption({
    flag: "--data-messages-per-second", env: "SFU_DATA_MESSAGES_PER_SECOND", valueName: "N",
    description: "data frames per second per participant (bursts of twice this)",
    min: 1, max: 100_000, expected: "a number from 1 to 100000",
    set: (c, n) => (c.core = { ...c.core, dataMessagesPerSecond: n }),
    get: (c) => c.core.dataMessagesPerSecond,
  }),
  intOption({
    flag: "--data-bytes-per-second", env: "SFU_DATA_BYTES_PER_SECOND", valueName: "N",
    description: "data bytes per second per participant (bursts of twice this)",
    min: 1024, max: 1024 ** 3, expected: "a number from 1024 to 1073741824",
    set: (c, n) => (c.core = { ...c.core, dataBytesPerSecond: n }),
    get: (c) => c.core.dataBytesPerSecond,
  }),
  intOption({
    flag: "--max-frame-bytes", env: "SFU_MAX_FRAME_BYTES", valueName: "N",
    description: "largest signaling frame accepted",
    min: 1024, max: 1024 * 1024, expected: "a number from 1024 to 1048576",
    set: (c, n) => (c.maxFrameBytes = n),
    get: (c) => c.maxFrameBytes,
  }),
  intOption({
    flag: "--max-messages-per-second", env: "SFU_MAX_MESSAGES_PER_SECOND", valueName: "N",
    description: "signaling messages per second per session (bursts of twice this)",
    min: 1, max: 100_000, expected: "a number from 1 to 100000",
    set: (c, n) => (c.maxMessagesPerSecond = n),
    get: (c) => c.maxMessagesPerSecond,
  }),
  intOption({
    flag: "--ping-interval", env: "SFU_PING_INTERVAL_MS", valueName: "MS",
    description: "WebSocket ping interval; a client that misses two pongs in a row is removed",
    min: 100, max: 600_000, expected: "a number of ms from 100 to 600000",
    set: (c, n) => (c.pingIntervalMs = n),
    get: (c) => c.pingIntervalMs,
  }),
  intOption({
    flag: "--peer-timeout", env: "SFU_PEER_TIMEOUT_MS", valueName: "MS",
    description: "a participant whose connection stays disconnected (failed: 5 s at most), or never connects, this long is removed (unless away: see --resume-window)",
    min: 1000, max: 600_000, expected: "a number of ms from 1000 to 600000",
    set: (c, n) => (c.peerTimeoutMs = n),
    get: (c) => c.peerTimeoutMs,
  }),
  intOption({
    flag: "--resume-window", env: "SFU_RESUME_WINDOW_MS", valueName: "MS",
    description: "a participant whose signaling drops without leave is kept this long for a resume (0: removed at once)",
    min: 0, max: 600_000, expected: "a number of ms from 0 to 600000",
    set: (c, n) => (c.core = { ...c.core, resumeWindowMs: n }),
    get: (c) => c.core.resumeWindowMs,
  }),
  intOption({
    flag: "--max-pending-sessions", env: "SFU_MAX_PENDING_SESSIONS", valueName: "N",
    description: "WebSockets open but not joined yet, relay-wide; more are refused (HTTP 503)",
    min: 1, max: 100_000, expected: "a number from 1 to 100000",
    set: (c, n) => (c.maxPendingSessions = n),
    get: (c) => c.maxPendingSessions,
  }),
  intOption({
    flag: "--join-timeout", env: "SFU_JOIN_TIMEOUT_MS", valueName: "MS",
    description: "a WebSocket that has not joined this long after opening is closed",
    min: 100, max: 600_000, expected: "a number of ms from 100 to 600000",
    set: (c, n) => (c.joinTimeoutMs = n),
    get: (c) => c.joinTimeoutMs,
  }),
  intOption({
    flag: "--drain", env: "SFU_DRAIN_MS", valueName: "MS",
    description: "on SIGTERM/SIGINT, participants are told to reconnect and get this long to close before the relay exits",
    min: 0, max: 600_000, expected: "a number of ms from 0 to 600000",
    set: (c, n) => (c.drainMs = n),
    get: (c) => c.drainMs,
  }),
  intOption({
    flag: "--max-sessions-per-ip", env: "SFU_MAX_SESSIONS_PER_IP", valueName: "N",
    description: "signaling WebSockets open at once from one address; more are refused (HTTP 429)",
    min: 1, max: 100_000, expected: "a number from 1 to 100000",
    set: (c, n) => (c.maxSessionsPerAddress = n),
    get: (c) => c.maxSessionsPerAddress,
  }),
  intOption({
    flag: "--max-send-buffer", env: "SFU_MAX_SEND_BUFFER_BYTES", valueName: "N",
    description: "bytes queued to a WebSocket its client is not reading; past this it is cut off",
    min: 16 * 1024, max: 64 * 1024 * 1024, expected: "a number from 16384 to 67108864",
    set: (c, n) => (c.maxSendBufferBytes = n),
    get: (c) => c.maxSendBufferBytes,
  }),
  {
    flag: "--allowed-origins", env: "SFU_ALLOWED_ORIGINS", valueName: "LIST",
    description: `page origins that may open the WebSocket: origins like https://example.org, "${LOOPBACK_ORIGINS}", or "*"`,
    apply: (c, t) => {
      const list = parseOriginList(t);
      if (typeof list === "string") return list;
      c.allowedOrigins = list;
      return undefined;
    },
    current: (c) => c.allowedOrigins.join(","),
  },
  {
    flag: "--keys", env: "SFU_KEYS", valueName: "ID:SECRET[,ID:SECRET]", repeatable: true,
    description: "keys that sign access tokens, picked by the token's iss (several while rotating; none: anyone joins, see docs/auth.md)",
    apply: (c, t) => {
      const keys = parseKeys(t);
      if (typeof keys === "string") return keys;
      c.keys = keys;
      return undefined;
    },
    current: (c) => (c.keys.length ? `${c.keys.map((k) => k.id).join(",")} (secrets not shown)` : "(none: open relay)"),
  },
  {
    flag: "--webhook-url", env: "SFU_WEBHOOK_URLS", valueName: "URL[,URL]", repeatable: true,
    description: "POST room, participant and track events here, signed with the first key as LiveKit does (repeatable; needs --keys, see docs/api.md)",
    apply: (c, t) => {
      const urls = t.split(",").map((s) => s.trim()).filter(Boolean);
      const error = urls.length === 0 ? `"${t}" names no URL` : urls.map(webhookUrlError).find((e) => e !== undefined);
      if (error) return error;
      c.webhookUrls = urls;
      return undefined;
    },
    current: (c) => (c.webhookUrls.length ? c.webhookUrls.join(",") : "(none)"),
  },
  {
    flag: "--dev-tokens", env: "SFU_DEV_TOKENS", valueName: "on|off",
    description: "development only: GET /dev/token?room=R gives allowed pages a token for any room (npm start's demo); needs --keys",
    apply: (c, t) => (t === "on" || t === "off" ? void (c.devTokens = t === "on") : `"${t}" is not on or off`),
    current: (c) => (c.devTokens ? "on" : "off"),
  },
  {
    flag: "--log-level", env: "SFU_LOG_LEVEL", valueName: "LEVEL",
    description: `log level: ${LOG_LEVELS.join(", ")}`,
    apply: (c, t) => (LOG_LEVELS.includes(t) ? void (c.logLevel = t) : `"${t}" is not one of ${LOG_LEVELS.join(", ")}`),
    current: (c) => c.logLevel,
  },
  {
    flag: "--log-format", env: "SFU_LOG_FORMAT", valueName: LOG_FORMATS.join("|"),
    description: "json: one JSON object per line (production, log collectors); pretty: readable lines for a terminal (npm start)",
    apply: (c, t) => {
      const format = LOG_FORMATS.find((f) => f === t);
      if (format === undefined) return `"${t}" is not one of ${LOG_FORMATS.join(", ")}`;
      c.logFormat = format;
      return undefined;
    },
    current: (c) => c.logFormat,
  },
];

/** Why `text` is not a Redis URL, or undefined. */
function redisUrlError(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL; give one like redis://127.0.0.1:6379`;
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") return `"${text}" is not a redis:// or rediss:// URL`;
  if (url.hostname === "") return `"${text}" names no host; give one like redis://127.0.0.1:6379`;
  return undefined;
}

/** Why `text` is not a webhook URL (http or https, absolute), or undefined. */
function webhookUrlError(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL; give one like https://backend.example.org/sfu-webhook`;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? undefined : `"${text}" is not an http:// or https:// URL`;
}

export type ConfigResult = { ok: true; config: RelayConfig; help: boolean } | { ok: false; error: string };

/**
 * Reads flags (`--port 7880` or `--port=7880`) over environment variables over defaults. Unknown flags
 * and bad values are errors that name the flag or variable and say what is expected.
 */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const config: RelayConfig = structuredClone(DEFAULT_RELAY_CONFIG);
  for (const option of OPTIONS) {
    const text = env[option.env];
    if (text === undefined || text === "") continue;
    const error = option.apply(config, text);
    if (error) return { ok: false, error: `${option.env}: ${error}` };
  }
  let help = false;
  /** What the repeatable flags said so far, joined. */
  const repeated = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") { help = true; continue; }
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const option = OPTIONS.find((o) => o.flag === flag);
    if (!option) return { ok: false, error: `unknown option "${arg}"; run sfu-relay --help for the list` };
    const given = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (given === undefined) return { ok: false, error: `${flag} needs a value (${option.valueName})` };
    const earlier = option.repeatable ? repeated.get(flag) : undefined;
    const text = earlier === undefined ? given : `${earlier},${given}`;
    if (option.repeatable) repeated.set(flag, text);
    const error = option.apply(config, text);
    if (error) return { ok: false, error: `${flag}: ${error}` };
  }
  if (config.udpPortRange && config.udpPortRange[1] - config.udpPortRange[0] < 2) {
    return { ok: false, error: "--udp-ports: the range needs at least 2 ports (two per participant)" };
  }
  if (config.tcpPortRange && config.tcpPortRange[1] - config.tcpPortRange[0] < 2) {
    return { ok: false, error: "--tcp-ports: the range needs at least 2 ports (two per participant)" };
  }
  for (const [flag, range] of [["--udp-ports", config.udpPortRange], ["--tcp-ports", config.tcpPortRange]] as const) {
    if (range && range[1] - range[0] + 1 < 2 * config.workers) {
      const from = argv.some((a) => a === "--workers" || a.startsWith("--workers=")) || env.SFU_WORKERS ? "" : " (by default one per core)";
      return { ok: false, error: `${flag}: ${range[1] - range[0] + 1} ports split over ${config.workers} workers${from} leave fewer than 2 each: widen the range or lower --workers` };
    }
  }
  if (config.clusterRooms === "span" && config.redisUrl === undefined) return { ok: false, error: "--cluster-rooms span needs a cluster: give --redis too" };
  if (config.tcpPortRange && !config.iceTcp) return { ok: false, error: "--tcp-ports has no effect with --ice-tcp off: drop one of them" };
  if (config.webhookUrls.length > 0 && config.keys.length === 0) return { ok: false, error: "--webhook-url needs a key to sign the events with: give --keys too" };
  if (config.devTokens && config.keys.length === 0) return { ok: false, error: "--dev-tokens on needs a key to sign with: give --keys too" };
  const tlsError = tlsPairError(config.tlsCertPath, config.tlsKeyPath);
  if (tlsError) return { ok: false, error: tlsError };
  const turnError = turnSettingsError(config.turn);
  if (turnError) return { ok: false, error: turnError };
  return { ok: true, config, help };
}

export function helpText(): string {
  const lines = [
    "sfu-relay: the sfu-room WebRTC relay",
    "",
    "Usage: sfu-relay [options]   (every option can also be set by its environment variable)",
    "       sfu-relay token --room ROOM --identity ID [...]   mints an access token (sfu-relay token --help)",
    "",
  ];
  for (const o of OPTIONS) {
    lines.push(`  ${`${o.flag} ${o.valueName}`.padEnd(34)} ${o.description}`);
    lines.push(`  ${"".padEnd(34)} env ${o.env}, default ${o.current(DEFAULT_RELAY_CONFIG)}`);
  }
  lines.push("  --help".padEnd(37) + "print this help");
  return lines.join("\n");
}
