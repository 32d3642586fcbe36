import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import type { ConnectionStore } from '../../lambdas/connections/connection-store.js';
import { createManagementClient, createNotifier } from '../../lambdas/connections/notifier.js';
import { createBroadcaster } from '../../lambdas/events/broadcaster.js';
import { sequenceNumber, streamEvent, streamRecord, task } from './fixtures/stream-events.js';

/**
 * These tests run the real @connections client configuration (retries,
 * error deserialization) against a fake HTTP handler instead of the network,
 * because aws-sdk-client-mock replaces `send` and so skips the SDK's retries.
 */

interface FakeResponse {
  statusCode: number;
  errorType?: string;
}

function fakeHttp(responses: FakeResponse[]) {
  const requests: { method: string; path: string }[] = [];
  return {
    requests,
    handler: {
      async handle(request: { method: string; path: string }) {
        requests.push({ method: request.method, path: request.path });
        const { statusCode, errorType } = responses[Math.min(requests.length, responses.length) - 1]!;
        const body = statusCode === 200 ? '' : JSON.stringify({ message: errorType ?? 'error' });
        return {
          response: {
            statusCode,
            reason: '',
            headers: {
              'content-type': 'application/json',
              ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
            },
            body: Readable.from([Buffer.from(body)]),
          },
        };
      },
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
    },
  };
}

function notifierOver(responses: FakeResponse[]) {
  const http = fakeHttp(responses);
  const client = createManagementClient('https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod', {
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: http.handler,
  });
  return { http, notifier: createNotifier(client) };
}

const silent = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };

function storeWith(connectionIds: string[]) {
  return {
    listConnectionIds: vi.fn<ConnectionStore['listConnectionIds']>().mockResolvedValue(connectionIds),
    delete: vi.fn<ConnectionStore['delete']>().mockResolvedValue('deleted'),
  };
}

describe('broadcaster with the real @connections client', () => {
  it('posts to POST /{stage}/@connections/{connectionId} with the id URL-encoded', async () => {
    const { http, notifier } = notifierOver([{ statusCode: 200 }]);

    await expect(notifier.post('Gk4vRcFqIAMCJqQ=', '{"type":"PONG"}')).resolves.toBe('delivered');

    expect(http.requests).toEqual([{ method: 'POST', path: '/prod/@connections/Gk4vRcFqIAMCJqQ%3D' }]);
  });

  // The SDK backs off throttling by up to 1 s, then 2 s (random jitter): allow for the worst case.
  it('retries a throttled post and delivers it when a retry succeeds', { timeout: 10_000 }, async () => {
    const { http, notifier } = notifierOver([{ statusCode: 429, errorType: 'LimitExceededException' }, { statusCode: 200 }]);

    await expect(notifier.post('conn-1', '{}')).resolves.toBe('delivered');
    expect(http.requests).toHaveLength(2);
  });

  it('retries throttling three times in all, then reports the user’s first record', { timeout: 10_000 }, async () => {
    const { http, notifier } = notifierOver([{ statusCode: 429, errorType: 'LimitExceededException' }]);
    const broadcast = createBroadcaster({ connections: storeWith(['conn-1']), notifier, logger: silent });
    const records = [
      streamRecord({ eventName: 'INSERT', userId: 'user-a', task: task(), seq: 11 }),
      streamRecord({ eventName: 'INSERT', userId: 'user-a', task: task(), seq: 12 }),
    ];

    const result = await broadcast(streamEvent(records));

    expect(http.requests).toHaveLength(3);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(11) }]);
  });

  it('recognises 410 with x-amzn-ErrorType GoneException and deletes the row without retrying', async () => {
    const { http, notifier } = notifierOver([{ statusCode: 410, errorType: 'GoneException' }]);
    const store = storeWith(['conn-gone']);
    const broadcast = createBroadcaster({ connections: store, notifier, logger: silent });

    const result = await broadcast(streamEvent([streamRecord({ eventName: 'INSERT', userId: 'user-a', task: task(), seq: 1 })]));

    expect(http.requests).toHaveLength(1);
    expect(store.delete).toHaveBeenCalledWith('user-a', 'conn-gone', { connectedBefore: expect.any(String) });
    expect(result.batchItemFailures).toEqual([]);
  });
});
