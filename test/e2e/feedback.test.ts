import { expect, inject, it } from 'vitest';
import type { ListTasksResponse, Task } from '../../lambdas/contract.js';
import { describeBrowser, screenshot, useBrowser } from '../support/browser.js';
import { apiClient, getToken } from '../support/clients.js';
import '../support/stack-info.js';
import { expectAccessible } from './axe.js';
import {
  addTask,
  CONNECT_TIMEOUT_MS,
  openEditor,
  openSignedIn,
  row,
  rowTitled,
  SYNC_TIMEOUT_MS,
  toggleTask,
  uniqueUser,
  waitForContent,
  waitForNothingPending,
  waitForStatus,
} from './dashboard.js';

// No silent states: every failure, refusal and surprise says something, where the user looks.

const stack = inject('stack');
/** The bound for a failing save to show. */
const FAILURE_SHOWN_MS = 5_000;
/** Retries back off (full jitter, growing per failure). */
const RETRY_TIMEOUT_MS = 20_000;

/** Another device of the same user: the test's own HTTP client. */
async function otherDevice(username: string) {
  const call = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, username));
  return {
    async tasks(): Promise<Task[]> {
      const res = await call<ListTasksResponse>('GET', '/tasks');
      expect(res.status).toBe(200);
      return res.body.tasks;
    },
    async rename(id: string, title: string): Promise<void> {
      expect((await call('PUT', `/tasks/${id}`, { body: { title } })).status).toBe(200);
    },
    async remove(id: string): Promise<void> {
      expect((await call('DELETE', `/tasks/${id}`)).status).toBe(204);
    },
  };
}

describeBrowser('dashboard feedback', () => {
  const { newContext } = useBrowser();

  it('shows a failing save within 5 s (badge, explanation, message), retries it, and says when it went through', async () => {
    const user = uniqueUser('failing');
    const context = await newContext();
    const page = await openSignedIn(context, stack.webUrl, user);
    // The API is unreachable; the page and its WebSocket are not (the connection badge stays "live").
    const apiRoutes = `${stack.apiUrl.replace(/\/+$/, '')}/**`;
    await context.route(apiRoutes, (route) => route.abort('connectionrefused'));

    const id = await addTask(page, 'Saved later');
    const badge = page.getByTestId('save-status');
    await badge.waitFor({ timeout: FAILURE_SHOWN_MS });
    expect(await badge.textContent()).toBe('not saved');
    const error = page.locator('[data-testid="message"][data-kind="error"]');
    await error.waitFor({ timeout: FAILURE_SHOWN_MS });
    expect(await error.textContent()).toMatch(/not saved yet: the server cannot be reached/);
    expect(await row(page, id).getAttribute('data-pending')).toBe('true');

    // The explanation is a button's, reachable by keyboard (and touch), not a hover tooltip.
    await page.getByRole('button', { name: /^Connection:/ }).focus();
    await page.keyboard.press('Enter');
    const help = page.getByTestId('status-help');
    await help.waitFor();
    expect(await help.textContent()).toMatch(/not saved to the server yet: the server cannot be reached/);
    await expectAccessible(page, 'failing save');
    await screenshot(page, 'save-failing');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });

    await context.unroute(apiRoutes);
    await waitForNothingPending(page, RETRY_TIMEOUT_MS);
    await badge.waitFor({ state: 'detached' });
    await error.waitFor({ state: 'detached' });
    const synced = page.locator('[data-testid="message"][data-kind="info"]', { hasText: '1 change synced.' });
    await synced.waitFor();
    // In the polite live region.
    expect(await page.getByTestId('messages').getAttribute('aria-live')).toBe('polite');
  });

  it('says "N changes synced" after a reconnect that sent the changes made offline', async () => {
    const context = await newContext();
    const page = await openSignedIn(context, stack.webUrl, uniqueUser('synced'));
    const first = await addTask(page, 'Made online');
    await waitForNothingPending(page);

    await context.setOffline(true);
    await waitForStatus(page, 'offline');
    await addTask(page, 'Made offline');
    await toggleTask(page, first);
    await context.setOffline(false);
    await waitForStatus(page, 'live', CONNECT_TIMEOUT_MS);
    await page
      .locator('[data-testid="message"][data-kind="info"]', { hasText: '2 changes synced.' })
      .waitFor({ timeout: RETRY_TIMEOUT_MS });
  });

  it('explains a refused title inline, in the new task form and in the editor', async () => {
    const page = await openSignedIn(await newContext(), stack.webUrl, uniqueUser('invalid'));
    await page.getByLabel('New task title').fill('   ');
    await page.getByRole('button', { name: 'Add task' }).click();
    const createError = page.locator('form.create [data-testid="field-error"]');
    await createError.waitFor();
    expect(await createError.textContent()).toBe('Enter a title: spaces alone do not count.');
    const title = page.getByLabel('New task title');
    expect(await title.getAttribute('aria-invalid')).toBe('true');
    expect(await title.getAttribute('aria-describedby')).toBe(await createError.getAttribute('id'));
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('new-title');
    await page.getByTestId('tasks-empty').waitFor();
    await expectAccessible(page, 'invalid title');
    // Typing clears it.
    await title.fill('Real title');
    await createError.waitFor({ state: 'detached' });
    const id = await addTask(page, 'Real title');

    const editor = await openEditor(page, id);
    await editor.getByLabel('Title', { exact: true }).fill('  ');
    await editor.getByRole('button', { name: 'Save' }).click();
    const editError = editor.getByTestId('field-error');
    await editError.waitFor();
    expect(await editError.textContent()).toBe('Enter a title: spaces alone do not count.');
    expect(await editor.getByLabel('Title', { exact: true }).getAttribute('aria-invalid')).toBe('true');
  });

  it('shows a change made elsewhere to the task being edited, with the choice of versions', async () => {
    const user = uniqueUser('remote-edit');
    const page = await openSignedIn(await newContext(), stack.webUrl, user);
    const phone = await otherDevice(user);
    const id = await addTask(page, 'Plan the trip');
    await waitForNothingPending(page);

    // "Keep mine": my text stays, and saving it overwrites theirs on purpose (no conflict).
    let editor = await openEditor(page, id);
    await editor.getByLabel('Title', { exact: true }).fill('Plan the trip to Porto');
    await phone.rename(id, 'Plan the trip to Rome');
    const notice = editor.getByTestId('remote-change');
    await notice.waitFor({ timeout: SYNC_TIMEOUT_MS });
    expect(await notice.textContent()).toMatch(/now “Plan the trip to Rome”/);
    expect(await editor.getByLabel('Title', { exact: true }).inputValue()).toBe('Plan the trip to Porto');
    await expectAccessible(page, 'remote change while editing');
    await screenshot(page, 'remote-change-while-editing');
    await notice.getByRole('button', { name: 'Keep mine' }).click();
    await notice.waitFor({ state: 'detached' });
    await editor.getByRole('button', { name: 'Save' }).click();
    await waitForContent(page, id, { title: 'Plan the trip to Porto' });
    await waitForNothingPending(page);
    expect((await phone.tasks()).map((t) => t.title)).toEqual(['Plan the trip to Porto']);
    expect(await page.getByTestId('conflict-dialog').count()).toBe(0);

    // "Use their version": the form takes their text.
    editor = await openEditor(page, id);
    await editor.getByLabel('Title', { exact: true }).fill('Plan the trip to Faro');
    await phone.rename(id, 'Plan the trip to Lagos');
    await notice.waitFor({ timeout: SYNC_TIMEOUT_MS });
    await notice.getByRole('button', { name: 'Use their version' }).click();
    expect(await editor.getByLabel('Title', { exact: true }).inputValue()).toBe('Plan the trip to Lagos');
    await notice.waitFor({ state: 'detached' });
  });

  it('keeps the typed text when the task being edited is deleted elsewhere, and restores it as a new task', async () => {
    const user = uniqueUser('remote-delete');
    const page = await openSignedIn(await newContext(), stack.webUrl, user);
    const phone = await otherDevice(user);
    const id = await addTask(page, 'Renew the passport');
    await waitForNothingPending(page);

    const editor = await openEditor(page, id);
    await editor.getByLabel('Description', { exact: true }).fill('photos first, then the form');
    await phone.remove(id);
    const orphan = page.getByTestId('deleted-while-editing');
    await orphan.waitFor({ timeout: SYNC_TIMEOUT_MS });
    await row(page, id).waitFor({ state: 'detached' });
    expect(await orphan.getByLabel('Title', { exact: true }).inputValue()).toBe('Renew the passport');
    expect(await orphan.getByLabel('Description', { exact: true }).inputValue()).toBe('photos first, then the form');
    expect(await page.getByTestId('announcer').textContent()).toMatch(/was deleted on another device while you were editing it/);
    await expectAccessible(page, 'deleted while editing');
    await screenshot(page, 'deleted-while-editing');

    await orphan.getByRole('button', { name: 'Restore as a new task' }).click();
    await orphan.waitFor({ state: 'detached' });
    const restored = rowTitled(page, 'Renew the passport');
    await restored.waitFor();
    const restoredId = (await restored.getAttribute('data-testid'))!.slice('task-'.length);
    expect(restoredId).not.toBe(id);
    await waitForContent(page, restoredId, { title: 'Renew the passport', description: 'photos first, then the form' });
    await waitForNothingPending(page);
    expect((await phone.tasks()).map((t) => ({ id: t.id, description: t.description }))).toEqual([
      { id: restoredId, description: 'photos first, then the form' },
    ]);
  });

  it('asks before Escape throws typed text away', async () => {
    const page = await openSignedIn(await newContext(), stack.webUrl, uniqueUser('escape'));
    const id = await addTask(page, 'Write the report', 'first draft');
    const editor = await openEditor(page, id);
    const description = editor.getByLabel('Description', { exact: true });
    await description.fill('first draft, with the figures');
    await description.press('Escape');
    const confirm = editor.getByTestId('confirm-discard');
    await confirm.waitFor();
    expect(await confirm.textContent()).toMatch(/Discard your unsaved changes\?/);
    // The safe choice has the focus.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Keep editing');
    await expectAccessible(page, 'discard confirmation');
    await confirm.getByRole('button', { name: 'Keep editing' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect(await description.inputValue()).toBe('first draft, with the figures');

    // Cancel asks too; this time the text goes.
    await editor.getByRole('button', { name: 'Cancel' }).click();
    await confirm.getByRole('button', { name: 'Discard changes' }).click();
    await editor.getByLabel('Description', { exact: true }).waitFor({ state: 'detached' });
    await waitForContent(page, id, { title: 'Write the report', description: 'first draft' });
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(`task-${id}`);
  });
});
