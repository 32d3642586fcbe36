/**
 * `web.reload_10k_ms`: the dashboard in Debian's Chromium, signed in as a
 * user with 10,000 tasks; once the first visit has cached them (IndexedDB),
 * a reload is timed from the new document's start (performance.now() = 0)
 * to the first task row in the DOM, by a MutationObserver installed before
 * any page script runs. The whole list's render and the requests the reload
 * made are recorded beside it.
 */
import type { Page } from 'playwright-core';
import { hasChromium, launchBrowser } from '../test/support/browser.js';
import { signIn } from '../test/e2e/dashboard.js';
import { median, round } from './stats.js';

export interface WebReloadFigures {
  reload_10k_ms: number;
  /** Until as many rows as the first visit showed are in the DOM (equal to the above when the list renders at once). */
  reload_all_rows_ms: number;
  rows_rendered: number;
  /** API requests (fetch) the last reload made until its list was complete and a second had passed, by path. */
  requests_during_reload: string[];
  first_visit_ms: number;
}

const ROWS = 'li[data-testid^="task-"]';

/** Records when the first row, and then `window.__expectRows` rows, appear in the document. */
const OBSERVER = `(() => {
  const marks = (window.__listMarks = { first: null, all: null });
  const check = () => {
    const n = document.querySelectorAll('${ROWS}').length;
    if (n > 0 && marks.first === null) marks.first = performance.now();
    if (window.__expectRows && n >= window.__expectRows && marks.all === null) marks.all = performance.now();
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();`;

async function marks(page: Page): Promise<{ first: number | null; all: number | null }> {
  return page.evaluate(() => (window as unknown as { __listMarks: { first: number | null; all: number | null } }).__listMarks);
}

export async function measureWebReload(webUrl: string, username: string, expectTasks: number, trials = 3): Promise<WebReloadFigures> {
  if (!hasChromium) throw new Error('Chromium not found (apt-get install -y chromium)');
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext();
    await context.addInitScript(OBSERVER);
    const page = await context.newPage();
    const firstStarted = performance.now();
    await page.goto(webUrl);
    await page.getByLabel('Username').waitFor();
    await signIn(page, username);
    await page.waitForFunction((n) => document.querySelectorAll('li[data-testid^="task-"]').length >= Math.min(n, 1), expectTasks, {
      timeout: 120_000,
    });
    const firstVisitMs = performance.now() - firstStarted;
    const shown = await page.locator(ROWS).count();
    // Let the first visit finish writing its cache.
    await page.waitForTimeout(2_000);

    const runs: { first: number; all: number; requests: string[] }[] = [];
    for (let i = 0; i < trials; i++) {
      const requests: string[] = [];
      const onRequest = (req: { url(): string; resourceType(): string }) => {
        if (req.resourceType() === 'fetch' || req.resourceType() === 'xhr') requests.push(new URL(req.url()).pathname);
      };
      page.on('request', onRequest);
      await page.addInitScript(`window.__expectRows = ${shown};`);
      await page.reload();
      await page.waitForFunction(() => (window as unknown as { __listMarks: { all: number | null } }).__listMarks.all !== null, undefined, {
        timeout: 120_000,
      });
      const m = await marks(page);
      page.off('request', onRequest);
      runs.push({ first: m.first ?? Number.NaN, all: m.all ?? Number.NaN, requests });
      await page.waitForTimeout(1_000);
    }
    return {
      reload_10k_ms: round(median(runs.map((r) => r.first)), 1),
      reload_all_rows_ms: round(median(runs.map((r) => r.all)), 1),
      rows_rendered: shown,
      requests_during_reload: runs.at(-1)!.requests,
      first_visit_ms: round(firstVisitMs, 0),
    };
  } finally {
    await browser.close();
  }
}
