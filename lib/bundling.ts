/**
 * How every Lambda is bundled, shared by the CDK stack (NodejsFunction) and the
 * benchmarks, so `npm run bench` measures exactly what `cdk deploy` uploads.
 *
 * The AWS SDK v3 is left out: the nodejs22.x runtime ships it, and bundling it
 * took each function from 13–58 KB to 570–610 KB minified (measured with
 * esbuild on these handlers), 4× over our 150 KB per-function budget. This is
 * also NodejsFunction's own default on Node 18+. Everything else (aws-jwt-verify,
 * Powertools, zod/mini, ulid) is bundled and tree-shaken.
 */
export const LAMBDA_BUNDLING = {
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/*'],
  /**
   * ESM bundles have no `require`; bundled CommonJS dependencies still call it,
   * so the banner recreates it (the pattern the esbuild and CDK docs give).
   */
  banner: "import { createRequire as __cjsRequire } from 'module';const require = __cjsRequire(import.meta.url);",
} as const;
