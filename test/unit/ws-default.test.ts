import { describe, expect, it } from 'vitest';
import { handler } from '../../lambdas/ws-default.js';
import type { ServerFrame } from '../../lambdas/contract.js';
import { messageEvent } from './fixtures/ws-events.js';

async function answer(body: string, opts: Parameters<typeof messageEvent>[1] = { userId: 'user-a' }) {
  const result = await handler(messageEvent(body, { connectionId: 'conn-1', ...opts }));
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body ?? 'null') as ServerFrame;
}

describe('ws-default', () => {
  it('answers hello with AUTH_SUCCESS naming the authorized user and the connection', async () => {
    expect(await answer('{"action":"hello"}')).toEqual({
      type: 'AUTH_SUCCESS',
      userId: 'user-a',
      connectionId: 'conn-1',
    });
  });

  it('answers ping with PONG', async () => {
    expect(await answer('{"action":"ping"}')).toEqual({ type: 'PONG' });
  });

  it('reads a base64-encoded message', async () => {
    const body = Buffer.from('{"action":"ping"}').toString('base64');

    expect(await answer(body, { userId: 'user-a', isBase64Encoded: true })).toEqual({ type: 'PONG' });
  });

  it.each([
    ['text that is not JSON', 'hello'],
    ['an empty message', ''],
    ['a JSON array', '[{"action":"ping"}]'],
    ['a JSON string', '"ping"'],
    ['JSON null', 'null'],
    ['an object without action', '{"type":"ping"}'],
    ['an unknown action', '{"action":"subscribe"}'],
    ['a non-string action', '{"action":7}'],
  ])('answers %s with ERROR BAD_REQUEST', async (_label, body) => {
    const frame = await answer(body);

    expect(frame).toMatchObject({ type: 'ERROR', code: 'BAD_REQUEST' });
    expect((frame as { message: string }).message).toEqual(expect.any(String));
  });

  it('names the unknown action in the error message', async () => {
    expect(await answer('{"action":"subscribe"}')).toMatchObject({ message: expect.stringContaining('"subscribe"') });
  });

  it('does not take the user id from the message body', async () => {
    expect(await answer('{"action":"hello","userId":"mallory"}')).toMatchObject({ userId: 'user-a' });
  });
});
