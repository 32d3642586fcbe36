import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LIMITS } from '../../lib/definitions.js';
import { connectEvent, lambdaContext } from './fixtures/ws-events.js';

const ddb = mockClient(DynamoDBDocumentClient);
type Handler = typeof import('../../lambdas/ws-connect.js').handler;
let handler: Handler;
const context = lambdaContext('wsConnect');

beforeAll(async () => {
  vi.stubEnv('CONNECTIONS_TABLE', 'connections-test');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('../../lambdas/ws-connect.js'));
});

afterEach(() => {
  ddb.reset();
  vi.useRealTimers();
});

afterAll(() => {
  vi.unstubAllEnvs();
  ddb.restore();
});

describe('ws-connect', () => {
  it('stores the connection under the authorizer user with a TTL past the 2-hour maximum', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = Date.UTC(2026, 10, 27, 10, 0, 0, 250);
    vi.setSystemTime(now);
    ddb.on(PutCommand).resolves({});

    const result = await handler(connectEvent({ userId: 'user-a', connectionId: 'conn-1' }), context);

    expect(result).toEqual({ statusCode: 200 });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input).toEqual({
      TableName: 'connections-test',
      Item: {
        userId: 'user-a',
        connectionId: 'conn-1',
        connectedAt: '2026-11-27T10:00:00.250Z',
        expiresAt: Math.floor(now / 1000) + LIMITS.connectionTtlSeconds,
      },
    });
  });

  it('records when the token expires, from the authorizer context (a string on AWS)', async () => {
    ddb.on(PutCommand).resolves({});
    const event = connectEvent({ userId: 'user-a', connectionId: 'conn-3' });
    event.requestContext.authorizer = { ...event.requestContext.authorizer, tokenExpiresAt: '1796298742' };

    await handler(event, context);

    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({ tokenExpiresAt: 1796298742 });
  });

  it('falls back to principalId when the authorizer context has no userId', async () => {
    ddb.on(PutCommand).resolves({});
    const event = connectEvent({ userId: 'user-b', connectionId: 'conn-2' });
    event.requestContext.authorizer = { principalId: 'user-b' };

    await handler(event, context);

    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({ userId: 'user-b' });
  });

  it('refuses the handshake with 401 and stores nothing when no user was authorized', async () => {
    const result = await handler(connectEvent({ connectionId: 'conn-3' }), context);

    expect(result.statusCode).toBe(401);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('answers 500 "Internal error" when the table cannot be written, without the SDK error', async () => {
    ddb.on(PutCommand).rejects(
      Object.assign(new Error('Throughput exceeded for table connections-test'), {
        name: 'ProvisionedThroughputExceededException',
      }),
    );

    const result = await handler(connectEvent({ userId: 'user-a', connectionId: 'conn-4' }), context);

    expect(result).toEqual({ statusCode: 500, body: 'Internal error' });
  });
});
