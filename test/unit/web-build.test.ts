import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb, JS_BUDGET_GZIP_BYTES, type WebBuildResult } from '../../web/build.js';

describe('web build', () => {
  let outDir: string;
  let result: WebBuildResult;

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'web-build-'));
    result = await buildWeb({ outDir });
  }, 60_000);
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('keeps the initial JavaScript within 40 KB gzipped', async () => {
    const js = await readFile(path.join(outDir, result.jsFile));
    expect(JS_BUDGET_GZIP_BYTES).toBe(40 * 1024);
    expect(result.initialJs.files).toEqual([result.jsFile]);
    expect(result.initialJs.gzipBytes).toBe(gzipSync(js, { level: 9 }).length);
    expect(result.initialJs.gzipBytes).toBeLessThanOrEqual(JS_BUDGET_GZIP_BYTES);
    expect(result.withinBudget).toBe(true);
  });

  it('writes an index.html that loads the hashed script and stylesheet', async () => {
    const html = await readFile(path.join(outDir, 'index.html'), 'utf8');
    expect(result.jsFile).toMatch(/^app-[A-Z0-9]+\.js$/);
    expect(result.cssFile).toMatch(/^styles-[A-Z0-9]+\.css$/);
    expect(html).toContain(`<script type="module" src="${result.jsFile}"></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="${result.cssFile}" />`);
    expect(html).toContain('<meta name="viewport"');
    expect(html).toContain('href="favicon.svg"');
    await expect(readFile(path.join(outDir, 'favicon.svg'), 'utf8')).resolves.toContain('<svg');
  });

  it('adds the web app manifest and an unhashed service worker that is not initial JavaScript', async () => {
    const html = await readFile(path.join(outDir, 'index.html'), 'utf8');
    expect(html).toContain('<link rel="manifest" href="manifest.webmanifest" />');
    const manifest = JSON.parse(await readFile(path.join(outDir, 'manifest.webmanifest'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: 'Tasks', start_url: './', display: 'standalone' });
    const sw = await readFile(path.join(outDir, result.swFile), 'utf8');
    expect(result.swFile).toBe('sw.js');
    expect(sw).toContain('tasks-shell');
    // No build hash inside: a deployment never needs a new worker.
    expect(sw).not.toContain(result.jsFile);
    expect(result.initialJs.files).not.toContain('sw.js');
  });

  it('emits minified ESM with a separate source map', async () => {
    const js = await readFile(path.join(outDir, result.jsFile), 'utf8');
    const map = JSON.parse(await readFile(path.join(outDir, `${result.jsFile}.map`), 'utf8')) as { sources: string[] };
    expect(js.trimEnd().endsWith(`//# sourceMappingURL=${result.jsFile}.map`)).toBe(true);
    expect(js.split('\n').length).toBeLessThan(10);
    expect(map.sources.some((s) => s.endsWith('web/src/sync/engine.ts'))).toBe(true);
  });
});
