// Prints the SDK's bundle sizes (minified, and minified + gzipped) with esbuild:
//   node packages/sdk/scripts/bundle-size.mjs
// - element + Room, Lit included (what a page loads with one <script type=module>)
// - element + Room, Lit external (a page that already ships Lit)
// - headless Room only (no Lit at all)
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { bundleOptions } from "./bundle-options.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const cases = [
  ["<sfu-room> + Room, with Lit", "src/index.ts", []],
  ["<sfu-room> + Room, Lit external", "src/index.ts", ["lit", "lit/*", "@lit/*"]],
  ["headless Room only", "src/room/index.ts", []],
];
console.log("bundle                               minified   min+gzip");
for (const [name, entry, external] of cases) {
  const result = await build({ ...bundleOptions(root, entry, external), write: false });
  const code = result.outputFiles[0].contents;
  const kb = (n) => `${(n / 1024).toFixed(1)} kB`.padStart(9);
  console.log(`${name.padEnd(36)} ${kb(code.length)}  ${kb(gzipSync(code, { level: 9 }).length)}`);
}
