import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';

/** Debian's Chromium (CHROMIUM_PATH overrides it); the tests never download a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
/** CI sets REQUIRE_BROWSER=1: there a missing Chromium is a failure, not a skip. */
export const requireBrowser = process.env.REQUIRE_BROWSER === '1';

const MISSING = `${CHROMIUM_PATH} not found (apt-get install -y chromium)`;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** One headless Chromium; each `newContext()` gets its own empty profile (storage, cookies). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export type ContextOptions = Parameters<Browser['newContext']>[0];

export interface BrowserUse {
  /** A new context (its own empty profile) in the suite's browser, closed in `afterAll`. */
  newContext(options?: ContextOptions): Promise<BrowserContext>;
  /** The suite's browser, launched in `beforeAll`. */
  browser(): Browser;
}

/**
 * One browser for the enclosing `describe` (call it in a `describeBrowser` body):
 * launched in `beforeAll`; in `afterAll` the contexts from `newContext` are closed,
 * then the browser. Vitest runs `afterAll` hooks in reverse order, so one that the
 * suite registers after this call runs before the contexts are closed.
 */
export function useBrowser(): BrowserUse {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await browser?.close();
  });

  return {
    async newContext(options) {
      const context = await browser!.newContext(options);
      contexts.push(context);
      return context;
    },
    browser: () => browser!,
  };
}

const BROWSER_TEST_TIMEOUT_MS = 60_000;

let warned = false;

/**
 * `describe` for browser tests. Without Chromium the suite is skipped with one
 * line saying why, unless REQUIRE_BROWSER=1, where a test fails instead so CI
 * cannot go green without having run the browser tests.
 */
export function describeBrowser(name: string, body: () => void): void {
  if (hasChromium) {
    // Each test signs in through the real UI, several times, on a machine others share.
    describe(name, { timeout: BROWSER_TEST_TIMEOUT_MS }, body);
    return;
  }
  if (requireBrowser) {
    describe(name, () => {
      it('runs in Chromium (REQUIRE_BROWSER=1)', () => {
        throw new Error(`REQUIRE_BROWSER=1: Chromium is required for the browser tests, but ${MISSING}`);
      });
    });
    return;
  }
  if (!warned) console.warn(`browser tests skipped: ${MISSING}`);
  warned = true;
  // biome-ignore lint/suspicious/noSkippedTests: without Chromium and outside CI the browser tests are skipped with the warning above; CI sets REQUIRE_BROWSER=1 and .ci/run fails on any skipped test.
  describe.skip(name, body);
}

const root = path.resolve(import.meta.dirname, '../..');
export const artifactsDir = path.join(root, 'test/artifacts');
export const screenshotsDir = path.join(artifactsDir, 'screenshots');

/** A full-page screenshot under test/artifacts/screenshots/<name>.png (git-ignored). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotsDir, { recursive: true });
  const file = path.join(screenshotsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
  return file;
}

/**
 * Merges `entries` under `key` into test/artifacts/e2e-timings.json. Timings
 * are recorded, not asserted: a shared CI machine makes wall-clock limits flaky.
 */
export function recordTimings(key: string, entries: Record<string, unknown>): string {
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, 'e2e-timings.json');
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    all = {};
  }
  // The load average says how busy the (shared) machine was while these were measured.
  all[key] = {
    recordedAt: new Date().toISOString(),
    loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)),
    cpus: os.cpus().length,
    ...entries,
  };
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
  return file;
}
