/**
 * How every Lambda is bundled, shared by the CDK stack (NodejsFunction) and the
 * benchmarks, so `npm run bench` measures exactly what `cdk deploy` uploads.
 *
 * The AWS SDK v3 is bundled, not taken from the nodejs22.x runtime: the
 * benchmark's bundle scenario measured bundled imports markedly faster than
 * `@aws-sdk/*` external (the SDK then loads file by file), and the deployed
 * function runs the exact SDK version the tests ran. The cost is bundle size
 * over the 150 KB budget. Figures: bench/results/latest.json (`bundle.*`,
 * with the external variant in `bundle.details`) and docs/performance.md.
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
