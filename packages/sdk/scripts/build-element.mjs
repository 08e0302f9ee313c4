// Builds the `<sfu-room>` element as one self-contained ES module (Lit inlined, minified): the file the
// relay serves at GET /sfu-room.js (relay option --element-module; its default is this package's
// dist/sfu-room.js). scripts/bootstrap.sh runs it whenever the SDK or protocol sources are newer.
//   node packages/sdk/scripts/build-element.mjs [--out FILE]
import { build } from "esbuild";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleOptions } from "./bundle-options.mjs";

const sdkRoot = fileURLToPath(new URL("..", import.meta.url));
const outAt = process.argv.indexOf("--out");
if (outAt >= 0 && !process.argv[outAt + 1]) {
  console.error("build-element: --out needs a file name");
  process.exit(2);
}
const out = outAt >= 0 ? resolve(process.argv[outAt + 1]) : resolve(sdkRoot, "dist/sfu-room.js");

const result = await build({ ...bundleOptions(sdkRoot, "src/elements/index.ts"), write: false });
const code = result.outputFiles[0].contents;
mkdirSync(dirname(out), { recursive: true });
// Written whole, then renamed: a relay serving the old file never reads half of the new one.
writeFileSync(`${out}.tmp`, code);
renameSync(`${out}.tmp`, out);
console.log(`[build-element] ${out} (${(code.length / 1024).toFixed(1)} kB)`);
