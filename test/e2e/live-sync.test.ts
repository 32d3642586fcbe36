import { afterAll, expect, inject, it } from 'vitest';
import { describeBrowser, recordTimings, screenshot, useBrowser } from '../support/browser.js';
import { expectAccessible } from './axe.js';
import '../support/stack-info.js';
import {
  addTask,
  CONNECT_TIMEOUT_MS,
  deleteTask,
  editTask,
  fillNewTask,
  measurePropagation,
  openEditor,
  openSignedIn,
  openSignIn,
  renderedTasks,
  row,
  rowTitled,
  signIn,
  statusBadge,
  submitNewTask,
  SYNC_TIMEOUT_MS,
  toggleTask,
  uniqueUser,
  waitForCompleted,
  waitForContent,
  waitForNothingPending,
  waitForStatus,
} from './dashboard.js';

const stack = inject('stack');

describeBrowser('dashboard live sync', () => {
  const { newContext } = useBrowser();
  const timings: Record<string, unknown> = {};

  // Registered after useBrowser(): vitest runs afterAll hooks in reverse, so this runs before the contexts close.
  afterAll(() => {
    if (Object.keys(timings).length > 0) {
      recordTimings('live-sync', {
        unit: 'ms from the click in one context to the change in the DOM of the other (inPage: timed in the browser; observed: from the test process)',
        ...timings,
      });
    }
  });

  it("shows one user's create, edit, complete and delete in their other context", async () => {
    const user = uniqueUser('sync');
    // The second device signs in meanwhile; sign-ins are the slow part of these tests.
    const signingIn = newContext().then((context) => openSignedIn(context, stack.webUrl, user));
    signingIn.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
    const first = await openSignIn(await newContext(), stack.webUrl);
    await expectAccessible(first, 'sign-in');
    await screenshot(first, 'sign-in');
    await signIn(first, user);
    await first.getByTestId('tasks-empty').waitFor();
    await screenshot(first, 'empty-list');
    const second = await signingIn;

    const title = 'Buy milk';
    await fillNewTask(first, title, 'semi-skimmed');
    let id = '';
    timings.create = await measurePropagation(first, async () => (id = await submitNewTask(first, title)), second, {
      title,
      description: 'semi-skimmed',
    });

    const editor = await openEditor(first, id);
    expect(await editor.getByLabel('Title', { exact: true }).inputValue()).toBe(title);
    expect(await editor.getByLabel('Description', { exact: true }).inputValue()).toBe('semi-skimmed');
    await editor.getByLabel('Title', { exact: true }).fill('Buy oat milk');
    await editor.getByLabel('Description', { exact: true }).fill('two cartons');
    await expectAccessible(first, 'editing');
    await screenshot(first, 'editing');
    timings.edit = await measurePropagation(first, () => editor.getByRole('button', { name: 'Save' }).click(), second, {
      id,
      title: 'Buy oat milk',
      description: 'two cartons',
    });

    timings.complete = await measurePropagation(second, () => toggleTask(second, id), first, { id, completed: true });

    // The other direction too: the second context creates, the first one sees it.
    await fillNewTask(second, 'Call the plumber');
    timings.createReverse = await measurePropagation(second, () => submitNewTask(second, 'Call the plumber'), first, {
      title: 'Call the plumber',
    });
    await addTask(first, 'Water the plants', 'balcony first');
    await rowTitled(second, 'Water the plants').waitFor({ timeout: SYNC_TIMEOUT_MS });
    await waitForNothingPending(first);
    await expectAccessible(first, 'list');
    await screenshot(first, 'list-with-tasks');

    timings.delete = await measurePropagation(first, () => deleteTask(first, id), second, { id, gone: true });

    await waitForNothingPending(first);
    await waitForNothingPending(second);
    // Newest first.
    const expected = [
      { title: 'Water the plants', description: 'balcony first', completed: false, pending: false },
      { title: 'Call the plumber', description: '', completed: false, pending: false },
    ];
    expect((await renderedTasks(first)).map(({ id: _id, ...rest }) => rest)).toEqual(expected);
    expect(await renderedTasks(second)).toEqual(await renderedTasks(first));
  });

  it("never shows one user's tasks to another user", async () => {
    const alice = uniqueUser('alice');
    const bob = uniqueUser('bob');
    const signedIn = async (user: string) => openSignedIn(await newContext(), stack.webUrl, user);
    const [aliceFirst, aliceSecond, bobPage] = await Promise.all([signedIn(alice), signedIn(alice), signedIn(bob)]);
    await bobPage.getByTestId('tasks-empty').waitFor();

    const bobsTask = await addTask(bobPage, "Bob's errand");
    await waitForNothingPending(bobPage);
    const alicesTask = await addTask(aliceFirst, "Alice's secret");
    await rowTitled(aliceSecond, "Alice's secret").waitFor({ timeout: SYNC_TIMEOUT_MS });
    await editTask(aliceFirst, alicesTask, { title: "Alice's secret plan" });
    await toggleTask(aliceFirst, alicesTask);
    await waitForCompleted(aliceSecond, alicesTask, true);
    await waitForContent(aliceSecond, alicesTask, { title: "Alice's secret plan" });

    // Alice's changes have reached her other context, so they would have reached Bob's by now too.
    expect((await renderedTasks(bobPage)).map((t) => t.title)).toEqual(["Bob's errand"]);
    expect((await renderedTasks(aliceSecond)).map((t) => t.id)).toEqual([alicesTask]);
    expect((await renderedTasks(aliceFirst)).map((t) => t.id)).toEqual([alicesTask]);

    // A reload lists from the server: still only Bob's own task.
    await bobPage.reload();
    await waitForStatus(bobPage, 'live', CONNECT_TIMEOUT_MS);
    await row(bobPage, bobsTask).waitFor();
    expect((await renderedTasks(bobPage)).map((t) => t.id)).toEqual([bobsTask]);
  });

  it('shows the connection status: live when signed in, offline without network, live again after', async () => {
    const context = await newContext();
    const page = await openSignIn(context, stack.webUrl);
    await signIn(page, uniqueUser('status'));
    const badge = statusBadge(page);
    expect(await badge.textContent()).toBe('live');
    await expect.poll(() => badge.getAttribute('data-connection-id'), { timeout: SYNC_TIMEOUT_MS }).toMatch(/\S/);
    const firstConnection = await badge.getAttribute('data-connection-id');

    await context.setOffline(true);
    await waitForStatus(page, ['offline', 'reconnecting']);

    await context.setOffline(false);
    await waitForStatus(page, 'live', CONNECT_TIMEOUT_MS);
    // A new WebSocket connection, not the old one kept alive through the outage.
    await expect
      .poll(() => badge.getAttribute('data-connection-id'), { timeout: SYNC_TIMEOUT_MS })
      .toSatisfy((id: string | null) => typeof id === 'string' && id.length > 0 && id !== firstConnection);
  });

  it('keeps the editor and the list readable on a phone-sized screen', async () => {
    const context = await newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const page = await openSignedIn(context, stack.webUrl, uniqueUser('phone'));
    await addTask(page, 'Pick up the parcel', 'Post office closes at 18:00; bring the notice and an ID card.');
    const long = await addTask(page, 'A rather long task title that has to wrap onto a second line on a phone');
    await toggleTask(page, long);
    await waitForNothingPending(page);
    await screenshot(page, 'phone-list');

    // Nothing wider than the screen: no sideways scrolling.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await openEditor(page, long);
    await screenshot(page, 'phone-editing');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await row(page, long).getByRole('button', { name: 'Cancel' }).click();
  });
});
