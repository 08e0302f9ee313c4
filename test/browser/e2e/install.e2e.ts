/**
 * The packages as a user gets them, from a fresh directory: `node scripts/pack.mjs` packs
 * @sfu-room/protocol, @sfu-room/sdk and @sfu-room/relay (the same step the Dockerfile runs), `npm install`
 * installs the three tarballs (their other dependencies from the npm registry), `npx sfu-relay --help`
 * lists the options, a TypeScript file type-checks against the installed declarations, the installed
 * relay (compiled JavaScript, with its bundled patched werift) starts and answers /health, and Vite builds a page that imports `@sfu-room/sdk/element` from the installed
 * package. In Chromium that page joins the installed relay beside a page that loads the element from
 * the relay's own /sfu-room.js, and each receives the other's video.
 *
 *   node --import tsx --test test/browser/e2e/install.e2e.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import puppeteer, { type Browser } from "puppeteer-core";
import { build } from "vite";
import { helpText } from "@sfu-room/relay";
import { CHROMIUM_PATH, chromiumArgs, ensureBrowser } from "../support/browsers.mjs";
import { serveStatic, type StaticServer } from "../support/static-server.ts";
import { makeY4m } from "../support/y4m.ts";
import { elementPage } from "./element-page.ts";
import { eventually } from "./harness.ts";
import { probe, type PageProbe } from "./page-probe.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const ARTIFACTS = join(ROOT, "test", "artifacts");
const ROOM = "installed";

let work: string;
let app: string;
let relay: ChildProcess | undefined;
let relayOrigin: string;
let site: StaticServer;
let browser: Browser;

/** Runs a command (in the app directory by default); its stdout, or the command and its output in the error. */
function run(command: string, args: string[], cwd = app): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
}

/** What the installed relay's "relay listening" line said of its send path (native or javascript). */
let installedSendPath: string | undefined;

/** Starts the installed `sfu-relay` on a free port; resolves with the port its first log line names. */
function startInstalledRelay(): Promise<number> {
  const child = spawn(join(app, "node_modules", ".bin", "sfu-relay"), ["--port", "0", "--drain", "0", "--log-level", "info"], { cwd: app, stdio: ["ignore", "pipe", "inherit"] });
  relay = child;
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`the installed sfu-relay exited (${code}) before it listened`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = (line.startsWith("{") ? JSON.parse(line) : {}) as { msg?: string; port?: number; sendPath?: string };
      if (entry.msg !== "relay listening") return;
      installedSendPath = entry.sendPath;
      resolve(entry.port!);
    });
  });
}

describe("the packed packages installed with npm", { timeout: 400_000 }, () => {
  before(async () => {
    const executablePath = ensureBrowser(CHROMIUM_PATH, "chromium");
    mkdirSync(ARTIFACTS, { recursive: true });
    const y4m = makeY4m(join(ARTIFACTS, "fake-320x180-15fps.y4m"));
    work = mkdtempSync(join(tmpdir(), "sfu-install-"));
    const tarballs = run("node", [join(ROOT, "scripts", "pack.mjs"), join(work, "tarballs")], ROOT).trim().split("\n");
    app = join(work, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "sfu-install-test", private: true, type: "module" }));
    run("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs]);
    relayOrigin = `http://127.0.0.1:${await startInstalledRelay()}`;
    browser = await puppeteer.launch({ executablePath, headless: true, args: chromiumArgs({ y4m }), protocolTimeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    // Waited for: it stops its workers before it exits, and their files are removed next.
    const exited = relay !== undefined && relay.exitCode === null && relay.signalCode === null ? new Promise((resolve) => relay!.once("exit", resolve)) : undefined;
    relay?.kill("SIGTERM");
    await exited;
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("npm install built the native send accelerator (the package's install script; this machine has a compiler), and the installed relay uses it", () => {
    assert.equal(installedSendPath, "native");
  });

  it("npx sfu-relay --help lists every option of the relay's sources", () => {
    const help = run("npx", ["sfu-relay", "--help"]);
    const flags = [...helpText().matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]!);
    assert.ok(flags.length > 20, `the sources' --help lists the options (${flags.length})`);
    for (const flag of flags) assert.match(help, new RegExp(`^  ${flag} `, "m"), `the installed --help shows ${flag}`);
  });

  it("a TypeScript app type-checks against the installed packages' declarations (exports' types condition)", () => {
    writeFileSync(join(app, "check.ts"), `import { Room } from "@sfu-room/sdk/room";
import { SfuRoomElement } from "@sfu-room/sdk/element";
import { PROTOCOL_LIMITS } from "@sfu-room/protocol";
import { DEFAULT_RELAY_CONFIG, startRelay, type RunningRelay } from "@sfu-room/relay";
export const room: Room | undefined = undefined;
export const element = document.querySelector("sfu-room") instanceof SfuRoomElement;
export const limit: number = PROTOCOL_LIMITS.tracksPerParticipant;
export const relay: Promise<RunningRelay> = startRelay({ ...DEFAULT_RELAY_CONFIG, port: 0 });
// @ts-expect-error: the declarations are real types, not any: a port is a number
export const port: string = DEFAULT_RELAY_CONFIG.port;
`);
    // skipLibCheck: two of the relay's internal declarations name werift's types, and werift is bundled
    // into the relay rather than installed (README, Installing).
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2023", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true,
        lib: ["ES2023", "DOM", "DOM.Iterable"], types: ["node"], typeRoots: [join(ROOT, "node_modules", "@types")],
      },
      files: ["check.ts"],
    }));
    run(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "."]);
  });

  it("the installed relay answers /health, with its workers (one per core, the compiled dist/worker.js) ready, and serves the installed SDK's element at /sfu-room.js", async () => {
    const health = await fetch(`${relayOrigin}/health`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { status: string; workers?: Array<{ ready: boolean }> };
    assert.equal(body.status, "ok");
    // One core runs everything in one process (no workers listed).
    assert.deepEqual(body.workers?.map((w) => w.ready) ?? [], availableParallelism() > 1 ? Array(availableParallelism()).fill(true) : []);
    const element = await fetch(`${relayOrigin}/sfu-room.js`);
    assert.equal(element.status, 200);
    assert.equal(Buffer.from(await element.arrayBuffer()).compare(readFileSync(join(app, "node_modules", "@sfu-room", "sdk", "dist", "sfu-room.js"))), 0);
  });

  it("a page built by Vite from `import \"@sfu-room/sdk/element\"` and a page on the relay's /sfu-room.js receive each other's video", async () => {
    const signalUrl = `${relayOrigin.replace(/^http/, "ws")}/ws`;
    writeFileSync(join(app, "main.js"), 'import "@sfu-room/sdk/element";\n');
    writeFileSync(join(app, "index.html"), `<!doctype html>
<html><head><meta charset="utf-8"><script type="module" src="./main.js"></script></head>
<body><sfu-room server="${signalUrl}" room="${ROOM}" name="Vite" style="display:block;height:100vh"></sfu-room></body></html>`);
    const dist = join(app, "dist");
    // The app's own directory and nothing of the workspace: no config file, packages from app/node_modules.
    await build({ root: app, configFile: false, logLevel: "warn", build: { outDir: dist, emptyOutDir: true } });
    writeFileSync(join(dist, "embed.html"), elementPage(relayOrigin, ROOM, { name: "Embed" }));
    site = await serveStatic(dist);

    const pages = await Promise.all(
      ["/", "/embed.html"].map(async (path) => {
        const page = await browser.newPage();
        await page.evaluateOnNewDocument("window.__name = (f) => f");
        page.on("pageerror", (e) => console.error(`[${path}] page error:`, e));
        await page.setViewport({ width: 800, height: 600 });
        await page.goto(`${site.url}${path}`);
        return page;
      }),
    );
    const receivesVideo = (p: PageProbe) => p.status === "joined" && p.tracks.some((t) => t.kind === "video" && t.framesDecoded > 0);
    const seen = await Promise.all(pages.map((page, i) => eventually(`page ${i + 1} receives the other's video`, () => page.evaluate(probe), receivesVideo)));
    assert.deepEqual(seen.map((p) => p.tiles.filter((t) => !t.self).length), [1, 1], "each page shows one remote participant");
  });
});
