#!/usr/bin/env -S node --max-semi-space-size=16
// The V8 flags are src/v8-flags.ts's (why they are there; a test keeps this line equal to them).
// Runs the TypeScript sources as they are: they use erasable syntax only (tsconfig erasableSyntaxOnly),
// so Node's built-in type stripping runs them with no transpiler and no build step.
if (!process.features.typescript) {
  console.error(`sfu-relay: needs Node >= 22.18 (it runs its TypeScript sources with Node's type stripping); this is Node ${process.version}`);
  process.exit(1);
}
await import("../src/cli.ts");
