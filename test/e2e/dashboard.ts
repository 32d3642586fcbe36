import { randomUUID } from 'node:crypto';
import type { BrowserContext, Locator, Page } from 'playwright-core';

/**
 * The dashboard as a user drives it: labels, roles and the test ids listed in
 * web/README.md, nothing from the client's internals.
 */

/** How long a change may take to show elsewhere before a test fails (timings are recorded, not asserted). */
export const SYNC_TIMEOUT_MS = 5_000;
/** The first WebSocket of a run waits for cold handler imports and a JWKS fetch; a loaded machine makes that slow. */
export const CONNECT_TIMEOUT_MS = 15_000;

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface RenderedTask {
  id: string;
  title: string;
  description: string;
  completed: boolean;
  pending: boolean;
}

/** A username no other test or earlier run has used (same username → same `sub`). */
export const uniqueUser = (label: string) => `e2e-${label}-${randomUUID().slice(0, 8)}`;

const ROWS = 'li[data-testid^="task-"]';

const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

export function rows(page: Page): Locator {
  return page.locator(ROWS);
}

export function row(page: Page, id: string): Locator {
  return page.getByTestId(`task-${id}`);
}

export function rowTitled(page: Page, title: string): Locator {
  return rows(page).filter({ has: page.getByTestId('task-title').filter({ hasText: exactly(title) }) });
}

export function statusBadge(page: Page): Locator {
  return page.getByTestId('connection-status');
}

/** Resolves once the badge reads one of `statuses`. */
export async function waitForStatus(
  page: Page,
  statuses: ConnectionStatus | ConnectionStatus[],
  timeout = SYNC_TIMEOUT_MS,
): Promise<void> {
  const wanted = ([] as ConnectionStatus[]).concat(statuses);
  await page
    .locator('[data-testid="connection-status"]', { hasText: new RegExp(`^(${wanted.join('|')})$`) })
    .waitFor({ timeout });
}

/** Opens the dashboard and signs in through the form, as a person would. */
export async function openSignIn(context: BrowserContext, webUrl: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(webUrl);
  await page.getByLabel('Username').waitFor();
  return page;
}

export async function signIn(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page
    .getByTestId('user-name')
    .filter({ hasText: exactly(username) })
    .waitFor();
  await waitForStatus(page, 'live', CONNECT_TIMEOUT_MS);
}

export async function openSignedIn(context: BrowserContext, webUrl: string, username: string): Promise<Page> {
  const page = await openSignIn(context, webUrl);
  await signIn(page, username);
  return page;
}

export async function fillNewTask(page: Page, title: string, description = ''): Promise<void> {
  await page.getByLabel('New task title').fill(title);
  await page.getByLabel('New task description (optional)').fill(description);
}

/** Adds a task through the create form; resolves with its id once the row shows. */
export async function addTask(page: Page, title: string, description = ''): Promise<string> {
  await fillNewTask(page, title, description);
  return submitNewTask(page, title);
}

/** Clicks "Add task" on a filled form; resolves with the new task's id once its row shows. */
export async function submitNewTask(page: Page, title: string): Promise<string> {
  await page.getByRole('button', { name: 'Add task' }).click();
  const added = rowTitled(page, title);
  await added.waitFor({ timeout: SYNC_TIMEOUT_MS });
  const testId = await added.getAttribute('data-testid');
  return testId!.slice('task-'.length);
}

/**
 * A row's action button. On a phone-sized screen the actions sit behind the
 * row's "Actions for …" menu button: it is opened first, as a person would.
 */
export async function rowAction(page: Page, id: string, name: RegExp): Promise<Locator> {
  const item = row(page, id);
  const button = item.getByRole('button', { name });
  if (!(await button.isVisible())) await item.getByRole('button', { name: /^Actions for/ }).click();
  return button;
}

export async function openEditor(page: Page, id: string): Promise<Locator> {
  const item = row(page, id);
  await (await rowAction(page, id, /^Edit/)).click();
  await item.getByLabel('Title', { exact: true }).waitFor();
  return item;
}

export async function editTask(page: Page, id: string, changes: { title?: string; description?: string }): Promise<void> {
  const item = await openEditor(page, id);
  if (changes.title !== undefined) await item.getByLabel('Title', { exact: true }).fill(changes.title);
  if (changes.description !== undefined) await item.getByLabel('Description', { exact: true }).fill(changes.description);
  await item.getByRole('button', { name: 'Save' }).click();
  await item.getByTestId('task-title').waitFor();
}

export async function toggleTask(page: Page, id: string): Promise<void> {
  await row(page, id).getByRole('checkbox').click();
}

/** Clicks Delete: the row goes, and the undo toast shows (the DELETE waits for it, docs/design.md "Undo"). */
export async function deleteUndoable(page: Page, id: string): Promise<Locator> {
  await (await rowAction(page, id, /^Delete/)).click();
  const toast = page.getByTestId('undo-toast');
  await toast.waitFor();
  return toast;
}

/** Deletes for good: Delete, then dismisses the undo toast, which sends the DELETE at once. */
export async function deleteTask(page: Page, id: string): Promise<void> {
  const toast = await deleteUndoable(page, id);
  await toast.getByRole('button', { name: 'Dismiss' }).click();
  await toast.waitFor({ state: 'detached' });
}

/** Waits until the row shows this title (and description, when given). */
export async function waitForContent(
  page: Page,
  id: string,
  content: { title: string; description?: string },
  timeout = SYNC_TIMEOUT_MS,
): Promise<void> {
  const item = row(page, id);
  await item
    .getByTestId('task-title')
    .filter({ hasText: exactly(content.title) })
    .waitFor({ timeout });
  if (content.description !== undefined) {
    await item
      .getByTestId('task-description')
      .filter({ hasText: exactly(content.description) })
      .waitFor({ timeout });
  }
}

export async function waitForCompleted(page: Page, id: string, completed: boolean, timeout = SYNC_TIMEOUT_MS): Promise<void> {
  await page.locator(`[data-testid="task-${id}"][data-completed="${completed}"]`).waitFor({ timeout });
}

/** Waits until the server has confirmed every change shown in this page. */
export async function waitForNothingPending(page: Page, timeout = SYNC_TIMEOUT_MS): Promise<void> {
  await page.locator(`${ROWS}[data-pending="true"]`).first().waitFor({ state: 'detached', timeout });
}

/** The list as rendered, in order. */
export function renderedTasks(page: Page): Promise<RenderedTask[]> {
  return rows(page).evaluateAll((elements) =>
    elements.map((el) => ({
      id: (el.getAttribute('data-testid') ?? '').slice('task-'.length),
      title: el.querySelector('[data-testid="task-title"]')?.textContent ?? '',
      description: el.querySelector('[data-testid="task-description"]')?.textContent ?? '',
      completed: el.getAttribute('data-completed') === 'true',
      pending: el.getAttribute('data-pending') === 'true',
    })),
  );
}

/** A state of one row (or of any row, without `id`) to wait for inside the page. */
export interface RowMatch {
  id?: string;
  title?: string;
  description?: string;
  completed?: boolean;
  /** The row is gone. */
  gone?: boolean;
}

interface Propagation {
  /** Click in one page to the DOM change in the other, both timed inside the browser (no test-driver overhead). */
  inPage: number;
  /** The same seen from the test process: includes the driver's round trips, so it is the upper bound. */
  observed: number;
}

/**
 * Times a change from the click that makes it in `actor` to the moment
 * `observer`'s DOM shows it: a MutationObserver in `observer` stamps the
 * change, a capturing click listener in `actor` stamps the click (both pages
 * read the same wall clock). Fails if the change does not show in `timeout`.
 */
export async function measurePropagation(
  actor: Page,
  click: () => Promise<unknown>,
  observer: Page,
  match: RowMatch,
  timeout = SYNC_TIMEOUT_MS,
): Promise<Propagation> {
  const key = `w${Math.random().toString(36).slice(2)}`;
  await observer.evaluate(
    ({ key, match, timeout }) => {
      const matches = () => {
        const all = [...document.querySelectorAll('li[data-testid^="task-"]')];
        const rows = match.id === undefined ? all : all.filter((el) => el.getAttribute('data-testid') === `task-${match.id}`);
        if (match.gone) return rows.length === 0;
        const text = (el: Element, id: string) => el.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
        return rows.some(
          (el) =>
            (match.title === undefined || text(el, 'task-title') === match.title) &&
            (match.description === undefined || text(el, 'task-description') === match.description) &&
            (match.completed === undefined || el.getAttribute('data-completed') === String(match.completed)),
        );
      };
      const stamp = () => performance.timeOrigin + performance.now();
      const w = window as unknown as { __e2eWatches?: Record<string, Promise<number>> };
      w.__e2eWatches ??= {};
      const watches = w.__e2eWatches;
      watches[key] = new Promise<number>((resolve, reject) => {
        if (matches()) return resolve(stamp());
        const observer = new MutationObserver(() => {
          if (!matches()) return;
          observer.disconnect();
          resolve(stamp());
        });
        observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
        setTimeout(() => {
          observer.disconnect();
          reject(new Error(`not shown within ${timeout} ms: ${JSON.stringify(match)}`));
        }, timeout);
      });
      watches[key].catch(() => undefined);
    },
    { key, match, timeout },
  );
  await actor.evaluate(() => {
    document.addEventListener(
      'click',
      () => ((window as unknown as { __e2eClickAt?: number }).__e2eClickAt = performance.timeOrigin + performance.now()),
      { capture: true, once: true },
    );
  });
  const start = performance.now();
  await click();
  const seenAt = await observer.evaluate(
    (key) => (window as unknown as { __e2eWatches: Record<string, Promise<number>> }).__e2eWatches[key]!,
    key,
  );
  const observed = performance.now() - start;
  const clickedAt = await actor.evaluate(() => (window as unknown as { __e2eClickAt: number }).__e2eClickAt);
  return { inPage: Math.round(seenAt - clickedAt), observed: Math.round(observed) };
}
