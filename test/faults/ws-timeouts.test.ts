import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getToken, SocketClient } from '../support/clients.js';
import { startLocalStack, type RunningStack } from '../support/local-stack.js';
import { forge } from '../support/tokens.js';
import { connectionRows, directDb, hello, until } from './helpers.js';

// Shortened from API Gateway's 10 minutes and 2 hours.
const IDLE_MS = 1_500;
const MAX_DURATION_MS = 4_000;

let stack: RunningStack;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  stack = await startLocalStack(
    ['--ws-idle-timeout-ms', String(IDLE_MS), '--ws-max-duration-ms', String(MAX_DURATION_MS)],
    90_000,
  );
  db = directDb(stack.info);
});

afterAll(async () => {
  db?.destroy();
  await stack?.stop();
});

/** Resolves with the close code and when it came. */
function closed(client: SocketClient): Promise<{ code: number; at: number }> {
  return new Promise((resolve) => client.socket.once('close', (code) => resolve({ code, at: Date.now() })));
}

describe('WebSocket timeouts (shortened)', () => {
  it('closes an idle connection with 1001 and runs $disconnect, which removes its row', async () => {
    const token = await getToken(stack.info.tokenUrl, `idle-${ulid()}`);
    const userId = forge.claims(token).sub as string;
    const client = await SocketClient.open(stack.info.wsUrl, token);
    const closing = closed(client);
    // The server's last activity is when hello arrived, which is after this.
    const lastActive = Date.now();
    const { connectionId } = await hello(client);
    expect((await connectionRows(db, userId)).map((r) => r.connectionId)).toEqual([connectionId]);

    const { code, at } = await closing;

    expect(code).toBe(1001);
    // Not before the idle timeout (the sweep may add up to a quarter of it, plus a loaded machine's lag).
    expect(at - lastActive).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(at - lastActive).toBeLessThan(IDLE_MS + 3_000);
    await until('the row to go', async () => (await connectionRows(db, userId)).length === 0, 10_000);
    console.log(`[faults] idle timeout ${IDLE_MS} ms: closed 1001 after ${at - lastActive} ms idle, row removed`);
  });

  it('closes a busy connection with 1001 at the maximum duration and removes its row', async () => {
    const token = await getToken(stack.info.tokenUrl, `maxdur-${ulid()}`);
    const userId = forge.claims(token).sub as string;
    const openedAt = Date.now();
    const client = await SocketClient.open(stack.info.wsUrl, token);
    const closing = closed(client);
    await hello(client);
    // Pings keep it from ever being idle: only the maximum duration can end it.
    const pinger = setInterval(() => {
      if (client.socket.readyState === client.socket.OPEN) client.send({ action: 'ping' });
    }, IDLE_MS / 5);

    const { code, at } = await closing.finally(() => clearInterval(pinger));

    expect(code).toBe(1001);
    expect(at - openedAt).toBeGreaterThanOrEqual(MAX_DURATION_MS - 50);
    expect(at - openedAt).toBeLessThan(MAX_DURATION_MS + 3_000);
    expect(client.frames.filter((f) => f.type === 'PONG').length).toBeGreaterThan(5);
    await until('the row to go', async () => (await connectionRows(db, userId)).length === 0, 10_000);
    console.log(
      `[faults] maximum duration ${MAX_DURATION_MS} ms: closed 1001 after ${at - openedAt} ms despite pings, row removed`,
    );
  });
});
