/**
 * Builds the static dashboard into web/dist: index.html, app-<hash>.js,
 * styles-<hash>.css, separate source maps, and the unhashed favicon.svg,
 * manifest.webmanifest and sw.js (the service worker for offline starts).
 * Hashed names let CloudFront and browsers cache assets forever; only
 * index.html and config.json must be revalidated (sw.js names no build, see
 * src/sw.ts).
 *
 * Framework: Preact (~4.5 KB gzipped with hooks) — JSX components and hooks
 * keep the UI code small and readable, at a tenth of React's size, which
 * leaves the 40 KB budget for the sync logic. The budget is checked here:
 * `npm run build` fails when the initial JavaScript exceeds it.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

export const JS_BUDGET_GZIP_BYTES = 40 * 1024;

const webDir = path.dirname(fileURLToPath(import.meta.url));

export interface WebBuildResult {
  outDir: string;
  /** File names (relative to outDir) that index.html loads. */
  jsFile: string;
  cssFile: string;
  /** The service worker (unhashed), registered by the app after load; not initial JS. */
  swFile: string;
  /** Every JS file loaded before first render (the entry and its static imports). */
  initialJs: { files: string[]; bytes: number; gzipBytes: number };
  budgetGzipBytes: number;
  withinBudget: boolean;
}

export async function buildWeb(options: { outDir?: string } = {}): Promise<WebBuildResult> {
  const outDir = path.resolve(options.outDir ?? path.join(webDir, 'dist'));
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });

  const result = await build({
    entryPoints: { app: path.join(webDir, 'src/main.tsx'), styles: path.join(webDir, 'styles.css') },
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: 'es2020',
    platform: 'browser',
    minify: true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });

  const outputs = result.metafile.outputs;
  const relative = (file: string) => path.relative(outDir, path.resolve(file));
  const entryOf = (suffix: string) => {
    const found = Object.entries(outputs).find(([, o]) => o.entryPoint?.endsWith(suffix));
    if (!found) throw new Error(`esbuild produced no output for ${suffix}`);
    return found[0];
  };
  const jsOut = entryOf('src/main.tsx');
  const cssOut = entryOf('styles.css');

  const initial = staticClosure(result.metafile, jsOut);
  const contents = await Promise.all(initial.map((f) => readFile(path.resolve(f))));
  const bytes = contents.reduce((n, c) => n + c.length, 0);
  const gzipBytes = contents.reduce((n, c) => n + gzipSync(c, { level: 9 }).length, 0);

  const jsFile = relative(jsOut);
  const cssFile = relative(cssOut);
  const html = (await readFile(path.join(webDir, 'index.html'), 'utf8'))
    .replace('href="styles.css"', `href="${cssFile}"`)
    .replace('src="app.js"', `src="${jsFile}"`);
  if (!html.includes(jsFile) || !html.includes(cssFile)) throw new Error('index.html no longer references app.js and styles.css');
  await writeFile(path.join(outDir, 'index.html'), html);
  // Unhashed on purpose: browsers ask for them by name.
  await copyFile(path.join(webDir, 'favicon.svg'), path.join(outDir, 'favicon.svg'));
  await copyFile(path.join(webDir, 'manifest.webmanifest'), path.join(outDir, 'manifest.webmanifest'));
  // The service worker (offline start): unhashed too, its URL is its identity. It names no
  // build (it reads index.html at run time), so a deployment never needs a new worker.
  await build({
    entryPoints: [path.join(webDir, 'src/sw.ts')],
    outfile: path.join(outDir, 'sw.js'),
    bundle: true,
    format: 'iife',
    target: 'es2020',
    platform: 'browser',
    minify: true,
    logLevel: 'warning',
  });

  return {
    outDir,
    jsFile,
    cssFile,
    swFile: 'sw.js',
    initialJs: { files: initial.map(relative), bytes, gzipBytes },
    budgetGzipBytes: JS_BUDGET_GZIP_BYTES,
    withinBudget: gzipBytes <= JS_BUDGET_GZIP_BYTES,
  };
}

/** The entry chunk plus every chunk it imports statically (dynamic imports load later). */
function staticClosure(metafile: Metafile, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of metafile.outputs[file]?.imports ?? []) {
      if (imp.kind === 'import-statement' && !imp.external) visit(imp.path);
    }
  };
  visit(entry);
  return [...seen];
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await buildWeb();
  console.log(`web/dist: ${r.jsFile}, ${r.cssFile}, index.html`);
  console.log(
    `initial JS: ${kb(r.initialJs.bytes)} minified, ${kb(r.initialJs.gzipBytes)} gzipped (budget ${kb(r.budgetGzipBytes)})`,
  );
  if (!r.withinBudget) {
    console.error(`Size budget exceeded: initial JS is ${kb(r.initialJs.gzipBytes)} gzipped, over ${kb(r.budgetGzipBytes)}.`);
    process.exit(1);
  }
}
