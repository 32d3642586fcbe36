import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { disconnectEvent, lambdaContext } from './fixtures/ws-events.js';

const ddb = mockClient(DynamoDBDocumentClient);
type Handler = typeof import('../../lambdas/ws-disconnect.js').handler;
let handler: Handler;
const context = lambdaContext('wsDisconnect');

beforeAll(async () => {
  vi.stubEnv('CONNECTIONS_TABLE', 'connections-test');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('../../lambdas/ws-disconnect.js'));
});

afterEach(() => {
  ddb.reset();
});

afterAll(() => {
  vi.unstubAllEnvs();
  ddb.restore();
});

describe('ws-disconnect', () => {
  it('deletes the connection row of the authorizer user', async () => {
    ddb.on(DeleteCommand).resolves({});

    const result = await handler(disconnectEvent({ userId: 'user-a', connectionId: 'conn-1' }), context);

    expect(result).toEqual({ statusCode: 200 });
    expect(ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input)).toEqual([
      { TableName: 'connections-test', Key: { userId: 'user-a', connectionId: 'conn-1' } },
    ]);
  });

  it('is idempotent: a second disconnect for the same row also answers 200', async () => {
    // DeleteItem on a missing key succeeds; no condition makes it fail.
    ddb.on(DeleteCommand).resolves({});
    const event = disconnectEvent({ userId: 'user-a', connectionId: 'conn-1' });

    const first = await handler(event, context);
    const second = await handler(structuredClone(event), context);

    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(2);
  });

  it('answers 200 without touching the table when no user was authorized', async () => {
    const result = await handler(disconnectEvent({ connectionId: 'conn-2' }), context);

    expect(result.statusCode).toBe(200);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('answers 500 "Internal error" when the row cannot be deleted (TTL removes it later)', async () => {
    ddb.on(DeleteCommand).rejects(new Error('connection reset'));

    const result = await handler(disconnectEvent({ userId: 'user-a', connectionId: 'conn-3' }), context);

    expect(result).toEqual({ statusCode: 500, body: 'Internal error' });
  });
});
