// Builds the installable relay into dist/: JavaScript bundled by esbuild (dist/*.js, the `sfu-relay` bin
// is dist/cli.js) and declarations by tsc (dist/types). Run by `pnpm pack` (prepack) and the Dockerfile.
//
// werift is bundled in, everything else in `dependencies` stays an ordinary import: the relay runs on a
// patched werift (patches/werift@0.25.2.patch, applied by pnpm's patchedDependencies in this workspace),
// and an `npm install` of the published package would fetch the unpatched one from the registry. So the
// patched copy pnpm installed here is what goes into dist, and werift is only a devDependency.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const relayRoot = fileURLToPath(new URL("..", import.meta.url));
const { dependencies } = JSON.parse(readFileSync(`${relayRoot}package.json`, "utf8"));

rmSync(`${relayRoot}dist`, { recursive: true, force: true });
await build({
  absWorkingDir: relayRoot,
  // One file per published export (package.json publishConfig.exports), the bin and the worker process
  // (forked by workers/worker-process.ts as dist/worker.js); shared code goes to
  // chunks beside them. ("./ice-restart" is for the workspace's own werift test peer, not published.)
  entryPoints: { cli: "src/cli.ts", index: "src/index.ts", core: "src/core/index.ts", worker: "src/workers/worker-main.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  external: Object.keys(dependencies),
  // werift's own dependencies are partly CommonJS and require() Node's modules: give them a require.
  banner: { js: 'import { createRequire as __sfuCreateRequire } from "node:module"; const require = __sfuCreateRequire(import.meta.url);' },
  legalComments: "linked",
  logLevel: "warning",
});
execFileSync("tsc", ["-p", "tsconfig.build.json"], { cwd: relayRoot, stdio: "inherit" });
console.log(`[build] ${relayRoot}dist`);
