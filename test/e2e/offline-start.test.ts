import type { Page } from 'playwright-core';
import { expect, inject, it } from 'vitest';
import { describeBrowser, screenshot, useBrowser } from '../support/browser.js';
import { serverTasks } from '../support/clients.js';
import '../support/stack-info.js';
import { expectAccessible } from './axe.js';
import { queuedOps } from './indexed-db.js';
import {
  addTask,
  CONNECT_TIMEOUT_MS,
  openSignedIn,
  row,
  toggleTask,
  uniqueUser,
  waitForCompleted,
  waitForNothingPending,
  waitForStatus,
} from './dashboard.js';

// Offline start through the service worker (web/src/sw.ts): after one visit the dashboard loads
// with no network at all, and a new deployment is picked up without mixing files of two builds.

const stack = inject('stack');
/** Replays after the network returns wait for the client's backoff. */
const REPLAY_TIMEOUT_MS = 20_000;

/** Resolves once a service worker is active for the page (it has stored the shell by then: install waits for it). */
async function workerReady(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
}

/** What the worker's shell cache holds, as paths. */
function shellCache(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const cache = await caches.open('tasks-shell');
    return (await cache.keys()).map((r) => new URL(r.url).pathname).sort();
  });
}

describeBrowser('dashboard offline start', () => {
  const { newContext } = useBrowser();

  it('loads with no network after one visit, shows the cached tasks and queued changes, and syncs when the network is back', async () => {
    const user = uniqueUser('offline-start');
    const context = await newContext();
    const page = await openSignedIn(context, stack.webUrl, user);
    const kept = await addTask(page, 'Cached for the train');
    await waitForNothingPending(page);
    await workerReady(page);

    await context.setOffline(true);
    await waitForStatus(page, 'offline');
    const queued = await addTask(page, 'Written in the tunnel');
    await toggleTask(page, kept);
    // Both changes are stored (a reload in the very millisecond of a change could lose it).
    await expect.poll(async () => (await queuedOps(page)).length).toBe(2);

    // A reload with no network at all: the document comes from the service worker.
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    await row(page, kept).waitFor();
    await page.locator(`[data-testid="task-${queued}"][data-pending="true"]`).waitFor();
    await waitForCompleted(page, kept, true);
    expect(await row(page, queued).getByTestId('task-pending').textContent()).toBe('Waiting for connection');
    await waitForStatus(page, 'offline');
    await expectAccessible(page, 'offline start');
    await screenshot(page, 'offline-start');
    // Nothing of this reached the server yet.
    expect((await serverTasks(stack, user)).map((t) => ({ title: t.title, completed: t.completed }))).toEqual([
      { title: 'Cached for the train', completed: false },
    ]);

    await context.setOffline(false);
    await waitForStatus(page, 'live', CONNECT_TIMEOUT_MS);
    await waitForNothingPending(page, REPLAY_TIMEOUT_MS);
    await page
      .locator('[data-testid="message"][data-kind="info"]', { hasText: '2 changes synced.' })
      .waitFor({ timeout: REPLAY_TIMEOUT_MS });
    expect((await serverTasks(stack, user)).map((t) => ({ title: t.title, completed: t.completed }))).toEqual([
      { title: 'Cached for the train', completed: true },
      { title: 'Written in the tunnel', completed: false },
    ]);
  });

  it('picks up a new deployment on the next online start, and then starts offline from that one set of files', async () => {
    const context = await newContext();
    const page = await openSignedIn(context, stack.webUrl, uniqueUser('deploy'));
    await addTask(page, 'Survives the deployment');
    await waitForNothingPending(page);
    await workerReady(page);
    const before = await shellCache(page);
    const oldApp = before.find((p) => /\/app-[A-Z0-9]+\.js$/.test(p))!;
    expect(before).toEqual(expect.arrayContaining(['/', oldApp, '/manifest.webmanifest', '/favicon.svg']));

    // A deployment: index.html now names a new script (the same code, marked so the page can tell).
    const base = stack.webUrl.replace(/\/+$/, '');
    const html = await (await fetch(`${base}/`)).text();
    const code = await (await fetch(`${base}${oldApp}`)).text();
    const newApp = '/app-NEWBUILD1.js';
    await context.route(`${base}/`, (route) =>
      route.fulfill({ contentType: 'text/html; charset=utf-8', body: html.replace(oldApp.slice(1), newApp.slice(1)) }),
    );
    await context.route(`${base}${newApp}`, (route) =>
      route.fulfill({ contentType: 'text/javascript; charset=utf-8', body: `window.__build = 'new';\n${code}` }),
    );

    // The next online start runs the new build…
    await page.reload();
    await page.getByTestId('task-title').filter({ hasText: 'Survives the deployment' }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { __build?: string }).__build)).toBe('new');
    // …and the worker moves its shell to it as one set: the new document with the new script, the old one gone.
    await expect.poll(() => shellCache(page), { timeout: 10_000 }).toEqual(before.map((p) => (p === oldApp ? newApp : p)).sort());

    // Offline, the start is the new build, whole.
    await context.setOffline(true);
    const offline = await page.reload();
    expect(offline?.fromServiceWorker()).toBe(true);
    await page.getByTestId('task-title').filter({ hasText: 'Survives the deployment' }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { __build?: string }).__build)).toBe('new');
    expect(await page.evaluate(() => [...document.scripts].map((s) => new URL(s.src).pathname))).toEqual([newApp]);
  });

  it('offers a reload in a page still running the previous build once another tab has loaded a new one', async () => {
    const context = await newContext();
    const old = await openSignedIn(context, stack.webUrl, uniqueUser('two-builds'));
    await workerReady(old);
    const oldApp = (await shellCache(old)).find((p) => /\/app-[A-Z0-9]+\.js$/.test(p))!;
    const base = stack.webUrl.replace(/\/+$/, '');
    const html = await (await fetch(`${base}/`)).text();
    const code = await (await fetch(`${base}${oldApp}`)).text();
    await context.route(`${base}/`, (route) =>
      route.fulfill({ contentType: 'text/html; charset=utf-8', body: html.replace(oldApp.slice(1), 'app-NEWBUILD2.js') }),
    );
    await context.route(`${base}/app-NEWBUILD2.js`, (route) =>
      route.fulfill({ contentType: 'text/javascript; charset=utf-8', body: code }),
    );

    const fresh = await context.newPage();
    await fresh.goto(stack.webUrl);
    const banner = old.getByTestId('new-version');
    await banner.waitFor({ timeout: 10_000 });
    expect(await banner.textContent()).toMatch(/A new version of Tasks is available/);
    await expectAccessible(old, 'new version available');
    // The page that already runs the new build is not asked.
    expect(await fresh.getByTestId('new-version').count()).toBe(0);
  });
});
