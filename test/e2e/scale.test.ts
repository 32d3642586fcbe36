import type { Page } from 'playwright-core';
import { expect, inject, it } from 'vitest';
import type { Task } from '../../lambdas/contract.js';
import { describeBrowser, screenshot, useBrowser } from '../support/browser.js';
import { apiClient, getToken } from '../support/clients.js';
import '../support/stack-info.js';
import { addTask, openSignedIn, row, rows, uniqueUser, waitForStatus } from './dashboard.js';

const stack = inject('stack');

/** More than the dashboard renders at once (web/src/ui/windowing.ts renders everything up to 100 rows). */
const TASKS = 400;

/** Creates `n` tasks for `username` through the API, a few at a time; returns them oldest first. */
async function seed(username: string, n: number): Promise<Task[]> {
  const call = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, username));
  const created: Task[] = [];
  for (let i = 0; i < n; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, n - i) }, async (_, j) => {
        const res = await call<Task>('POST', '/tasks', {
          body: { title: `Errand ${String(i + j + 1).padStart(3, '0')}`, description: '' },
        });
        expect(res.status).toBe(201);
        return res.body;
      }),
    );
    created.push(...batch);
  }
  return created.sort((a, b) => (a.id < b.id ? -1 : 1));
}

const rowIds = (page: Page) =>
  rows(page).evaluateAll((els) => els.map((el) => (el.getAttribute('data-testid') ?? '').slice('task-'.length)));

describeBrowser('dashboard with hundreds of tasks', () => {
  const { newContext } = useBrowser();

  it('renders only the rows near the viewport, newest first, and the rest as the page scrolls or the keyboard moves', {
    timeout: 120_000,
  }, async () => {
    const user = uniqueUser('scale');
    const tasks = await seed(user, TASKS);
    const newest = tasks.at(-1)!;
    const oldest = tasks[0]!;
    const context = await newContext({ viewport: { width: 1280, height: 800 } });
    const page = await openSignedIn(context, stack.webUrl, user);
    await row(page, newest.id).waitFor();

    // Newest first, and only a window of the list in the DOM.
    const first = await rowIds(page);
    expect(first[0]).toBe(newest.id);
    expect(first.length).toBeGreaterThan(5);
    expect(first.length).toBeLessThan(80);
    expect(await page.getByTestId('task-list').getAttribute('data-count')).toBe(String(TASKS));
    expect(await row(page, newest.id).getAttribute('aria-setsize')).toBe(String(TASKS));
    await screenshot(page, 'many-tasks');

    // Scrolled to the end: the oldest task is rendered, and still only a window.
    await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
    await row(page, oldest.id).waitFor();
    expect(await row(page, oldest.id).getAttribute('aria-posinset')).toBe(String(TASKS));
    expect((await rowIds(page)).length).toBeLessThan(80);
    await row(page, newest.id).waitFor({ state: 'detached' });

    // The keyboard reaches every row: Home, then j and End move focus, rendering the rows they land on.
    await page.evaluate(() => scrollTo(0, 0));
    await row(page, newest.id).waitFor();
    // Sign-in left focus in the new task's title; the shortcuts act outside text fields.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('j');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(`task-${newest.id}`);
    await page.keyboard.press('j');
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')))
      .toBe(`task-${tasks.at(-2)!.id}`);
    await page.keyboard.press('End');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(`task-${oldest.id}`);
    await page.keyboard.press('Home');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(`task-${newest.id}`);

    // A new task shows at the top, highlighted, under the form that made it.
    await waitForStatus(page, 'live');
    const added = await addTask(page, 'Added on top');
    expect((await rowIds(page))[0]).toBe(added);
    expect(await row(page, added).getAttribute('class')).toMatch(/\bfresh\b/);
    expect(await row(page, added).isVisible()).toBe(true);

    // A search narrows the tasks down to what matches.
    await page.getByLabel('Search tasks').fill('errand 39');
    // Each word anywhere: 039, 139, 239, 339 and 390 to 399.
    await expect.poll(() => rowIds(page)).toHaveLength(14);
    await page.getByLabel('Search tasks').fill('errand 399');
    await expect.poll(() => page.getByTestId('task-title').allTextContents()).toEqual(['Errand 399']);
  });
});
