import type { Page } from 'playwright-core';
import { expect, inject, it } from 'vitest';
import { describeBrowser, screenshot, useBrowser } from '../support/browser.js';
import { serverTasks } from '../support/clients.js';
import '../support/stack-info.js';
import { expectAccessible } from './axe.js';
import { queuedOps as storedOps } from './indexed-db.js';
import {
  addTask,
  deleteUndoable,
  openSignedIn,
  row,
  rows,
  SYNC_TIMEOUT_MS,
  toggleTask,
  uniqueUser,
  waitForCompleted,
  waitForContent,
  waitForNothingPending,
} from './dashboard.js';

const stack = inject('stack');
/** web/src/ui/dashboard.tsx UNDO_MS: how long the toast (and the held DELETE) lasts. */
const UNDO_MS = 6_000;

const rowIds = (page: Page) =>
  rows(page).evaluateAll((els) => els.map((el) => (el.getAttribute('data-testid') ?? '').slice('task-'.length)));
const focusedTestId = (page: Page) =>
  page.evaluate(() => document.activeElement?.closest('[data-testid]')?.getAttribute('data-testid') ?? null);

/** The queued ops this browser keeps for the user, as `kind taskId`. */
async function queuedOps(page: Page): Promise<string[]> {
  return (await storedOps(page)).map((op) => `${op.kind} ${op.taskId}`);
}

describeBrowser('dashboard as a todo app', () => {
  const { newContext } = useBrowser();

  it('filters All / Active / Completed in the URL, counts what is left, marks all done and clears completed with undo', async () => {
    const user = uniqueUser('filters');
    const page = await openSignedIn(await newContext(), stack.webUrl, user);
    const milk = await addTask(page, 'Buy milk');
    const rent = await addTask(page, 'Pay rent');
    const ana = await addTask(page, 'Call Ana');
    await expect.poll(() => page.getByTestId('items-left').textContent()).toBe('3 tasks left');
    await toggleTask(page, rent);
    await expect.poll(() => page.getByTestId('items-left').textContent()).toBe('2 tasks left');
    await waitForNothingPending(page);

    await page.getByRole('link', { name: /^Active/ }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('filter')).toBe('active');
    await expect.poll(() => rowIds(page)).toEqual([ana, milk]);
    await expectAccessible(page, 'active filter');
    await screenshot(page, 'filter-active');

    // Kept in the URL: a reload shows the same filter, Back the previous one.
    await page.reload();
    await row(page, ana).waitFor();
    expect(await page.getByRole('link', { name: /^Active/ }).getAttribute('aria-current')).toBe('page');
    expect(await rowIds(page)).toEqual([ana, milk]);
    await page.goBack();
    await expect.poll(() => rowIds(page)).toEqual([ana, rent, milk]);
    expect(await page.getByRole('link', { name: /^All/ }).getAttribute('aria-current')).toBe('page');

    await page.getByRole('link', { name: /^Completed/ }).click();
    await expect.poll(() => rowIds(page)).toEqual([rent]);
    await page.getByRole('link', { name: /^All/ }).click();

    await page.getByRole('button', { name: 'Mark all done' }).click();
    for (const id of [milk, rent, ana]) await waitForCompleted(page, id, true);
    await expect.poll(() => page.getByTestId('items-left').textContent()).toBe('0 tasks left');
    // The same button, now the other way round; focus stayed on it.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Mark all not done');
    await waitForNothingPending(page);
    expect((await serverTasks(stack, user)).every((t) => t.completed)).toBe(true);

    await page.getByRole('button', { name: /^Clear completed/ }).click();
    const toast = page.getByTestId('undo-toast');
    await expect.poll(() => toast.textContent()).toMatch(/^Cleared 3 completed tasks\./);
    await page.getByTestId('tasks-empty').waitFor();
    await expectAccessible(page, 'undo toast');
    await screenshot(page, 'undo-toast');

    await toast.getByRole('button', { name: 'Undo' }).click();
    // The same tasks (same ids) are back, and nothing is left queued that could still delete them.
    await expect.poll(() => rowIds(page)).toEqual([ana, rent, milk]);
    await expect.poll(() => queuedOps(page)).toEqual([]);
    expect((await serverTasks(stack, user)).map((t) => t.id)).toEqual([milk, rent, ana]);

    // Without undo, the toast ends and the deletes go out.
    await page.getByRole('button', { name: /^Clear completed/ }).click();
    await toast.waitFor({ state: 'detached', timeout: UNDO_MS + SYNC_TIMEOUT_MS });
    await expect.poll(() => serverTasks(stack, user), { timeout: SYNC_TIMEOUT_MS }).toEqual([]);
    expect(await queuedOps(page)).toEqual([]);
  });

  it('undoes a delete consistently: hidden in the other tab meanwhile, never gone on the other device', async () => {
    const user = uniqueUser('undo');
    const context = await newContext();
    const tab = await openSignedIn(context, stack.webUrl, user);
    const otherTab = await context.newPage();
    await otherTab.goto(stack.webUrl);
    const phone = await openSignedIn(await newContext(), stack.webUrl, user);
    const keep = await addTask(tab, 'Water the plants');
    const other = await addTask(tab, 'Feed the cat');
    await waitForContent(phone, keep, { title: 'Water the plants' });
    await waitForContent(otherTab, keep, { title: 'Water the plants' });

    const toast = await deleteUndoable(tab, keep);
    expect(await toast.textContent()).toMatch(/^Deleted “Water the plants”\./);
    // Focus moved on to the next row, not to the page.
    await expect.poll(() => focusedTestId(tab)).toBe(`task-${other}`);
    // The other tab shares the outbox: it hides the task too.
    await row(otherTab, keep).waitFor({ state: 'detached' });
    expect(await tab.getByTestId('announcer').textContent()).toMatch(/Deleted “Water the plants”\. Press U to undo\./);

    await toast.getByRole('button', { name: 'Undo' }).click();
    await row(tab, keep).waitFor();
    await row(otherTab, keep).waitFor();
    await expect.poll(() => focusedTestId(tab)).toBe(`task-${keep}`);

    // The phone never lost it: a change made after the undo reaches it on the same id
    // (a deleted id never comes back, so this row could not show if it had been deleted).
    await toggleTask(tab, keep);
    await waitForCompleted(phone, keep, true);
    expect((await serverTasks(stack, user)).map((t) => t.id)).toEqual([keep, other]);
  });

  it('edits with a double-click or Enter, explains its shortcuts with ?, searches, and helps when the list is empty', async () => {
    const page = await openSignedIn(await newContext(), stack.webUrl, uniqueUser('keys'));
    // Sign-in lands in the new task's title.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('new-title');
    const empty = page.getByTestId('tasks-empty');
    await empty.waitFor();
    expect(await empty.textContent()).toMatch(/No tasks yet/);
    await expectAccessible(page, 'empty list');
    await page.evaluate(() => (document.activeElement as HTMLElement).blur());
    await empty.getByRole('button', { name: 'Add a task' }).click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('new-title');

    const milk = await addTask(page, 'Buy milk', 'two litres');
    const bread = await addTask(page, 'Buy bread');

    // Double-click opens the editor; Escape without changes closes it and focus returns to the row.
    await row(page, milk).getByTestId('task-title').dblclick();
    const title = row(page, milk).getByLabel('Title', { exact: true });
    await title.waitFor();
    expect(await title.inputValue()).toBe('Buy milk');
    await page.keyboard.press('Escape');
    await title.waitFor({ state: 'detached' });
    await expect.poll(() => focusedTestId(page)).toBe(`task-${milk}`);

    // From the focused row: k moves up, Enter edits, Enter in the title saves.
    await page.keyboard.press('k');
    await expect.poll(() => focusedTestId(page)).toBe(`task-${bread}`);
    await page.keyboard.press('Enter');
    const breadTitle = row(page, bread).getByLabel('Title', { exact: true });
    await breadTitle.fill('Buy rye bread');
    await breadTitle.press('Enter');
    await waitForContent(page, bread, { title: 'Buy rye bread' });
    await expect.poll(() => focusedTestId(page)).toBe(`task-${bread}`);
    expect(await page.getByTestId('announcer').textContent()).toMatch(/Saved “Buy rye bread”/);

    // x marks the focused task done, Delete deletes it, u undoes.
    await page.keyboard.press('x');
    await waitForCompleted(page, bread, true);
    expect(await page.getByTestId('announcer').textContent()).toMatch(/Completed “Buy rye bread”/);
    await page.keyboard.press('Delete');
    await row(page, bread).waitFor({ state: 'detached' });
    // u acts while the undo notice shows; wait for it, so a slow render is not read as a failed undo.
    await page.getByTestId('undo-toast').waitFor();
    await page.keyboard.press('u');
    await expect.poll(() => page.getByTestId('announcer').textContent()).toMatch(/Restored 1 task|Too late/);
    expect(await page.getByTestId('announcer').textContent()).toMatch(/Restored 1 task/);
    await row(page, bread).waitFor();

    // ? lists the shortcuts; Escape closes the dialog.
    await page.keyboard.press('?');
    const dialog = page.getByTestId('shortcuts-dialog');
    await dialog.waitFor();
    expect(await dialog.getByRole('heading').textContent()).toBe('Keyboard shortcuts');
    expect(await dialog.getByRole('row').count()).toBeGreaterThan(8);
    await expectAccessible(page, 'keyboard shortcuts');
    await screenshot(page, 'shortcuts');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // / goes to the search; it looks in titles and descriptions.
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('search');
    await page.keyboard.type('litres');
    await expect.poll(() => rowIds(page)).toEqual([milk]);
    await page.getByLabel('Search tasks').fill('zzz');
    const none = page.getByTestId('tasks-none-match');
    await none.waitFor();
    expect(await none.textContent()).toMatch(/No tasks match “zzz”/);
    await expectAccessible(page, 'no search results');
    await none.getByRole('button', { name: 'Show all tasks' }).click();
    await expect.poll(() => rowIds(page)).toEqual([bread, milk]);
  });
});
