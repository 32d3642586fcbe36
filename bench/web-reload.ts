/**
 * The dashboard with 10,000 tasks, in Debian's Chromium (web.* keys):
 *
 * - `reload_10k_ms`: once the first visit has cached the tasks (IndexedDB), a
 *   reload, timed from the new document's start (performance.now() = 0) to
 *   the first task row in the DOM, by a MutationObserver installed before any
 *   page script runs.
 * - `render_10k_ms`: the same reload until the rows fill the viewport and the
 *   next frame starts (the list as the user sees it).
 * - `create_visible_10k_ms`: Enter in the new task's title to its row in the
 *   DOM, timed in the page (keydown → MutationObserver).
 * - `scroll_longtasks_10k`: long tasks (> 50 ms, PerformanceObserver
 *   `longtask`) while the page is scrolled from the top of the list to its
 *   end, one viewport per frame.
 * - `search_10k_ms`: the slowest keystroke of typing a search, from the
 *   input event to the next frame (the list re-rendered by then).
 *
 * The requests the reload made are recorded beside them.
 */
import type { Page } from 'playwright-core';
import { hasChromium, launchBrowser } from '../test/support/browser.js';
import { signIn } from '../test/e2e/dashboard.js';
import { median, round } from './stats.js';

/** The keys that go under `results.web` (bench/report.ts has their targets). */
export interface WebListFigures {
  reload_10k_ms: number;
  render_10k_ms: number;
  create_visible_10k_ms: number;
  scroll_longtasks_10k: number;
  search_10k_ms: number;
}

export interface WebReloadFigures extends WebListFigures {
  /** Until the rows fill the viewport (the list is windowed: the rows beyond are not rendered at all). */
  reload_all_rows_ms: number;
  /** Rows in the DOM after the first visit (the list is windowed: only those in and near the viewport). */
  rows_rendered: number;
  /** API requests (fetch) the last reload made until its list was complete and a second had passed, by path. */
  requests_during_reload: string[];
  first_visit_ms: number;
  /** Every create's time (ms), in order. */
  create_samples_ms: number[];
  /** Most rows in the DOM at any point of the scroll, and how far it went. */
  scroll: { max_rows_in_dom: number; scrolled_px: number; frames: number; longest_task_ms: number };
  /** Each keystroke of the search (query → ms until the next frame, and rows shown). */
  search: { median_ms: number; keystrokes: { query: string; ms: number; rows: number }[] };
  /** The web.* keys alone, for results.web. */
  web: WebListFigures;
}

const ROWS = 'li[data-testid^="task-"]';

/** Records when the first row appears, and when the rows fill the viewport (then the next frame). */
const OBSERVER = `(() => {
  // tsx compiles this file with esbuild's keepNames: functions passed to page.evaluate call __name().
  window.__name ??= (f) => f;
  const marks = (window.__listMarks = { first: null, filled: null, painted: null });
  const check = () => {
    const rows = document.querySelectorAll('${ROWS}');
    const n = rows.length;
    if (n > 0 && marks.first === null) marks.first = performance.now();
    if (n > 0 && marks.filled === null) {
      const list = rows[0].parentElement;
      const bottom = list ? list.getBoundingClientRect().bottom : 0;
      let last = 0;
      for (const r of rows) last = Math.max(last, r.getBoundingClientRect().bottom);
      if (last >= innerHeight || last >= bottom - 1) {
        marks.filled = performance.now();
        requestAnimationFrame(() => (marks.painted = performance.now()));
      }
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();`;

type Marks = { first: number | null; filled: number | null; painted: number | null };

async function marks(page: Page): Promise<Marks> {
  return page.evaluate(() => (window as unknown as { __listMarks: Marks }).__listMarks);
}

/** Enter in the title field → the new row in the DOM, timed in the page. */
async function timeCreate(page: Page, title: string): Promise<number> {
  await page.getByLabel('New task title').fill(title);
  await page.evaluate((title) => {
    const w = window as unknown as { __create: Promise<number> };
    w.__create = new Promise<number>((resolve) => {
      let start = 0;
      document.addEventListener(
        'keydown',
        (e) => {
          if (e.key === 'Enter') start = performance.now();
        },
        { capture: true, once: true },
      );
      const seen = () => [...document.querySelectorAll('[data-testid="task-title"]')].some((el) => el.textContent === title);
      const observer = new MutationObserver(() => {
        if (start > 0 && seen()) {
          observer.disconnect();
          resolve(performance.now() - start);
        }
      });
      observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    });
  }, title);
  await page.getByLabel('New task title').press('Enter');
  return page.evaluate(() => (window as unknown as { __create: Promise<number> }).__create);
}

/** Scrolls from the list's top to its end, one viewport per frame, counting long tasks meanwhile. */
async function scrollThrough(page: Page): Promise<WebReloadFigures['scroll'] & { longtasks: number }> {
  return page.evaluate(async () => {
    const durations: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) durations.push(e.duration);
    });
    observer.observe({ type: 'longtask' });
    const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
    const list = document.querySelector('[data-testid="task-list"]')!;
    const start = list.getBoundingClientRect().top + scrollY;
    scrollTo(0, start);
    await frame();
    let maxRows = 0;
    let frames = 0;
    const end = document.documentElement.scrollHeight - innerHeight;
    for (let y = start; y <= end; y += innerHeight) {
      scrollTo(0, y);
      await frame();
      frames++;
      maxRows = Math.max(maxRows, document.querySelectorAll('li[data-testid^="task-"]').length);
    }
    scrollTo(0, end);
    await frame();
    await frame();
    // Long tasks are reported after they end; give the observer a moment.
    await new Promise((r) => setTimeout(r, 200));
    observer.disconnect();
    const scrolled = scrollY - start;
    scrollTo(0, 0);
    return {
      longtasks: durations.length,
      longest_task_ms: Math.round(Math.max(0, ...durations)),
      max_rows_in_dom: maxRows,
      scrolled_px: Math.round(scrolled),
      frames,
    };
  });
}

/** Types `query` into the search one key at a time; each keystroke timed from its input event to the next frame. */
async function timeSearch(page: Page, query: string): Promise<{ query: string; ms: number; rows: number }[]> {
  const search = page.getByLabel('Search tasks');
  await search.fill('');
  await search.focus();
  const out: { query: string; ms: number; rows: number }[] = [];
  for (const key of query) {
    await page.evaluate(() => {
      const w = window as unknown as { __search: Promise<number> };
      w.__search = new Promise<number>((resolve) => {
        document.addEventListener(
          'input',
          () => {
            const start = performance.now();
            // Runs once the input's handler and the render it causes have finished and a frame starts.
            requestAnimationFrame(() => resolve(performance.now() - start));
          },
          { capture: true, once: true },
        );
      });
    });
    await page.keyboard.type(key);
    const ms = await page.evaluate(() => (window as unknown as { __search: Promise<number> }).__search);
    const rows = Number(
      (await page
        .getByTestId('task-list')
        .getAttribute('data-count')
        .catch(() => '0')) ?? 0,
    );
    out.push({ query: await search.inputValue(), ms: round(ms, 1), rows });
  }
  await search.fill('');
  return out;
}

export async function measureWebReload(
  webUrl: string,
  username: string,
  expectTasks: number,
  trials = 3,
): Promise<WebReloadFigures> {
  if (!hasChromium) throw new Error('Chromium not found (apt-get install -y chromium)');
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(OBSERVER);
    const page = await context.newPage();
    const firstStarted = performance.now();
    await page.goto(webUrl);
    await page.getByLabel('Username').waitFor();
    await signIn(page, username);
    await page.waitForFunction(
      (n) => document.querySelectorAll('li[data-testid^="task-"]').length >= Math.min(n, 1),
      expectTasks,
      {
        timeout: 120_000,
      },
    );
    const firstVisitMs = performance.now() - firstStarted;
    const shown = await page.locator(ROWS).count();
    // Let the first visit finish writing its cache.
    await page.waitForTimeout(2_000);

    const runs: { first: number; filled: number; painted: number; requests: string[] }[] = [];
    for (let i = 0; i < trials; i++) {
      const requests: string[] = [];
      const onRequest = (req: { url(): string; resourceType(): string }) => {
        if (req.resourceType() === 'fetch' || req.resourceType() === 'xhr') requests.push(new URL(req.url()).pathname);
      };
      page.on('request', onRequest);
      await page.reload();
      await page.waitForFunction(
        () => {
          const m = (window as unknown as { __listMarks: Marks }).__listMarks;
          return m.painted !== null;
        },
        undefined,
        { timeout: 120_000 },
      );
      const m = await marks(page);
      page.off('request', onRequest);
      runs.push({ first: m.first ?? Number.NaN, filled: m.filled ?? Number.NaN, painted: m.painted ?? Number.NaN, requests });
      await page.waitForTimeout(1_000);
    }

    // Wait for the catch-up after the last reload, so the creates below are not racing it.
    await page
      .getByTestId('connection-status')
      .filter({ hasText: /^live$/ })
      .waitFor({ timeout: 30_000 });
    const creates: number[] = [];
    for (let i = 0; i < 5; i++) creates.push(round(await timeCreate(page, `Bench create ${i + 1}`), 1));
    await page.waitForTimeout(1_000);

    const scroll = await scrollThrough(page);
    const keystrokes = await timeSearch(page, 'task 01234');

    const web: WebListFigures = {
      reload_10k_ms: round(median(runs.map((r) => r.first)), 1),
      render_10k_ms: round(median(runs.map((r) => r.painted)), 1),
      create_visible_10k_ms: round(median(creates), 1),
      scroll_longtasks_10k: scroll.longtasks,
      search_10k_ms: round(Math.max(...keystrokes.map((k) => k.ms)), 1),
    };
    return {
      ...web,
      reload_all_rows_ms: round(median(runs.map((r) => r.filled)), 1),
      rows_rendered: shown,
      requests_during_reload: runs.at(-1)!.requests,
      first_visit_ms: round(firstVisitMs, 0),
      create_samples_ms: creates,
      scroll: {
        max_rows_in_dom: scroll.max_rows_in_dom,
        scrolled_px: scroll.scrolled_px,
        frames: scroll.frames,
        longest_task_ms: scroll.longest_task_ms,
      },
      search: { median_ms: round(median(keystrokes.map((k) => k.ms)), 1), keystrokes },
      web,
    };
  } finally {
    await browser.close();
  }
}
