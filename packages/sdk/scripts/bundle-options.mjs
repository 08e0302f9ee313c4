// esbuild options shared by the element build (build-element.mjs) and the size report
// (bundle-size.mjs), so the sizes reported are those of the module the relay serves.
/** One minified ES module from `entry` (relative to the SDK root), everything but `external` inlined. */
export function bundleOptions(sdkRoot, entry, external = []) {
  return {
    absWorkingDir: sdkRoot,
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    external,
    conditions: ["production"],
    legalComments: "none",
  };
}
