import { execFile } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { LAMBDA_BUNDLING } from '../lib/bundling.js';
import { FUNCTIONS, type FunctionName, CHANGE_FEED } from '../lib/definitions.js';
import { median, round } from './stats.js';

const run = promisify(execFile);

/** The esbuild options CDK's NodejsFunction uses (lib/bundling.ts, shared with lib/constructs/task-function.ts). */
export const DEPLOYED_BUNDLING = {
  bundle: true,
  format: LAMBDA_BUNDLING.format,
  target: LAMBDA_BUNDLING.target,
  platform: LAMBDA_BUNDLING.platform,
  mainFields: [...LAMBDA_BUNDLING.mainFields],
  banner: { js: LAMBDA_BUNDLING.banner },
  minify: LAMBDA_BUNDLING.minify,
  sourcemap: LAMBDA_BUNDLING.sourcemap,
  sourcesContent: false,
  external: [...LAMBDA_BUNDLING.external],
} satisfies BuildOptions;

/** Module-scope code reads these (lambdas/env.ts fails fast without them); no call leaves the process at import. */
const IMPORT_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  TASKS_TABLE: 'tasks',
  CHANGES_TABLE: 'changes',
  CHANGE_RETENTION_SECONDS: String(CHANGE_FEED.defaultRetentionDays * 86_400),
  CONNECTIONS_TABLE: 'connections',
  JWT_ISSUER: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench',
  JWT_AUDIENCE: 'bench',
  WS_MANAGEMENT_ENDPOINT: 'https://bench.execute-api.us-east-1.amazonaws.com/prod',
  POWERTOOLS_LOG_LEVEL: 'WARN',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export interface BundleResult {
  fn: FunctionName;
  bytes: number;
  /** Median of `runs` fresh `node` processes importing the bundle. */
  importMs: number;
  /** The same with NODE_OPTIONS=--enable-source-maps, as the deployed functions run (median of `sourceMapRuns`). */
  importMsWithSourceMaps: number;
  /** Size of the same bundle with `@aws-sdk/*` external (CDK's default, the runtime's SDK), for comparison. */
  bytesSdkExternal: number;
  /** Its import time (median of `sourceMapRuns`); the SDK then loads from node_modules, as on Lambda from the runtime's copy. */
  importMsSdkExternal: number;
  /** Largest input packages in the bundle, for explaining the size. */
  largest: Array<{ name: string; bytes: number }>;
}

/** Bytes per package (or first-party folder) of a bundle's inputs, largest first. */
function largestInputs(metafile: Metafile, top = 4): Array<{ name: string; bytes: number }> {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint);
  const totals = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const name = match ? match[1]! : file.split('/').slice(0, 2).join('/');
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  return [...totals.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}

/**
 * Import time of a module in a fresh node process, measured inside it with a
 * monotonic clock. An empty module is imported first so the figure is the
 * bundle's own cost (parse, evaluate, module-scope clients), not the ESM
 * loader's first-use setup (15–40 ms here, also paid by any empty handler).
 */
async function importMs(file: string, warmup: string, nodeOptions: string): Promise<number> {
  const script =
    `await import(${JSON.stringify(pathToFileURL(warmup).href)});` +
    `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)});` +
    'process.stdout.write(String(performance.now() - t));';
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...IMPORT_ENV, NODE_OPTIONS: nodeOptions },
  });
  return Number(stdout);
}

interface Built {
  fn: FunctionName;
  file: string;
  bytes: number;
  externalFile: string;
  bytesSdkExternal: number;
  largest: Array<{ name: string; bytes: number }>;
  plain: number[];
  withMaps: number[];
  external: number[];
}

/**
 * Bundles every function of FUNCTIONS as CDK deploys it and measures each
 * bundle's size and its import time (median of `runs` fresh processes). The
 * runs go round-robin over the functions, so a burst of load on the shared
 * machine lands on all of them rather than on one.
 */
export async function measureBundles(projectRoot: string, runs = 10, sourceMapRuns = 3): Promise<BundleResult[]> {
  // Inside the project (git-ignored: bench/results/*.tmp) so the SDK-external variant resolves @aws-sdk/* from node_modules.
  const outDir = path.join(projectRoot, 'bench/results/bundles.tmp');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  try {
    const warmup = path.join(outDir, 'empty.mjs');
    await writeFile(warmup, 'export {};\n');
    const built: Built[] = [];
    for (const [fn, definition] of Object.entries(FUNCTIONS) as Array<[FunctionName, (typeof FUNCTIONS)[FunctionName]]>) {
      const entry = path.join(projectRoot, definition.entry);
      // index.mjs, the file name CDK gives an ESM bundle.
      const file = path.join(outDir, fn, 'index.mjs');
      const { metafile } = await build({
        ...DEPLOYED_BUNDLING,
        entryPoints: [entry],
        outfile: file,
        metafile: true,
        logLevel: 'error',
      });
      const externalFile = path.join(outDir, `${fn}-sdk-external`, 'index.mjs');
      await build({
        ...DEPLOYED_BUNDLING,
        external: ['@aws-sdk/*'],
        entryPoints: [entry],
        outfile: externalFile,
        logLevel: 'error',
      });
      built.push({
        fn,
        file,
        bytes: (await stat(file)).size,
        externalFile,
        bytesSdkExternal: (await stat(externalFile)).size,
        largest: metafile ? largestInputs(metafile) : [],
        plain: [],
        withMaps: [],
        external: [],
      });
    }
    for (let i = 0; i < runs; i++) {
      for (const b of built) {
        b.plain.push(await importMs(b.file, warmup, ''));
        if (i < sourceMapRuns) {
          b.withMaps.push(await importMs(b.file, warmup, '--enable-source-maps'));
          b.external.push(await importMs(b.externalFile, warmup, ''));
        }
      }
    }
    return built.map((b) => ({
      fn: b.fn,
      bytes: b.bytes,
      importMs: round(median(b.plain)),
      importMsWithSourceMaps: round(median(b.withMaps)),
      bytesSdkExternal: b.bytesSdkExternal,
      importMsSdkExternal: round(median(b.external)),
      largest: b.largest,
    }));
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
