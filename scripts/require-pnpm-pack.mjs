#!/usr/bin/env node
// `prepack` of the three published packages: they are packed with `pnpm pack` (or published with
// `pnpm publish`), which puts publishConfig's exports/bin (the compiled dist/) into the packed
// package.json and turns `workspace:*` into real versions. `npm pack` does neither, and its tarball
// would point at TypeScript sources that are not in it: refuse it with the command that works.
const agent = process.env.npm_config_user_agent ?? "";
if (!agent.startsWith("pnpm/")) {
  console.error(`${process.env.npm_package_name ?? "this package"}: pack it with \`pnpm pack\` (node scripts/pack.mjs DIR packs all three): npm pack keeps workspace:* versions and the TypeScript exports`);
  process.exit(1);
}
