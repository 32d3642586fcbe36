import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CHANGE_FEED } from '../../lib/definitions.js';
import {
  handleDefaultRoute,
  TOKEN_EXPIRED_MESSAGE,
  type DefaultRouteDeps,
  type HeartbeatDeps,
} from '../../lambdas/connections/client-messages.js';
import type { ServerFrame } from '../../lambdas/contract.js';
import { changeKey, WINDOW_MS } from '../../lambdas/tasks/change-feed.js';
import { encodeSyncToken } from '../../lambdas/tasks/sync-token.js';
import { messageEvent } from './fixtures/ws-events.js';

const NOW = Date.parse('2026-12-01T10:00:00.000Z');
const RETENTION_SECONDS = 30 * 86_400;
const hasAfter = vi.fn<HeartbeatDeps['changeLog']['hasAfter']>();
const onError = vi.fn();
const heartbeat: HeartbeatDeps = {
  changeLog: { hasAfter },
  retentionSeconds: RETENTION_SECONDS,
  now: () => new Date(NOW),
  onError,
};

afterEach(() => {
  vi.clearAllMocks();
});

type Handler = (event: ReturnType<typeof messageEvent>) => Promise<{ statusCode: number; body?: string }>;
let handler: Handler = (event) => handleDefaultRoute(event, { heartbeat });

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
      devices: 1,
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

  describe('ping with since (the heartbeat of the change feed)', () => {
    const token = (userId: string, since: number) => encodeSyncToken(userId, { since, after: '', passEnd: 0 });

    it('answers behind: true when the user has entries after the token, asking from the token\u2019s first key', async () => {
      hasAfter.mockResolvedValueOnce(true);
      const since = NOW - 60_000;
      expect(await answer(JSON.stringify({ action: 'ping', since: token('user-a', since) }))).toEqual({
        type: 'PONG',
        behind: true,
      });
      expect(hasAfter).toHaveBeenCalledWith('user-a', { exclusiveStart: expect.any(String) });
      const start = hasAfter.mock.calls[0]![1].exclusiveStart;
      expect(changeKey(since, 'A') > start && changeKey(since - 1, 'Z') < start).toBe(true);
    });

    it('answers behind: false when nothing follows the token', async () => {
      hasAfter.mockResolvedValueOnce(false);
      expect(await answer(JSON.stringify({ action: 'ping', since: token('user-a', NOW - WINDOW_MS) }))).toEqual({
        type: 'PONG',
        behind: false,
      });
    });

    it('answers behind: true without a read for a token past the retention, so the pull gets 410', async () => {
      const old = NOW - RETENTION_SECONDS * 1000 - 1;
      expect(await answer(JSON.stringify({ action: 'ping', since: token('user-a', old) }))).toEqual({
        type: 'PONG',
        behind: true,
      });
      expect(hasAfter).not.toHaveBeenCalled();
    });

    it('answers behind: true when the feed cannot be read, and reports the error', async () => {
      hasAfter.mockRejectedValueOnce(new Error('DynamoDB is down'));
      expect(await answer(JSON.stringify({ action: 'ping', since: token('user-a', NOW) }))).toEqual({
        type: 'PONG',
        behind: true,
      });
      expect(onError).toHaveBeenCalledTimes(1);
    });

    it.each([
      ['garbage', 'not-a-token'],
      ['another user\u2019s token', token('user-b', NOW)],
      ['a number', 42],
      ['an empty string', ''],
    ])('answers %s as since with ERROR BAD_REQUEST and reads nothing', async (_label, since) => {
      const frame = await answer(JSON.stringify({ action: 'ping', since }));
      expect(frame).toMatchObject({ type: 'ERROR', code: 'BAD_REQUEST' });
      expect(hasAfter).not.toHaveBeenCalled();
    });
  });

  describe('devices and token expiry', () => {
    const listConnectionIds = vi.fn<(userId: string) => Promise<string[]>>();
    const post = vi.fn<NonNullable<DefaultRouteDeps['notifier']>['post']>();
    const close = vi.fn<NonNullable<DefaultRouteDeps['notifier']>['close']>();
    const reportError = vi.fn();
    const EXP = Math.floor(NOW / 1000) + 60;
    const deps = (nowMs: number): DefaultRouteDeps => ({
      heartbeat,
      connections: { listConnectionIds },
      notifier: { post, close },
      now: () => nowMs,
      onError: reportError,
    });
    const event = (body: string, tokenExpiresAt: string | number | null = String(EXP)) => {
      const e = messageEvent(body, { connectionId: 'conn-1', userId: 'user-a' });
      if (tokenExpiresAt !== null) e.requestContext.authorizer = { ...e.requestContext.authorizer, tokenExpiresAt };
      return e;
    };

    it('counts the user\u2019s live connections in AUTH_SUCCESS', async () => {
      listConnectionIds.mockResolvedValueOnce(['conn-1', 'conn-2', 'conn-3']);
      const result = await handleDefaultRoute(event('{"action":"hello"}'), deps(NOW));
      expect(JSON.parse(result.body ?? '')).toMatchObject({ type: 'AUTH_SUCCESS', devices: 3 });
      expect(listConnectionIds).toHaveBeenCalledWith('user-a');
    });

    it('says 1 device, and reports the error, when the connections cannot be read', async () => {
      listConnectionIds.mockRejectedValueOnce(new Error('throttled'));
      const result = await handleDefaultRoute(event('{"action":"hello"}'), deps(NOW));
      expect(JSON.parse(result.body ?? '')).toMatchObject({ type: 'AUTH_SUCCESS', devices: 1 });
      expect(reportError).toHaveBeenCalledOnce();
    });

    it('answers normally up to the last second before exp', async () => {
      const result = await handleDefaultRoute(event('{"action":"ping"}'), deps(EXP * 1000 - 1));
      expect(JSON.parse(result.body ?? '')).toEqual({ type: 'PONG' });
      expect(close).not.toHaveBeenCalled();
    });

    it.each([
      ['ping', '{"action":"ping"}'],
      ['hello', '{"action":"hello"}'],
      ['a bad message', 'nonsense'],
    ])('after exp, answers %s with ERROR TOKEN_EXPIRED and closes the connection', async (_label, body) => {
      post.mockResolvedValueOnce('delivered');
      close.mockResolvedValueOnce('closed');
      const result = await handleDefaultRoute(event(body, EXP), deps(EXP * 1000));
      expect(result).toEqual({ statusCode: 200 });
      expect(post).toHaveBeenCalledWith(
        'conn-1',
        JSON.stringify({ type: 'ERROR', code: 'TOKEN_EXPIRED', message: TOKEN_EXPIRED_MESSAGE }),
      );
      expect(close).toHaveBeenCalledWith('conn-1');
      expect(post.mock.invocationCallOrder[0]).toBeLessThan(close.mock.invocationCallOrder[0] ?? 0);
      expect(listConnectionIds).not.toHaveBeenCalled();
    });

    it('does not close a connection that is already gone, and survives a failed close', async () => {
      post.mockResolvedValueOnce('gone');
      await handleDefaultRoute(event('{"action":"ping"}'), deps(EXP * 1000 + 5));
      expect(close).not.toHaveBeenCalled();

      post.mockResolvedValueOnce('delivered');
      close.mockRejectedValueOnce(new Error('throttled'));
      expect(await handleDefaultRoute(event('{"action":"ping"}'), deps(EXP * 1000 + 5))).toEqual({ statusCode: 200 });
      expect(reportError).toHaveBeenCalledWith('Could not close a connection whose token expired', expect.any(Error));
    });

    it('without a notifier, still refuses with the TOKEN_EXPIRED frame as the route response', async () => {
      const result = await handleDefaultRoute(event('{"action":"ping"}'), { heartbeat, now: () => EXP * 1000 });
      expect(JSON.parse(result.body ?? '')).toMatchObject({ type: 'ERROR', code: 'TOKEN_EXPIRED' });
    });

    it('enforces nothing when the authorizer context has no expiry', async () => {
      const result = await handleDefaultRoute(event('{"action":"ping"}', null), deps(EXP * 1000 * 2));
      expect(JSON.parse(result.body ?? '')).toEqual({ type: 'PONG' });
    });
  });

  describe('the deployed handler file', () => {
    beforeAll(async () => {
      vi.stubEnv('CONNECTIONS_TABLE', 'connections');
      vi.stubEnv('WS_MANAGEMENT_ENDPOINT', 'https://abc.execute-api.us-east-1.amazonaws.com/prod');
      vi.stubEnv('CHANGES_TABLE', 'changes');
      vi.stubEnv('CHANGE_RETENTION_SECONDS', String(CHANGE_FEED.minRetentionSeconds));
      handler = (await import('../../lambdas/ws-default.js')).handler;
    });

    it('answers ping without since from its own module, no store involved', async () => {
      expect(await answer('{"action":"ping"}')).toEqual({ type: 'PONG' });
    });
  });
});
