#!/bin/sh
# Makes a fresh machine (Node 20 + npm only) able to run everything:
# installs pnpm and a Node >= 22 binary (the npm "node" package) into node_modules/.bin,
# which npm/pnpm scripts put first on PATH. Re-runs the install only when the lockfile changed.
# Then builds the <sfu-room> element module the relay serves (packages/sdk/dist/sfu-room.js) when it is
# missing or older than the sources it is built from (about 100 ms).
set -e
cd "$(dirname "$0")/.."
PNPM_VERSION=12.21.0
stamp=node_modules/.bootstrap-stamp
want=$(cat pnpm-lock.yaml package.json packages/*/package.json test/package.json test/*/package.json 2>/dev/null | cksum)
if ! { [ -x node_modules/.bin/node ] && [ -x node_modules/.bin/pnpm ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }; then
  echo "[bootstrap] installing dependencies with pnpm $PNPM_VERSION (first run takes a minute)"
  if [ -n "$CI" ]; then frozen=--frozen-lockfile; else frozen=; fi
  npx -y "pnpm@$PNPM_VERSION" install $frozen
  node_modules/.bin/node -e 'const [M]=process.versions.node.split(".").map(Number); if (M<22) { console.error("[bootstrap] node_modules/.bin/node is "+process.version+", need >= 22"); process.exit(1) }'
  echo "$want" > "$stamp"
fi

element=packages/sdk/dist/sfu-room.js
if [ ! -f "$element" ] || [ -n "$(find packages/sdk/src packages/protocol/src packages/sdk/scripts pnpm-lock.yaml -newer "$element" | head -n 1)" ]; then
  node_modules/.bin/node packages/sdk/scripts/build-element.mjs
fi

# The relay's optional native send accelerator (packages/relay/native): built when the source is newer
# than the build and a C compiler is present; otherwise the relay runs its JavaScript path.
node_modules/.bin/node packages/relay/scripts/build-native.mjs
