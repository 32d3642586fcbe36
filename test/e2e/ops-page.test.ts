import { randomUUID } from 'node:crypto';
import { expect, inject, it } from 'vitest';
import type { Task } from '../../lambdas/contract.js';
import { apiClient, getToken, SocketClient } from '../support/clients.js';
import { describeBrowser, screenshot, useBrowser } from '../support/browser.js';
import '../support/stack-info.js';

const stack = inject('stack');

describeBrowser('local operations page', () => {
  const { browser } = useBrowser();

  it('draws live propagation lag, rates, sockets per user and DynamoDB Local status from the handlers\u2019 metrics', async () => {
    const page = await (await browser().newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(new URL('/_local/ops', stack.webUrl).href);
    await page
      .getByTestId('ops-updated')
      .filter({ hasText: /^updated / })
      .waitFor();

    // Traffic with a listener, so the broadcaster posts and records lags.
    const token = await getToken(stack.tokenUrl, `ops-${randomUUID()}`);
    const socket = await SocketClient.open(stack.wsUrl, token);
    socket.send({ action: 'hello' });
    await socket.next((f) => f.type === 'AUTH_SUCCESS');
    const api = apiClient(stack.apiUrl, token);
    const before = Number(await page.locator('#lag-count').textContent());
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await api<Task>('POST', '/tasks', { body: { title: `ops ${i}` } })).body.id);
    await socket.waitFor((c) => created.every((id) => c.events().some((e) => e.taskId === id)), 10_000);

    await page.waitForFunction((n) => Number(document.getElementById('lag-count')?.textContent) >= n + 5, before, {
      timeout: 10_000,
    });
    await expect.poll(async () => page.locator('#lag-p50').textContent()).toMatch(/^\d+$/);
    expect(await page.locator('#lag-histogram rect').count()).toBe(8);
    expect(Number(await page.locator('#sockets-open').textContent())).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#sockets-histogram rect').count()).toBe(5);
    expect(await page.locator('#ddb-status').textContent()).toBe('running');
    await screenshot(page, 'ops-page');
    await socket.close();
  });
});
