import type { Page } from 'playwright-core';
import { afterAll, expect, inject, it } from 'vitest';
import { describeBrowser, recordTimings, screenshot, useBrowser } from '../support/browser.js';
import { expectAccessible } from './axe.js';
import { serverTasks } from '../support/clients.js';
import '../support/stack-info.js';
import {
  addTask,
  CONNECT_TIMEOUT_MS,
  editTask,
  openSignedIn,
  renderedTasks,
  row,
  rowTitled,
  SYNC_TIMEOUT_MS,
  toggleTask,
  uniqueUser,
  waitForCompleted,
  waitForContent,
  waitForNothingPending,
  waitForStatus,
  type RenderedTask,
} from './dashboard.js';

const stack = inject('stack');

/** Replays after a network failure wait for the client's backoff (full jitter, growing per failure). */
const REPLAY_TIMEOUT_MS = 20_000;

const content = (tasks: RenderedTask[]) =>
  tasks.map(({ title, description, completed, pending }) => ({ title, description, completed, pending }));

/** What both pages render, for one comparison. */
async function bothLists(a: Page, b: Page) {
  return Promise.all([renderedTasks(a).then(content), renderedTasks(b).then(content)]);
}

describeBrowser('dashboard offline and back', () => {
  const { newContext } = useBrowser();
  const timings: Record<string, number> = {};

  // Registered after useBrowser(): vitest runs afterAll hooks in reverse, so this runs before the contexts close.
  afterAll(() => {
    if (Object.keys(timings).length > 0) {
      recordTimings('offline', { unit: 'ms from coming back (online / API unblocked) to the stated outcome', ...timings });
    }
  });

  it('replays changes made offline and converges with the changes made meanwhile elsewhere', async () => {
    const user = uniqueUser('offline');
    const [onlineContext, offlineContext] = await Promise.all([newContext(), newContext()]);
    const [online, offline] = await Promise.all([
      openSignedIn(onlineContext, stack.webUrl, user),
      openSignedIn(offlineContext, stack.webUrl, user),
    ]);
    const first = await addTask(online, 'Book the train', 'the 9:40');
    const second = await addTask(online, 'Pack the bag');
    await rowTitled(offline, 'Pack the bag').waitFor({ timeout: SYNC_TIMEOUT_MS });
    await waitForNothingPending(online);

    await offlineContext.setOffline(true);
    await waitForStatus(offline, 'offline');
    await editTask(offline, first, { title: 'Book the early train', description: 'the 7:10, window seat' });
    const queued = await addTask(offline, 'Charge the phone', 'written offline');
    // Shown at once, marked as waiting.
    for (const id of [first, queued]) {
      await offline.locator(`[data-testid="task-${id}"][data-pending="true"]`).waitFor();
      await expect
        .poll(() => row(offline, id).getByTestId('task-pending').textContent(), { timeout: SYNC_TIMEOUT_MS })
        .toBe('Waiting for connection');
    }
    await screenshot(offline, 'offline-pending');

    // Meanwhile, on the other device.
    await toggleTask(online, second);
    await addTask(online, 'Buy snacks');
    await waitForNothingPending(online);
    expect((await serverTasks(stack, user)).map((t) => t.title)).toEqual(['Book the train', 'Pack the bag', 'Buy snacks']);

    const back = performance.now();
    await offlineContext.setOffline(false);
    await waitForStatus(offline, 'live', CONNECT_TIMEOUT_MS);
    // Newest first (ids are creation times: the one added offline is older than "Buy snacks").
    const expected = [
      { title: 'Buy snacks', description: '', completed: false, pending: false },
      { title: 'Charge the phone', description: 'written offline', completed: false, pending: false },
      { title: 'Pack the bag', description: '', completed: true, pending: false },
      { title: 'Book the early train', description: 'the 7:10, window seat', completed: false, pending: false },
    ];
    await expect.poll(() => bothLists(online, offline), { timeout: REPLAY_TIMEOUT_MS }).toEqual([expected, expected]);
    timings.offlineReplayConverged = Math.round(performance.now() - back);

    // And the server agrees with what both pages show.
    const stored = await serverTasks(stack, user);
    expect(stored.map(({ id, title, description, completed }) => ({ id, title, description, completed }))).toEqual(
      (await renderedTasks(online))
        .map(({ id, title, description, completed }) => ({ id, title, description, completed }))
        .reverse(),
    );
  });

  it('shows both versions when an offline edit meets a newer one, and keeps mine when asked', async () => {
    const user = uniqueUser('conflict');
    const [onlineContext, offlineContext] = await Promise.all([newContext(), newContext()]);
    const [online, offline] = await Promise.all([
      openSignedIn(onlineContext, stack.webUrl, user),
      openSignedIn(offlineContext, stack.webUrl, user),
    ]);
    const id = await addTask(online, 'Plan the trip', 'somewhere warm');
    await waitForContent(offline, id, { title: 'Plan the trip' });
    await waitForNothingPending(online);

    await offlineContext.setOffline(true);
    await waitForStatus(offline, 'offline');
    await editTask(offline, id, { title: 'Plan the trip to Lisbon' });
    await editTask(online, id, { title: 'Plan the trip to Rome' });
    await waitForNothingPending(online);

    const back = performance.now();
    await offlineContext.setOffline(false);
    const dialog = offline.getByTestId('conflict-dialog');
    await dialog.waitFor({ timeout: REPLAY_TIMEOUT_MS });
    timings.conflictDialogShown = Math.round(performance.now() - back);
    expect(await dialog.getByTestId('conflict-mine').getByTestId('conflict-title').textContent()).toBe('Plan the trip to Lisbon');
    expect(await dialog.getByTestId('conflict-theirs').getByTestId('conflict-title').textContent()).toBe('Plan the trip to Rome');
    expect(await dialog.getByTestId('conflict-theirs').getByTestId('conflict-description').textContent()).toBe('somewhere warm');
    // Nothing was overwritten while the user decides.
    expect((await serverTasks(stack, user)).map((t) => t.title)).toEqual(['Plan the trip to Rome']);
    await expectAccessible(offline, 'conflict dialog');
    await screenshot(offline, 'conflict-dialog');

    const chosen = performance.now();
    await dialog.getByRole('button', { name: 'Keep mine' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // Focus lands on the task the dialog was about, not on the page.
    await expect
      .poll(() => offline.evaluate(() => document.activeElement?.closest('[data-testid]')?.getAttribute('data-testid')))
      .toBe(`task-${id}`);
    await waitForContent(online, id, { title: 'Plan the trip to Lisbon', description: 'somewhere warm' }, REPLAY_TIMEOUT_MS);
    timings.keepMineReachedOtherContext = Math.round(performance.now() - chosen);
    const mine = [{ title: 'Plan the trip to Lisbon', description: 'somewhere warm', completed: false, pending: false }];
    await expect.poll(() => bothLists(online, offline), { timeout: SYNC_TIMEOUT_MS }).toEqual([mine, mine]);
    const [stored] = await serverTasks(stack, user);
    expect(stored).toMatchObject({ id, title: 'Plan the trip to Lisbon', version: 3 });
  });

  it('keeps changes queued while the API is unreachable across a reload and sends them after', async () => {
    const user = uniqueUser('reload');
    const context = await newContext();
    const page = await openSignedIn(context, stack.webUrl, user);
    const existing = await addTask(page, 'Renew the library books');
    await waitForNothingPending(page);

    // Only the API is cut off; the page itself (and the WebSocket) stay reachable, so it can reload.
    const apiRoutes = `${stack.apiUrl.replace(/\/+$/, '')}/**`;
    await context.route(apiRoutes, (route) => route.abort('internetdisconnected'));
    const queued = await addTask(page, 'Return the drill');
    await editTask(page, existing, { title: 'Renew the library books online' });
    await page.locator(`[data-testid="task-${existing}"][data-pending="true"]`).waitFor();

    expect((await serverTasks(stack, user)).map((t) => t.title)).toEqual(['Renew the library books']);

    await page.reload();
    await row(page, queued).waitFor();
    await waitForContent(page, existing, { title: 'Renew the library books online' });
    for (const id of [queued, existing]) await page.locator(`[data-testid="task-${id}"][data-pending="true"]`).waitFor();

    const unblocked = performance.now();
    await context.unroute(apiRoutes);
    await expect
      .poll(async () => (await serverTasks(stack, user)).map(({ id, title }) => ({ id, title })), { timeout: REPLAY_TIMEOUT_MS })
      .toEqual([
        { id: existing, title: 'Renew the library books online' },
        { id: queued, title: 'Return the drill' },
      ]);
    timings.queuedAcrossReloadReachedServer = Math.round(performance.now() - unblocked);
    await waitForNothingPending(page, REPLAY_TIMEOUT_MS);
    await waitForCompleted(page, queued, false);
  });
});
