/**
 * The `<sfu-room>` element as one ES module, served by the relay at `/sfu-room.js`, so that a page can
 * use it with nothing but `<script type="module" src="https://relay/sfu-room.js">`: no bundler, no
 * other server. Built from the SDK's sources with esbuild on first request (about 100 ms) and kept.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export class ElementBundle {
  private built: Promise<Uint8Array> | undefined;

  /** The minified module (the SDK's element entry with Lit inlined), or an error if the SDK is absent. */
  get(): Promise<Uint8Array> {
    this.built ??= build().catch((e: unknown) => {
      this.built = undefined; // try again on the next request
      throw e;
    });
    return this.built;
  }
}

async function build(): Promise<Uint8Array> {
  const { build: esbuild } = await import("esbuild");
  const require = createRequire(import.meta.url);
  const sdkRoot = dirname(require.resolve("@sfu-room/sdk/package.json"));
  const result = await esbuild({
    absWorkingDir: sdkRoot,
    entryPoints: [join(sdkRoot, "src/elements/index.ts")],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    write: false,
    conditions: ["production"],
    legalComments: "none",
  });
  return result.outputFiles[0]!.contents;
}
