import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ListTasksResponse, Task } from '../../lambdas/contract.js';
import { describeBrowser, recordTimings, useBrowser } from '../support/browser.js';
import { apiClient, getToken } from '../support/clients.js';
import { startLocalStack, type RunningStack } from '../support/local-stack.js';
import '../support/stack-info.js';
import type { StackInfo } from '../support/stack-info.js';
import {
  addTask,
  CONNECT_TIMEOUT_MS,
  deleteTask,
  editTask,
  openSignedIn,
  renderedTasks,
  row,
  rowTitled,
  statusBadge,
  SYNC_TIMEOUT_MS,
  toggleTask,
  uniqueUser,
  waitForContent,
  waitForNothingPending,
  waitForStatus,
  type RenderedTask,
} from './dashboard.js';

// The dashboard on the change feed (docs/design.md, "Change feed"): what a
// reload asks for, convergence when WebSocket posts are lost, and a token
// older than the tombstone retention. The first uses the shared stack; the
// others start their own with the flags they need.

const shared = inject('stack');
/** Starting a stack (DynamoDB Local's JVM) on a shared 2-core machine. */
const STACK_START_MS = 120_000;

/** One API call the page made, as seen by the browser: `GET /tasks/changes?since=…` → `GET /tasks/changes`. */
interface SeenCall {
  method: string;
  path: string;
  status?: number;
}

/** Records the page's calls to the task API (requests, then their statuses). */
function recordApiCalls(page: Page, apiUrl: string): SeenCall[] {
  const base = apiUrl.replace(/\/+$/, '');
  const calls: SeenCall[] = [];
  const byRequest = new Map<object, SeenCall>();
  page.on('request', (request) => {
    if (!request.url().startsWith(`${base}/`) || request.method() === 'OPTIONS') return;
    const call = {
      method: request.method(),
      path: new URL(request.url()).pathname.slice(new URL(base).pathname.replace(/\/$/, '').length),
    };
    byRequest.set(request, call);
    calls.push(call);
  });
  page.on('response', (response) => {
    const call = byRequest.get(response.request());
    if (call) call.status = response.status();
  });
  return calls;
}

const describeCalls = (calls: SeenCall[]) => calls.map((c) => `${c.method} ${c.path}${c.status ? ` ${c.status}` : ''}`);

/** What the dashboard keeps in IndexedDB (its one `tasks.<sub>` database in this context), read in the page. */
async function storedState(page: Page): Promise<{ taskIds: string[]; syncToken: string | null } | null> {
  return page.evaluate(async () => {
    const names = (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith('tasks.'));
    if (names.length !== 1) return null;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(names[0]!);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    try {
      const t = db.transaction(['tasks', 'meta'], 'readonly');
      const read = <T>(r: IDBRequest<T>) =>
        new Promise<T>((resolve, reject) => {
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
      const [keys, token] = await Promise.all([
        read(t.objectStore('tasks').getAllKeys()),
        read(t.objectStore('meta').get('syncToken')),
      ]);
      return { taskIds: keys.map(String).sort(), syncToken: typeof token === 'string' ? token : null };
    } finally {
      db.close();
    }
  });
}

/** The test's own HTTP client for `username`: another device of the same user. */
async function otherDevice(stack: StackInfo, username: string) {
  const call = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, username));
  return {
    call,
    async tasks(): Promise<Task[]> {
      const res = await call<ListTasksResponse>('GET', '/tasks');
      expect(res.status).toBe(200);
      return res.body.tasks;
    },
    async create(title: string): Promise<Task> {
      const res = await call<Task>('POST', '/tasks', { body: { title, description: '' } });
      expect(res.status).toBe(201);
      return res.body;
    },
    async rename(id: string, title: string): Promise<void> {
      expect((await call('PUT', `/tasks/${id}`, { body: { title } })).status).toBe(200);
    },
    async remove(id: string): Promise<void> {
      expect((await call('DELETE', `/tasks/${id}`)).status).toBe(204);
    },
  };
}

const content = (tasks: RenderedTask[]) =>
  tasks.map(({ id, title, description, completed, pending }) => ({ id, title, description, completed, pending }));

describeBrowser('dashboard on the change feed', () => {
  const { newContext } = useBrowser();
  const timings: Record<string, number> = {};

  // Registered after useBrowser(): vitest runs afterAll hooks in reverse, so this runs before the contexts close.
  afterAll(() => {
    if (Object.keys(timings).length > 0) recordTimings('change-feed', { unit: 'ms', ...timings });
  });

  it('shows the cached tasks at once after a reload, then asks only for the changes since its token', async () => {
    const user = uniqueUser('reload');
    const context = await newContext();
    const first = await openSignedIn(context, shared.webUrl, user);
    const kept = await addTask(first, 'Kept in IndexedDB');
    const renamed = await addTask(first, 'Renamed elsewhere');
    const removed = await addTask(first, 'Deleted elsewhere');
    await waitForNothingPending(first);
    await expect
      .poll(() => storedState(first), { timeout: SYNC_TIMEOUT_MS })
      .toEqual({
        taskIds: [kept, renamed, removed].sort(),
        syncToken: expect.any(String),
      });
    await first.close();

    // While no page is open, another device of the same user changes things.
    const phone = await otherDevice(shared, user);
    await phone.rename(renamed, 'Renamed on the phone');
    await phone.remove(removed);
    const added = await phone.create('Added on the phone');

    const page = await context.newPage();
    const calls = recordApiCalls(page, shared.apiUrl);
    // Hold the catch-up: whatever shows meanwhile came from IndexedDB.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const changesRoute = `${shared.apiUrl.replace(/\/+$/, '')}/tasks/changes**`;
    await page.route(changesRoute, async (route) => {
      await held;
      await route.continue();
    });
    const opened = performance.now();
    await page.goto(shared.webUrl);
    await waitForContent(page, renamed, { title: 'Renamed elsewhere' });
    timings.cachedListShown = Math.round(performance.now() - opened);
    // Newest first.
    expect((await renderedTasks(page)).map((t) => t.title)).toEqual([
      'Deleted elsewhere',
      'Renamed elsewhere',
      'Kept in IndexedDB',
    ]);
    // Asked, and held: nothing but IndexedDB can have shown these.
    await expect
      .poll(() => calls.filter((c) => c.path === '/tasks/changes').length, { timeout: SYNC_TIMEOUT_MS })
      .toBeGreaterThan(0);
    expect(calls.filter((c) => c.status !== undefined)).toEqual([]);

    release();
    await waitForContent(page, renamed, { title: 'Renamed on the phone' });
    await row(page, removed).waitFor({ state: 'detached', timeout: SYNC_TIMEOUT_MS });
    await rowTitled(page, 'Added on the phone').waitFor({ timeout: SYNC_TIMEOUT_MS });
    await waitForStatus(page, 'live', CONNECT_TIMEOUT_MS);
    // The catch-up after the socket opened has answered too (a second, later request).
    await expect
      .poll(() => calls.filter((c) => c.path === '/tasks/changes' && c.status === 200).length, { timeout: SYNC_TIMEOUT_MS })
      .toBeGreaterThanOrEqual(1);
    await page.unroute(changesRoute);
    // A change made here is sent and confirmed: the page is past its start.
    await toggleTask(page, kept);
    await waitForNothingPending(page);

    expect((await renderedTasks(page)).map((t) => t.id)).toEqual([added.id, renamed, kept]);
    expect(describeCalls(calls.filter((c) => c.method === 'GET' && c.path === '/tasks'))).toEqual([]);
    expect(calls.filter((c) => c.method === 'GET').every((c) => c.path === '/tasks/changes')).toBe(true);
    expect(calls.filter((c) => c.status !== undefined && c.status >= 400)).toEqual([]);
  });

  it('shares the outbox between two tabs of one browser: a change queued in a tab cut off from the API is sent by the other', async () => {
    const user = uniqueUser('tabs');
    const context = await newContext();
    const cutOff = await openSignedIn(context, shared.webUrl, user);
    const other = await context.newPage();
    await other.goto(shared.webUrl);
    await waitForStatus(other, 'live', CONNECT_TIMEOUT_MS);
    await other.getByTestId('tasks-empty').waitFor();
    const otherCalls = recordApiCalls(other, shared.apiUrl);
    const apiRoutes = `${shared.apiUrl.replace(/\/+$/, '')}/**`;
    await cutOff.route(apiRoutes, (route) => route.abort('internetdisconnected'));

    const id = await addTask(cutOff, 'Queued in the cut-off tab');
    // The other tab shows it (BroadcastChannel, IndexedDB), sends it, and both show it confirmed.
    await row(other, id).waitFor({ timeout: SYNC_TIMEOUT_MS });
    await waitForNothingPending(other);
    await waitForNothingPending(cutOff);

    expect(otherCalls.filter((c) => c.method === 'POST')).toEqual([{ method: 'POST', path: '/tasks', status: 201 }]);
    const phone = await otherDevice(shared, user);
    expect((await phone.tasks()).map((t) => t.id)).toEqual([id]);
    await cutOff.unroute(apiRoutes);
  });

  describe('with 30 % of WebSocket posts lost and a 1 s heartbeat', () => {
    let lossy: RunningStack | undefined;

    beforeAll(async () => {
      lossy = await startLocalStack([
        '--no-web-build',
        '--poll-interval-ms',
        '50',
        '--fault-post-drop-rate',
        '0.3',
        '--heartbeat-ms',
        '1000',
      ]);
    }, STACK_START_MS);

    afterAll(async () => {
      await lossy?.stop();
    });

    it('brings two pages of one user to the same tasks after edits on both, without reconnecting', async () => {
      const stack = lossy!.info;
      const user = uniqueUser('lossy');
      const [contextA, contextB] = await Promise.all([newContext(), newContext()]);
      const [a, b] = await Promise.all([openSignedIn(contextA, stack.webUrl, user), openSignedIn(contextB, stack.webUrl, user)]);
      const connection = (page: Page) => statusBadge(page).getAttribute('data-connection-id');
      await expect
        .poll(() => Promise.all([connection(a), connection(b)]), { timeout: SYNC_TIMEOUT_MS })
        .toEqual([expect.stringMatching(/\S/), expect.stringMatching(/\S/)]);
      const connectionsBefore = await Promise.all([connection(a), connection(b)]);
      const callsA = recordApiCalls(a, stack.apiUrl);
      const callsB = recordApiCalls(b, stack.apiUrl);

      const started = performance.now();
      const fromA: string[] = [];
      for (let i = 1; i <= 6; i++) fromA.push(await addTask(a, `From A ${i}`));
      const fromB: string[] = [];
      for (let i = 1; i <= 4; i++) fromB.push(await addTask(b, `From B ${i}`));
      await waitForNothingPending(a);
      await waitForNothingPending(b);
      // Edits on tasks the other page made: each page must have them first (by event or by pull).
      for (const id of fromA.slice(0, 2)) await row(b, id).waitFor({ timeout: 3 * SYNC_TIMEOUT_MS });
      for (const id of fromB.slice(0, 2)) await row(a, id).waitFor({ timeout: 3 * SYNC_TIMEOUT_MS });
      await editTask(b, fromA[0]!, { title: 'From A 1, renamed on B', description: 'by B' });
      await toggleTask(a, fromB[0]!);
      await deleteTask(b, fromA[1]!);
      await deleteTask(a, fromB[1]!);
      await toggleTask(a, fromA[2]!);
      await editTask(a, fromA[3]!, { title: 'From A 4, renamed on A' });
      await waitForNothingPending(a);
      await waitForNothingPending(b);

      const phone = await otherDevice(stack, user);
      const expected = async () =>
        (await phone.tasks()).map(({ id, title, description, completed }) => ({
          id,
          title,
          description,
          completed,
          pending: false,
        }));
      const want = await expected();
      expect(want.map((t) => t.title)).toEqual([
        'From A 1, renamed on B',
        'From A 3',
        'From A 4, renamed on A',
        'From A 5',
        'From A 6',
        'From B 1',
        'From B 3',
        'From B 4',
      ]);
      // The server lists oldest first, the dashboard newest first.
      const shown = [...want].reverse();
      await expect
        .poll(async () => [content(await renderedTasks(a)), content(await renderedTasks(b))], { timeout: 4 * SYNC_TIMEOUT_MS })
        .toEqual([shown, shown]);
      timings.lossyConverged = Math.round(performance.now() - started);

      // The same WebSocket connections throughout: the heartbeat's pulls did it, not a reconnect's catch-up.
      expect(await Promise.all([connection(a), connection(b)])).toEqual(connectionsBefore);
      expect(await Promise.all([statusBadge(a).textContent(), statusBadge(b).textContent()])).toEqual(['live', 'live']);
      const pulls = [...callsA, ...callsB].filter((c) => c.path === '/tasks/changes');
      expect(pulls.length).toBeGreaterThan(0);
      expect([...callsA, ...callsB].filter((c) => c.method === 'GET' && c.path === '/tasks')).toEqual([]);
      // And the emulator really lost posts (otherwise this proves nothing about the heartbeat).
      const stats = (await (await fetch(stack.statsUrl)).json()) as { websocket: { droppedPosts: number; posts: number } };
      timings.lossyPulls = pulls.length;
      timings.lossyDroppedPosts = stats.websocket.droppedPosts;
      expect(stats.websocket.droppedPosts).toBeGreaterThan(0);
    });
  });

  describe('with a 20 s tombstone retention', () => {
    let shortLived: RunningStack | undefined;

    beforeAll(async () => {
      shortLived = await startLocalStack(['--no-web-build', '--poll-interval-ms', '50', '--tombstone-retention-seconds', '20']);
    }, STACK_START_MS);

    afterAll(async () => {
      await shortLived?.stop();
    });

    /** Resolves once the server answers 410 for `token`: then every older token is expired too. */
    async function waitUntilExpired(call: Awaited<ReturnType<typeof otherDevice>>['call'], token: string): Promise<void> {
      await expect
        .poll(async () => (await call('GET', `/tasks/changes?since=${encodeURIComponent(token)}`)).status, {
          timeout: 40_000,
          interval: 500,
        })
        .toBe(410);
    }

    it('lists everything again by itself when the stored token has expired (410), and shows the right tasks', async () => {
      const stack = shortLived!.info;
      const user = uniqueUser('expiry');
      const context = await newContext();
      const first = await openSignedIn(context, stack.webUrl, user);
      const kept = await addTask(first, 'Still there');
      const renamed = await addTask(first, 'Renamed while away');
      const removed = await addTask(first, 'Deleted while away');
      await waitForNothingPending(first);
      await expect.poll(async () => (await storedState(first))?.taskIds.length, { timeout: SYNC_TIMEOUT_MS }).toBe(3);
      const before = (await storedState(first))!;
      expect(before.syncToken).toEqual(expect.any(String));
      await first.close();

      const phone = await otherDevice(stack, user);
      await phone.rename(renamed, 'Renamed on the phone');
      await phone.remove(removed);
      const added = await phone.create('Added on the phone');
      const waitStarted = performance.now();
      await waitUntilExpired(phone.call, before.syncToken!);
      timings.tokenExpiredAfterWaiting = Math.round(performance.now() - waitStarted);

      const page = await context.newPage();
      const calls = recordApiCalls(page, stack.apiUrl);
      await page.goto(stack.webUrl);
      await waitForContent(page, renamed, { title: 'Renamed on the phone' }, CONNECT_TIMEOUT_MS);
      await rowTitled(page, 'Added on the phone').waitFor({ timeout: SYNC_TIMEOUT_MS });
      await row(page, removed).waitFor({ state: 'detached', timeout: SYNC_TIMEOUT_MS });
      await waitForStatus(page, 'live', CONNECT_TIMEOUT_MS);
      await waitForNothingPending(page);

      expect((await renderedTasks(page)).map((t) => t.id)).toEqual([added.id, renamed, kept]);
      // The stored token was refused with 410, then the full list (by itself: no Retry, no message).
      const seen = describeCalls(calls.filter((c) => c.method === 'GET'));
      expect(seen[0]).toBe('GET /tasks/changes 410');
      expect(seen).toContain('GET /tasks 200');
      expect(seen.indexOf('GET /tasks 200')).toBeGreaterThan(0);
      expect(await page.getByTestId('tasks-error').count()).toBe(0);
      expect(await page.locator('[data-testid="message"][data-kind="error"]').count()).toBe(0);
      // A fresh token is kept, along with exactly what the server holds.
      await expect
        .poll(() => storedState(page), { timeout: SYNC_TIMEOUT_MS })
        .toEqual({
          taskIds: [kept, renamed, added.id].sort(),
          syncToken: expect.not.stringMatching(`^${before.syncToken!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
        });
    });
  });
});
