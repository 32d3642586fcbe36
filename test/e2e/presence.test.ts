import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ServerFrame } from '../../lambdas/contract.js';
import { describeBrowser, screenshot, useBrowser } from '../support/browser.js';
import { apiClient, getToken } from '../support/clients.js';
import { startLocalStack, type RunningStack } from '../support/local-stack.js';
import '../support/stack-info.js';
import type { StackInfo } from '../support/stack-info.js';
import { forge } from '../support/tokens.js';
import { expectAccessible } from './axe.js';
import {
  CONNECT_TIMEOUT_MS,
  openSignedIn,
  rowTitled,
  statusBadge,
  SYNC_TIMEOUT_MS,
  uniqueUser,
  waitForStatus,
} from './dashboard.js';

const shared = inject('stack');
const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const STACK_START_MS = 120_000;
/** Where the local auth keeps its token (web/src/auth/local.ts). */
const AUTH_KEY = 'tasks.auth.local';

/**
 * Resolves once the header counts `n` devices (AUTH_SUCCESS or PRESENCE), then checks what it
 * reads: "Live · 2 devices" on one line, or on a phone "Live" over "2 devices".
 */
async function waitForDevices(page: Page, n: number, timeout = SYNC_TIMEOUT_MS): Promise<void> {
  await page.locator(`[data-testid="device-count"][data-devices="${n}"]`).waitFor({ timeout });
  const devices = `${n} ${n === 1 ? 'device' : 'devices'}`;
  const phone = (page.viewportSize()?.width ?? 1280) <= 640;
  // biome-ignore lint/performance/useDomNodeTextContent: what the header reads as rendered (CSS capitalises "live").
  const shown = await page.getByTestId('connection-badge').innerText();
  expect(shown).toBe(phone ? `Live\n${devices}` : `Live · ${devices}`);
}

/** The header is one line of controls inside the 360 px screen, the name still shown (as test/e2e/phone.test.ts). */
async function expectHeaderFits(page: Page): Promise<void> {
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  const header = await page.evaluate(() => {
    const boxes = [...document.querySelector('header')!.children].map((c) => c.getBoundingClientRect());
    return {
      left: Math.min(...boxes.map((b) => b.left)),
      right: Math.max(...boxes.map((b) => b.right)),
      tops: boxes.map((b) => Math.round(b.top + b.height / 2)),
    };
  });
  expect(header.left).toBeGreaterThanOrEqual(0);
  expect(header.right).toBeLessThanOrEqual(360);
  expect(Math.max(...header.tops) - Math.min(...header.tops)).toBeLessThanOrEqual(2);
  expect(await page.getByTestId('user-name').isVisible()).toBe(true);
}

interface SocketRecord {
  token: string;
  frames: ServerFrame[];
  /** Wall-clock time (ms) the browser saw the socket close. */
  closedAt: number | null;
}

/** Every WebSocket the page opens: the token it connected with, the frames it got, when it closed. */
function recordSockets(page: Page): SocketRecord[] {
  const sockets: SocketRecord[] = [];
  page.on('websocket', (ws) => {
    const record: SocketRecord = { token: new URL(ws.url()).searchParams.get('token') ?? '', frames: [], closedAt: null };
    sockets.push(record);
    ws.on('framereceived', ({ payload }) => {
      try {
        record.frames.push(JSON.parse(String(payload)) as ServerFrame);
      } catch {
        // not JSON: not ours
      }
    });
    ws.on('close', () => {
      record.closedAt = Date.now();
    });
  });
  return sockets;
}

const storedToken = (page: Page) =>
  page.evaluate((key) => (JSON.parse(localStorage.getItem(key) ?? 'null') as { token: string } | null)?.token ?? null, AUTH_KEY);
const expiresAt = (token: string) => (forge.claims(token).exp as number) * 1000;

describeBrowser('live devices and token expiry', () => {
  const { newContext } = useBrowser();

  /**
   * A dashboard signed in with `token` (put where the local auth keeps it before the page
   * loads), its sockets recorded from the first one. Resolves once it is live.
   */
  async function openWithToken(
    context: BrowserContext,
    stack: StackInfo,
    username: string,
    token: string,
    /** The page's clock starts here (epoch ms) and runs on from it; the real time when absent. */
    clockAt?: number,
  ): Promise<{ page: Page; sockets: SocketRecord[] }> {
    await context.addInitScript(
      ({ key, value }) => {
        if (localStorage.getItem(key) === null) localStorage.setItem(key, value);
      },
      { key: AUTH_KEY, value: JSON.stringify({ token, username }) },
    );
    const page = await context.newPage();
    if (clockAt !== undefined) await page.clock.install({ time: clockAt });
    const sockets = recordSockets(page);
    await page.goto(stack.webUrl);
    await waitForStatus(page, 'live', CONNECT_TIMEOUT_MS);
    return { page, sockets };
  }

  /** Waits for the page to be live on a connection other than `connectionId` (it has one once AUTH_SUCCESS came). */
  async function waitForNewConnection(page: Page, connectionId: string, timeout: number): Promise<string> {
    await page
      .locator(`[data-testid="connection-status"][data-connection-id]:not([data-connection-id="${connectionId}"])`, {
        hasText: /^live$/,
      })
      .waitFor({ timeout });
    return (await statusBadge(page).getAttribute('data-connection-id'))!;
  }

  async function connectionIdOf(page: Page): Promise<string> {
    await page.locator('[data-testid="connection-status"][data-connection-id]').waitFor({ timeout: SYNC_TIMEOUT_MS });
    return (await statusBadge(page).getAttribute('data-connection-id'))!;
  }

  /**
   * Another client of `username` adds a task every 300 ms until `until` settles, then one
   * more: tasks made before, during and after a connection switch. Returns their titles.
   */
  async function writeAround(stack: StackInfo, username: string, label: string, until: Promise<unknown>): Promise<string[]> {
    const call = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, username));
    const titles: string[] = [];
    let done = false;
    until.then(
      () => (done = true),
      () => (done = true),
    );
    const add = async () => {
      const title = `${label} ${titles.length + 1}`;
      const res = await call('POST', '/tasks', { body: { title } });
      expect(res.status, res.text).toBe(201);
      titles.push(title);
    };
    while (!done) {
      await add();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await add();
    return titles;
  }

  it("shows on every device how many of the user's devices are live, never counting another user's, and drops one that signs out or closes", async () => {
    const user = uniqueUser('presence');
    const desktopContext = await newContext(DESKTOP);
    const desktop = await openSignedIn(desktopContext, shared.webUrl, user);
    await waitForDevices(desktop, 1);

    const phoneContext = await newContext(PHONE);
    const phone = await openSignedIn(phoneContext, shared.webUrl, user);
    await Promise.all([waitForDevices(desktop, 2), waitForDevices(phone, 2)]);

    // The explanation: keyboard on the desktop, a tap on the phone.
    const status = (page: Page) => page.getByRole('button', { name: /^Connection:/ });
    await screenshot(desktop, 'presence-desktop-2-devices');
    await expectAccessible(desktop, 'header with the device count');
    await status(desktop).focus();
    await desktop.keyboard.press('Enter');
    const help = desktop.getByTestId('status-help');
    await help.waitFor();
    expect(await help.textContent()).toContain('open on 2 devices');
    await expectAccessible(desktop, 'device count explained');
    await screenshot(desktop, 'presence-desktop-2-devices-explained');
    await desktop.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });

    await expectHeaderFits(phone);
    await screenshot(phone, 'presence-phone-2-devices');
    await expectAccessible(phone, 'phone header with the device count');
    await status(phone).tap();
    await phone.getByTestId('status-help').waitFor();
    expect(await phone.getByTestId('status-help').textContent()).toContain('open on 2 devices');
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await expectAccessible(phone, 'phone device count explained');
    await screenshot(phone, 'presence-phone-2-devices-explained');
    // A tap elsewhere closes it.
    await phone.getByRole('heading', { level: 1 }).tap();
    await phone.getByTestId('status-help').waitFor({ state: 'hidden' });

    // Another user's devices: theirs counted for them, and never for this user. The marker that
    // they were not counted here: this user's third device, which joins after them, makes 3, not 4 or 5.
    const stranger = uniqueUser('stranger');
    const strangerA = await openSignedIn(await newContext(), shared.webUrl, stranger);
    await waitForDevices(strangerA, 1);
    const strangerB = await openSignedIn(await newContext(), shared.webUrl, stranger);
    await Promise.all([waitForDevices(strangerA, 2), waitForDevices(strangerB, 2)]);
    const thirdContext = await newContext();
    const third = await openSignedIn(thirdContext, shared.webUrl, user);
    await Promise.all([waitForDevices(desktop, 3), waitForDevices(phone, 3), waitForDevices(third, 3)]);
    await expectHeaderFits(phone);
    await screenshot(phone, 'presence-phone-3-devices');
    // And the other way: the stranger's count, recounted when one of theirs leaves, is still theirs alone.
    await strangerB.context().close();
    await waitForDevices(strangerA, 1);

    // A device closed without signing out (its socket ends with the page).
    await thirdContext.close();
    await Promise.all([waitForDevices(desktop, 2), waitForDevices(phone, 2)]);

    // Signing out closes that tab's socket at once: the other device's count dropping is the proof.
    await phone.getByRole('button', { name: 'Sign out' }).tap();
    await phone.getByLabel('Username').waitFor();
    await waitForDevices(desktop, 1);
    await screenshot(desktop, 'presence-desktop-1-device');
    await expectAccessible(desktop, 'header with one device');
  });

  it('replaces the connection before its short-lived token expires, with a fresh token, and shows what another client added around the switch', async () => {
    const user = uniqueUser('expiring');
    // Long enough to outlive the page load (the local auth renews a token within 60 s of its
    // expiry), short enough that the dashboard must replace its connection within the test.
    const seeded = await getToken(shared.tokenUrl, user, 80);
    const { page, sockets } = await openWithToken(await newContext(), shared, user, seeded);
    const first = await connectionIdOf(page);
    // The first connection really used the short-lived token.
    expect(sockets[0]!.token).toBe(seeded);
    expect(await storedToken(page)).toBe(seeded);

    const switched = waitForNewConnection(page, first, 90_000);
    const titles = await writeAround(shared, user, 'Around the proactive switch', switched);
    await switched;

    for (const title of titles) await rowTitled(page, title).waitFor({ timeout: SYNC_TIMEOUT_MS });
    const fresh = await storedToken(page);
    expect(fresh).not.toBe(seeded);
    expect(expiresAt(fresh!)).toBeGreaterThan(expiresAt(seeded));
    expect(sockets.at(-1)!.token).toBe(fresh);
    // The old connection was closed by the client before its token expired (not by the server after).
    expect(sockets[0]!.closedAt).not.toBeNull();
    expect(sockets[0]!.closedAt!).toBeLessThan(expiresAt(seeded));
    expect(sockets[0]!.frames.some((f) => f.type === 'ERROR')).toBe(false);
    await screenshot(page, 'presence-after-token-switch');
  }, 150_000);

  describe('with a page clock 10 minutes behind the server and a 1 s heartbeat', () => {
    let own: RunningStack | undefined;

    beforeAll(async () => {
      own = await startLocalStack(['--no-web-build', '--poll-interval-ms', '50', '--heartbeat-ms', '1000']);
    }, STACK_START_MS);

    afterAll(async () => {
      await own?.stop();
    });

    it('reconnects at once with a fresh token when the server says TOKEN_EXPIRED, and shows what another client added around the switch', async () => {
      const stack = own!.info;
      const user = uniqueUser('expired');
      // 20 s: the page must load and connect with it before it expires, even on a loaded machine.
      const seeded = await getToken(stack.tokenUrl, user, 20);
      // By this page's clock the token has 10 more minutes: only the server knows when it expired.
      const { page, sockets } = await openWithToken(await newContext(), stack, user, seeded, Date.now() - 10 * 60_000);
      const first = await connectionIdOf(page);
      expect(sockets[0]!.token).toBe(seeded);

      const switched = waitForNewConnection(page, first, 60_000);
      const titles = await writeAround(stack, user, 'Around the server’s close', switched);
      await switched;

      for (const title of titles) await rowTitled(page, title).waitFor({ timeout: SYNC_TIMEOUT_MS });
      // The server refused the expired connection's next ping and closed it...
      expect(sockets[0]!.frames.filter((f) => f.type === 'ERROR').map((f) => (f as { code: string }).code)).toEqual([
        'TOKEN_EXPIRED',
      ]);
      expect(sockets[0]!.closedAt).not.toBeNull();
      // ...and the next connection came with a new token, though this page's clock called the old one valid.
      const fresh = await storedToken(page);
      expect(fresh).not.toBe(seeded);
      expect(sockets[1]!.token).toBe(fresh);
      expect(sockets).toHaveLength(2);
    }, 120_000);
  });
});
