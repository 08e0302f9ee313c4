import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_RELAY_CONFIG, OPTIONS, parseConfig } from "../src/config.ts";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "sfu-relay.mjs");
/** Relays started by firstLogLine that have not exited: a failed test must not leave them running. */
const running = new Set<ChildProcess>();

afterEach(() => {
  // SIGKILL: the primary's workers exit on their own once its IPC channel is gone (worker-main.ts).
  for (const child of running) child.kill("SIGKILL");
});

describe("configuration", () => {
  it("defaults bind and announce loopback only", () => {
    const r = parseConfig([], {});
    expect(r).toEqual({ ok: true, help: false, config: DEFAULT_RELAY_CONFIG });
  });

  it("runs one SFU per core unless told otherwise; --workers 1 (SFU_WORKERS=1) keeps one process", () => {
    expect(parseConfig([], {})).toMatchObject({ ok: true, config: { workers: availableParallelism() } });
    expect(parseConfig(["--workers", "1"], {})).toMatchObject({ ok: true, config: { workers: 1 } });
    expect(parseConfig([], { SFU_WORKERS: "1" })).toMatchObject({ ok: true, config: { workers: 1 } });
    // A range too small for the default says where the worker count came from.
    const ports = String(2 * availableParallelism() - 1);
    const small = parseConfig(["--udp-ports", `40000-${40000 + Number(ports) - 1}`], {});
    if (availableParallelism() > 1) {
      expect(small).toEqual({ ok: false, error: `--udp-ports: ${ports} ports split over ${availableParallelism()} workers (by default one per core) leave fewer than 2 each: widen the range or lower --workers` });
    }
  });

  it("flags override environment variables, in both --flag value and --flag=value forms", () => {
    const r = parseConfig(["--port=9000", "--announced-ip", "203.0.113.7,198.51.100.1", "--max-tracks", "4"], {
      SFU_PORT: "8000", SFU_UDP_PORTS: "40000-40100", SFU_MAX_PARTICIPANTS: "12",
    });
    if (!r.ok) throw new Error(r.error);
    expect(r.config.port).toBe(9000);
    expect(r.config.udpPortRange).toEqual([40000, 40100]);
    expect(r.config.announcedAddresses).toEqual(["203.0.113.7", "198.51.100.1"]);
    expect(r.config.core.maxParticipantsPerRoom).toBe(12);
    expect(r.config.core.maxTracksPerParticipant).toBe(4);
  });

  it.each([
    [["--port", "70000"], /--port: "70000" is not a port/],
    [["--port"], /--port needs a value/],
    [["--frobnicate"], /unknown option "--frobnicate"/],
    [["--rtc-bind", "localhost"], /not an IPv4 address/],
    [["--announced-ip", "1.2.3"], /"1.2.3" is not an IP address/],
    [["--udp-ports", "50000-40000"], /not a range/],
    [["--udp-ports", "50000-50001"], /at least 2 ports/],
    [["--workers", "0"], /--workers: "0" is not a number of workers from 1 to 256/],
    [["--workers", "4", "--udp-ports", "40000-40006"], /--udp-ports: 7 ports split over 4 workers leave fewer than 2 each: widen the range or lower --workers/],
    [["--log-level", "loud"], /not one of/],
    [["--max-participants", "0"], /from 1 to 10000/],
    [["--max-tracks", "65"], /from 1 to 64/],
    [["--join-timeout", "5"], /--join-timeout: "5" is not a number of ms from 100/],
    [["--max-send-buffer", "100"], /from 16384/],
    [["--allowed-origins", "example.org"], /"example.org" is not an origin like https:\/\/example.org/],
    [["--allowed-origins", "https://example.org/app"], /is not an origin/],
    [["--allowed-origins", "ftp://example.org"], /is not an origin/],
    [["--allowed-origins", " , "], /lists no origin/],
    [["--resume-window", "-1"], /--resume-window: "-1" is not a number of ms from 0 to 600000/],
    [["--resume-window", "600001"], /from 0 to 600000/],
    [["--dev-tokens", "on"], /--dev-tokens on needs a key to sign with: give --keys too/],
    [["--keys", "k1"], /--keys: "k1\.\.\." is not ID:SECRET/],
    [["--keys", "k1:short"], /--keys: the secret of key "k1" has 5 characters; HS256 needs at least 32/],
    [["--keys", `k1:${"a".repeat(32)}`, "--keys", `k1:${"b".repeat(32)}`], /key "k1" is given twice/],
  ])("rejects %j with a message naming the flag", (argv, message) => {
    const r = parseConfig(argv, {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it("reads signing keys from SFU_KEYS, or from repeated --keys (which win), first key first", () => {
    const [a, b] = ["a".repeat(32), "b:".repeat(16)];
    const fromEnv = parseConfig([], { SFU_KEYS: `new:${a}, old:${b}` });
    expect(fromEnv.ok && fromEnv.config.keys).toEqual([{ id: "new", secret: a }, { id: "old", secret: b }]);
    const fromFlags = parseConfig(["--keys", `k2:${b}`, "--keys", `k1:${a}`], { SFU_KEYS: `new:${a}` });
    expect(fromFlags.ok && fromFlags.config.keys).toEqual([{ id: "k2", secret: b }, { id: "k1", secret: a }]);
  });

  it("reads the signaling limits and the origin allow-list from flags and environment variables", () => {
    const r = parseConfig(["--max-pending-sessions", "7", "--allowed-origins", "https://Meet.Example.org,loopback"], {
      SFU_JOIN_TIMEOUT_MS: "2500", SFU_MAX_SESSIONS_PER_IP: "3", SFU_MAX_SEND_BUFFER_BYTES: "65536",
    });
    if (!r.ok) throw new Error(r.error);
    expect(r.config).toMatchObject({
      maxPendingSessions: 7, joinTimeoutMs: 2500, maxSessionsPerAddress: 3, maxSendBufferBytes: 65536,
      allowedOrigins: ["https://meet.example.org", "loopback"],
    });
    // By default only pages served from this machine may open the WebSocket (npm start's demo among them).
    expect(DEFAULT_RELAY_CONFIG.allowedOrigins).toEqual(["loopback"]);
  });

  it("reads the resume window (0 turns resuming off) and the peer timeout; by default 20 s and 10 s", () => {
    expect(DEFAULT_RELAY_CONFIG.core.resumeWindowMs).toBe(20_000);
    expect(DEFAULT_RELAY_CONFIG.peerTimeoutMs).toBe(10_000);
    const off = parseConfig(["--resume-window", "0"], {});
    expect(off.ok && off.config.core.resumeWindowMs).toBe(0);
    const env = parseConfig(["--max-participants", "5"], { SFU_RESUME_WINDOW_MS: "45000", SFU_PEER_TIMEOUT_MS: "8000" });
    expect(env.ok && [env.config.core.resumeWindowMs, env.config.core.maxParticipantsPerRoom, env.config.peerTimeoutMs]).toEqual([45_000, 5, 8000]);
  });

  it("reads --redis (SFU_REDIS_URL) and --node-id (SFU_NODE_ID), refusing what is not a Redis URL or a node id", () => {
    expect(DEFAULT_RELAY_CONFIG.redisUrl).toBeUndefined();
    const r = parseConfig(["--redis", "redis://:pw@10.0.0.7:6380/2"], { SFU_NODE_ID: "relay-eu.1" });
    expect(r.ok && [r.config.redisUrl, r.config.nodeId]).toEqual(["redis://:pw@10.0.0.7:6380/2", "relay-eu.1"]);
    expect(parseConfig([], { SFU_REDIS_URL: "rediss://cache.example.org" }).ok).toBe(true);
    expect(parseConfig(["--redis", "http://10.0.0.7:6379"], {})).toEqual({ ok: false, error: '--redis: "http://10.0.0.7:6379" is not a redis:// or rediss:// URL' });
    expect(parseConfig(["--redis", "10.0.0.7:6379"], {})).toEqual({ ok: false, error: '--redis: "10.0.0.7:6379" is not a URL; give one like redis://127.0.0.1:6379' });
    expect(parseConfig(["--redis", "localhost"], {})).toEqual({ ok: false, error: '--redis: "localhost" is not a URL; give one like redis://127.0.0.1:6379' });
    expect(parseConfig(["--node-id", "a b"], {})).toEqual({ ok: false, error: `--node-id: "a b" is not a node id: use 1-64 letters, digits, '.', '_' or '-'` });
  });

  it("reads --cluster-rooms (SFU_CLUSTER_ROOMS): proxy by default; span needs --redis", () => {
    expect(DEFAULT_RELAY_CONFIG.clusterRooms).toBe("proxy");
    const r = parseConfig(["--redis", "redis://127.0.0.1:6379", "--workers", "1"], { SFU_CLUSTER_ROOMS: "span" });
    expect(r.ok && r.config.clusterRooms).toBe("span");
    expect(parseConfig(["--cluster-rooms", "spread"], {})).toEqual({ ok: false, error: '--cluster-rooms: "spread" is not proxy or span' });
    expect(parseConfig(["--cluster-rooms", "span", "--workers", "1"], {})).toEqual({ ok: false, error: "--cluster-rooms span needs a cluster: give --redis too" });
    expect(parseConfig(["--cluster-rooms", "span", "--redis", "redis://127.0.0.1:6379", "--workers", "2"], {}).ok).toBe(true);
  });

  it("names the environment variable when that is what is wrong", () => {
    const r = parseConfig([], { SFU_MAX_FRAME_BYTES: "12" });
    expect(r).toEqual({ ok: false, error: 'SFU_MAX_FRAME_BYTES: "12" is not a number from 1024 to 1048576' });
  });

  it("reads --tls-cert/--tls-key (SFU_TLS_CERT/SFU_TLS_KEY) as a pair of absolute paths, and refuses one without the other", () => {
    const both = parseConfig(["--tls-cert", "certs/full.pem"], { SFU_TLS_KEY: "/etc/relay/key.pem" });
    expect(both.ok && [both.config.tlsCertPath, both.config.tlsKeyPath]).toEqual([join(process.cwd(), "certs/full.pem"), "/etc/relay/key.pem"]);
    expect(parseConfig(["--tls-cert", "/c.pem"], {})).toEqual({ ok: false, error: "--tls-cert needs --tls-key (SFU_TLS_KEY) too: the private key of that certificate" });
    expect(parseConfig([], { SFU_TLS_KEY: "/k.pem" })).toEqual({ ok: false, error: "--tls-key needs --tls-cert (SFU_TLS_CERT) too: the certificate (chain) of that key" });
    expect(parseConfig(["--tls-key="], {})).toEqual({ ok: false, error: "--tls-key: needs the path of a PEM private key file" });
  });

  it("the CLI exits 1 at start, naming the file, when a TLS file cannot be read", () => {
    const missing = "/nonexistent-sfu-tls/cert.pem";
    const run = spawnSync(process.execPath, [cli, "--port", "0", "--tls-cert", missing, "--tls-key", missing], { encoding: "utf8", timeout: 20_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`sfu-relay: could not start: --tls-cert: cannot read ${missing}: ENOENT`);
  });

  it("the CLI prints every option in --help, and exits 2 with the error on a bad flag", () => {
    const help = spawnSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    for (const o of OPTIONS) {
      expect(help.stdout).toContain(o.flag);
      expect(help.stdout).toContain(o.env);
    }
    expect(help.stdout).toContain(`env SFU_WORKERS, default ${availableParallelism()} (one per core)`);
    const bad = spawnSync(process.execPath, [cli, "--port", "x"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('sfu-relay: --port: "x" is not a port (0-65535)\n');
  });

  // Two relay starts, each forking one worker per core before it logs: more than vitest's default 5 s on a busy machine.
  it("logs one JSON object per line by default, and readable lines with --log-format pretty (SFU_LOG_FORMAT)", { timeout: 60_000 }, async () => {
    const json = await firstLogLine([]);
    expect(JSON.parse(json)).toMatchObject({ level: 30, msg: "relay listening", access: "open" });
    const pretty = await firstLogLine(["--log-format", "pretty"]);
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: relay listening \{.*"access":"open"/);
    expect(parseConfig([], { SFU_LOG_FORMAT: "pretty" })).toMatchObject({ ok: true, config: { logFormat: "pretty" } });
    expect(parseConfig(["--log-format", "text"], {})).toEqual({ ok: false, error: '--log-format: "text" is not one of json, pretty' });
  });
});

/** Starts the CLI on a free port, returns the first line it logs to stdout, and stops it. */
function firstLogLine(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [cli, "--port", "0", "--drain", "0", ...args], { stdio: ["ignore", "pipe", "ignore"] });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (!out.includes("\n")) return;
      child.kill("SIGTERM");
      resolve(out.slice(0, out.indexOf("\n")));
    });
    child.on("exit", (code) => reject(new Error(`sfu-relay exited (${code}) before logging a line`)));
  });
}
