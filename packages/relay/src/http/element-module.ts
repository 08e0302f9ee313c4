/**
 * The `<sfu-room>` element as one ES module, served at `/sfu-room.js`, so that a page can use it with
 * nothing but `<script type="module" src="https://relay/sfu-room.js">`: no bundler, no other server.
 * The SDK builds the file ahead of time (packages/sdk/scripts/build-element.mjs, run by the set-up
 * step); the relay only reads it, on every request, so a rebuild is served without a restart.
 */
import { readFile } from "node:fs/promises";

export type ElementModule = { ok: true; code: Buffer } | { ok: false; status: 404 | 500; error: string };

const BUILD = "node packages/sdk/scripts/build-element.mjs";

export async function readElementModule(path: string): Promise<ElementModule> {
  try {
    return { ok: true, code: await readFile(path) };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") {
      return {
        ok: false, status: 404,
        error: `the <sfu-room> element module is not built: no file at ${path}. Build it with \`${BUILD} --out ${path}\` ` +
          "(sh scripts/bootstrap.sh does it for the default path), or point --element-module / SFU_ELEMENT_MODULE at the built file",
      };
    }
    return { ok: false, status: 500, error: `the <sfu-room> element module at ${path} could not be read (${err.code ?? err.message}); check --element-module / SFU_ELEMENT_MODULE` };
  }
}
