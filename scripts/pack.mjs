#!/usr/bin/env node
// Packs the three published packages (@sfu-room/protocol, @sfu-room/sdk, @sfu-room/relay) into DIR with
// `pnpm pack`, which builds each (prepack) and writes the package.json a user gets: publishConfig's
// compiled exports and bin, real versions instead of `workspace:*`. Prints the tarballs' paths, one a line.
// Used by the install test (test/browser/e2e/install.e2e.ts) and the Dockerfile.
//   node scripts/pack.mjs DIR
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const PACKAGES = ["protocol", "sdk", "relay"];

/** Packs every package into `dir`; returns the tarballs' absolute paths. */
export function packAll(dir) {
  mkdirSync(dir, { recursive: true });
  // pnpm from the workspace's node_modules/.bin (scripts/bootstrap.sh), or from PATH (the Dockerfile).
  const env = { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}` };
  return PACKAGES.map((name) => {
    const cwd = join(root, "packages", name);
    // The build's own output goes to stderr: stdout is this script's list of tarballs.
    execFileSync("pnpm", ["pack", "--pack-destination", dir], { cwd, env, stdio: ["ignore", 2, "inherit"] });
    const { version } = JSON.parse(readFileSync(join(cwd, "package.json"), "utf8"));
    return resolve(dir, `sfu-room-${name}-${version}.tgz`); // pnpm's name for @sfu-room/NAME@VERSION
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("pack: give the directory to write the tarballs to: node scripts/pack.mjs DIR");
    process.exit(2);
  }
  for (const tarball of packAll(resolve(dir))) console.log(tarball);
}
