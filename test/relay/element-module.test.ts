/**
 * GET /sfu-room.js serves the element module the SDK built ahead of time (the relay builds nothing at
 * run time), and a relay without the built file says how to build it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "@sfu-room/relay";
import { startTestRelay } from "../support/relay-harness.ts";

const BUILD_SCRIPT = fileURLToPath(new URL("../../packages/sdk/scripts/build-element.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "sfu-element-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the element module at /sfu-room.js", () => {
  it("is the file built by the SDK's build script, byte for byte, loadable from any origin", async () => {
    const file = join(dir, "sfu-room.js");
    execFileSync(process.execPath, [BUILD_SCRIPT, "--out", file]);
    const relay = await startTestRelay({ elementModulePath: file });
    try {
      const res = await fetch(`http://127.0.0.1:${relay.port}/sfu-room.js`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/javascript/);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.equals(readFileSync(file))).toBe(true);
      const code = body.toString("utf8");
      expect(code).toMatch(/customElements\.define\("sfu-room"/);
      expect(code).not.toMatch(/^import /m); // self-contained: Lit and the SDK are inside
    } finally {
      await relay.close();
    }
  });

  it("answers 404 naming the build command when the file is missing, and 500 when it cannot be read", async () => {
    const missing = join(dir, "not-built", "sfu-room.js");
    const relay = await startTestRelay({ elementModulePath: missing });
    try {
      const res = await fetch(`http://127.0.0.1:${relay.port}/sfu-room.js`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/json");
      const { error } = (await res.json()) as { error: string };
      expect(error).toContain(missing);
      expect(error).toContain(`node packages/sdk/scripts/build-element.mjs --out ${missing}`);
      expect(error).toContain("--element-module");
    } finally {
      await relay.close();
    }
    const unreadable = await startTestRelay({ elementModulePath: dir }); // a directory, not a file
    try {
      const res = await fetch(`http://127.0.0.1:${unreadable.port}/sfu-room.js`);
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: string }).error).toMatch(/could not be read \(EISDIR\).*--element-module/);
    } finally {
      await unreadable.close();
    }
  });

  it("is found by --element-module or SFU_ELEMENT_MODULE, relative paths taken from the working directory", () => {
    const byFlag = parseConfig(["--element-module", "site/sfu-room.js"], { SFU_ELEMENT_MODULE: "/srv/other.js" });
    const byEnv = parseConfig([], { SFU_ELEMENT_MODULE: "/srv/sfu-room.js" });
    if (!byFlag.ok || !byEnv.ok) throw new Error("the option was refused");
    expect(byFlag.config.elementModulePath).toBe(resolve("site/sfu-room.js"));
    expect(byEnv.config.elementModulePath).toBe("/srv/sfu-room.js");
    expect(parseConfig(["--element-module="], {})).toEqual({ ok: false, error: "--element-module: needs the path of the built file" });
  });
});
