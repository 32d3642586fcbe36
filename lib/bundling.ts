/**
 * How every Lambda is bundled, shared by the CDK stack (NodejsFunction) and the
 * benchmarks, so `npm run bench` measures exactly what `cdk deploy` uploads.
 *
 * The AWS SDK v3 is bundled, not taken from the nodejs22.x runtime. Measured
 * with `npm run bench` on this code (2-core machine, median of 10 fresh
 * processes): the four functions holding an SDK client import in 82–92 ms
 * bundled (359–394 KB minified) against 158–192 ms with `@aws-sdk/*` external
 * (26–57 KB, the SDK then loads file by file from node_modules, as it would
 * from the runtime's copy). Cold start matters more to users than artifact
 * size, and the deployed function then runs the exact SDK version the tests
 * ran. It misses the 150 KB per-bundle budget; README's Performance section
 * says so.
 */
export const LAMBDA_BUNDLING = {
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  /** Nothing external: the SDK is bundled (see above). */
  external: [] as string[],
  /**
   * ESM bundles have no `require`; bundled CommonJS dependencies still call it,
   * so the banner recreates it (the pattern the esbuild and CDK docs give).
   */
  banner: "import { createRequire as __cjsRequire } from 'module';const require = __cjsRequire(import.meta.url);",
} as const;

/**
 * LAMBDA_BUNDLING as esbuild build options: what NodejsFunction passes on
 * esbuild's command line (`--bundle --format=esm --target=node22
 * --platform=node --minify --sourcemap --sources-content=false
 * --main-fields=module,main --banner:js=...`, output `index.mjs`). The local
 * runtime builds each function with exactly these (local/lambda/bundler.ts).
 */
export const LAMBDA_ESBUILD_OPTIONS = {
  bundle: true,
  format: LAMBDA_BUNDLING.format,
  platform: LAMBDA_BUNDLING.platform,
  target: LAMBDA_BUNDLING.target,
  minify: LAMBDA_BUNDLING.minify,
  sourcemap: LAMBDA_BUNDLING.sourcemap,
  sourcesContent: false,
  mainFields: [...LAMBDA_BUNDLING.mainFields],
  external: [...LAMBDA_BUNDLING.external],
  banner: { js: LAMBDA_BUNDLING.banner },
  /** NodejsFunction's output file for ESM; the handler is `index.handler`. */
  outputFile: 'index.mjs',
} as const;
