/**
 * Runs test/gstreamer/whip-publish.py (a WHIP publisher on GStreamer's webrtcbin, Debian's GStreamer
 * 1.22; its packages installed when missing and root) and reads what it reports: one JSON object a line
 * on its stdout. It gathers host candidates from 127.0.0.1 only, so all its traffic stays on loopback.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ensureDebianPackage } from "../browser/support/browsers.mjs";
import { type ChildEvent, readEventLines } from "./event-lines.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("../gstreamer/whip-publish.py", import.meta.url));
const MULTIARCH = `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu`;

/** One file of each Debian package the script needs: its Python bindings, typelibs and plugins. */
const PACKAGES: Array<[path: string, debianPackage: string]> = [
  ["/usr/lib/python3/dist-packages/gi/__init__.py", "python3-gi"],
  [`${MULTIARCH}/girepository-1.0/Gst-1.0.typelib`, "gir1.2-gstreamer-1.0"],
  [`${MULTIARCH}/girepository-1.0/GstSdp-1.0.typelib`, "gir1.2-gst-plugins-base-1.0"],
  [`${MULTIARCH}/girepository-1.0/GstWebRTC-1.0.typelib`, "gir1.2-gst-plugins-bad-1.0"],
  [`${MULTIARCH}/gstreamer-1.0/libgstopus.so`, "gstreamer1.0-plugins-base"],
  [`${MULTIARCH}/gstreamer-1.0/libgstvpx.so`, "gstreamer1.0-plugins-good"],
  [`${MULTIARCH}/gstreamer-1.0/libgstwebrtc.so`, "gstreamer1.0-plugins-bad"],
  [`${MULTIARCH}/gstreamer-1.0/libgstnice.so`, "gstreamer1.0-nice"],
];

export type GstEvent = ChildEvent;

export interface WhipPublisher {
  /** Every line it printed, in order. */
  readonly events: readonly GstEvent[];
  /** Resolves with the first event (already printed or to come) that `match` accepts; rejects if it exits or fails first. */
  next(what: string, match: (e: GstEvent) => boolean, timeoutMs?: number): Promise<GstEvent>;
  /** SIGTERM: it sends DELETE to its session and exits; resolves with its exit code. */
  stop(): Promise<number>;
  /** What it wrote to stderr (GStreamer's warnings, Python's tracebacks). */
  stderr(): string;
}

/** Installs what the script needs, in one apt-get run (as root), when anything is missing. */
export function ensureGstreamer(): void {
  const missing = PACKAGES.filter(([path]) => !existsSync(path));
  if (missing.length === 0) return;
  ensureDebianPackage(missing[0]![0], missing.map(([, debianPackage]) => debianPackage).join(" "));
  for (const [path, debianPackage] of missing) ensureDebianPackage(path, debianPackage);
}

export function startWhipPublisher(options: { url: string; token?: string; width?: number; height?: number; volume?: number }): WhipPublisher {
  ensureGstreamer();
  const args = [SCRIPT, "--url", options.url, "--local-address", "127.0.0.1"];
  if (options.token) args.push("--token", options.token);
  if (options.width) args.push("--width", String(options.width));
  if (options.height) args.push("--height", String(options.height));
  if (options.volume !== undefined) args.push("--volume", String(options.volume));
  const child = spawn(PYTHON, args, { stdio: ["ignore", "pipe", "pipe"] });
  const lines = readEventLines(child, { name: "the GStreamer publisher", failed: (e) => e.event === "fatal" || e.event === "refused" });
  return {
    events: lines.events,
    next: lines.next,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return lines.exit();
    },
    stderr: lines.stderr,
  };
}
