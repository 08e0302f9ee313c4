/**
 * Janus VideoRoom as the comparison server: installs the Debian package when missing (as root),
 * writes a configuration folder that loads only the VideoRoom plugin and the WebSocket transport and
 * binds 127.0.0.1 only (signaling and ICE), starts `janus -F DIR -C DIR/janus.jcfg` and stops it by PID.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

const JANUS = "/usr/bin/janus";

/** Installs Janus from Debian if it is missing. Returns its version line. */
export function ensureJanus(log: (s: string) => void): string {
  if (!existsSync(JANUS)) {
    if (process.getuid?.() !== 0) throw new Error("Janus is not installed and this is not root: apt-get install -y janus");
    log("installing Janus (apt-get install janus)…");
    execFileSync("sh", ["-c", "apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=600 janus"], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  }
  // `janus --version` prints the version, then exits 1 ("Unknown option"): read stdout anyway.
  const out = spawnSync(JANUS, ["--version"], { encoding: "utf8" }).stdout ?? "";
  return /Janus version: \d+ \(([^)]+)\)/.exec(out)?.[1] ?? out.split("\n")[0]!;
}

function janusLibDir(): string {
  for (const base of ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"]) {
    if (existsSync(join(base, "janus", "plugins", "libjanus_videoroom.so"))) return join(base, "janus");
  }
  for (const entry of readdirSync("/usr/lib")) {
    const dir = join("/usr/lib", entry, "janus");
    if (existsSync(join(dir, "plugins", "libjanus_videoroom.so"))) return dir;
  }
  throw new Error("libjanus_videoroom.so not found under /usr/lib");
}

export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Writes DIR/janus.jcfg and friends: VideoRoom + WebSocket transport only; the WebSocket on 127.0.0.1,
 * ICE on `iceAddress` only. Janus never gathers loopback candidates (src/ice.c skips IFF_LOOPBACK
 * interfaces), so the harness runs in a private network namespace and gives Janus an address of a
 * veth interface there (see netns.ts); traffic to it is local and goes through the loopback device.
 */
export function writeJanusConfig(dir: string, wsPort: number, iceAddress: string): void {
  rmSync(dir, { recursive: true, force: true });
  for (const sub of ["plugins", "transports", "none"]) mkdirSync(join(dir, sub), { recursive: true });
  const lib = janusLibDir();
  symlinkSync(join(lib, "plugins", "libjanus_videoroom.so"), join(dir, "plugins", "libjanus_videoroom.so"));
  symlinkSync(join(lib, "transports", "libjanus_websockets.so"), join(dir, "transports", "libjanus_websockets.so"));
  writeFileSync(join(dir, "janus.jcfg"), `# Written by bench/lib/janus-driver.ts: VideoRoom + WebSocket transport, loopback only.
general: {
  configs_folder = "${dir}"
  plugins_folder = "${dir}/plugins"
  transports_folder = "${dir}/transports"
  events_folder = "${dir}/none"
  loggers_folder = "${dir}/none"
  debug_level = ${process.env.BENCH_JANUS_DEBUG ?? 4}
  debug_colors = false
  interface = "${iceAddress}"
  server_name = "sfu-room-bench"
  session_timeout = 60
}
certificates: {
}
media: {
}
nat: {
  nice_debug = false
  ice_enforce_list = "${iceAddress}"
  ignore_mdns = true
}
plugins: {
}
transports: {
}
loggers: {
}
events: {
  broadcast = false
}
`);
  writeFileSync(join(dir, "janus.transport.websockets.jcfg"), `general: {
  json = "plain"
  ws = true
  ws_port = ${wsPort}
  ws_ip = "127.0.0.1"
  ws_acl = "127."
  wss = false
}
admin: {
  admin_ws = false
  admin_wss = false
}
`);
  writeFileSync(join(dir, "janus.plugin.videoroom.jcfg"), "general: {\n}\n");
}

/** Janus processes started here, killed if the harness exits without stopping them. */
const running = new Set<number>();
process.on("exit", () => {
  for (const pid of running) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

export interface RunningJanus {
  pid: number;
  url: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Starts Janus with a fresh config in `dir`; resolves once its WebSocket transport accepts connections. */
export async function startJanus(dir: string, iceAddress: string): Promise<RunningJanus> {
  const port = await freeTcpPort();
  writeJanusConfig(dir, port, iceAddress);
  const logFile = join(dir, "janus.log");
  const out = openSync(logFile, "w");
  const child: ChildProcess = spawn(JANUS, ["-F", dir, "-C", join(dir, "janus.jcfg")], { stdio: ["ignore", out, out] });
  let exited = false;
  running.add(child.pid!);
  const exit = new Promise<void>((resolve) => child.once("exit", () => { exited = true; running.delete(child.pid!); resolve(); }));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`janus exited at start; see ${logFile}:\n${readFileSync(logFile, "utf8").slice(-2000)}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`janus did not start within 15 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    url: `ws://127.0.0.1:${port}`,
    logFile,
    async stop() {
      if (exited) return;
      process.kill(child.pid!, "SIGTERM");
      const timer = setTimeout(() => { if (!exited) process.kill(child.pid!, "SIGKILL"); }, 8000);
      await exit;
      clearTimeout(timer);
    },
  };
}

async function canConnect(port: number): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}
