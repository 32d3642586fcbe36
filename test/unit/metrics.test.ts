import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS } from '../../lib/definitions.js';
import { createConnectAuthorizer } from '../../lambdas/auth/connect-authorizer.js';
import { InvalidTokenError } from '../../lambdas/auth/jwt-verifier.js';
import { createBroadcaster } from '../../lambdas/events/broadcaster.js';
import { createMetrics, withMetrics, type MetricsRecorder } from '../../lambdas/shared/metrics.js';
import { createTasksApi } from '../../lambdas/tasks/api.js';
import { createDynamoTaskStore } from '../../lambdas/tasks/task-store.js';
import { httpEvent } from './fixtures/http-events.js';
import { streamEvent, streamRecord, task } from './fixtures/stream-events.js';

/** Collects what domain code records, by metric name. */
function recorder(): MetricsRecorder & { values: Record<string, number[]> } {
  const values: Record<string, number[]> = {};
  return {
    values,
    addMetric(name, _unit, value) {
      values[name] = [...(values[name] ?? []), value];
    },
  };
}

const quiet = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };

describe('broadcaster metrics', () => {
  it('records propagation lag per event per delivered connection, frames per connection, and batch counts', async () => {
    const metrics = recorder();
    const updatedAt = '2026-12-01T10:00:00.000Z';
    const broadcast = createBroadcaster({
      connections: {
        listConnectionIds: async (userId) => (userId === 'user-a' ? ['a1', 'a2', 'a-gone'] : ['b1']),
        delete: async () => 'deleted' as const,
      },
      notifier: {
        post: async (connectionId) =>
          connectionId === 'a-gone' ? 'gone' : connectionId === 'b1' ? Promise.reject(new Error('down')) : 'delivered',
      },
      logger: quiet,
      metrics,
      now: () => Date.parse(updatedAt) + 250,
    });
    const records = [
      streamRecord({
        eventName: 'INSERT',
        userId: 'user-a',
        task: task({ id: '01JDZ3V8Q6T3N4W0F2H7K9M5P1', updatedAt }),
        seq: 1,
      }),
      streamRecord({
        eventName: 'INSERT',
        userId: 'user-a',
        task: task({ id: '01JDZ3V8Q6T3N4W0F2H7K9M5P2', updatedAt }),
        seq: 2,
      }),
      streamRecord({
        eventName: 'INSERT',
        userId: 'user-b',
        task: task({ id: '01JDZ3V8Q6T3N4W0F2H7K9M5P3', updatedAt }),
        seq: 3,
      }),
    ];

    await broadcast(streamEvent(records));

    // Two events of user-a delivered to two live connections: four lag values of 250 ms.
    expect(metrics.values[METRICS.propagationLag]).toEqual([250, 250, 250, 250]);
    expect(metrics.values[METRICS.framesPerConnection]).toEqual([1, 1]);
    expect(metrics.values[METRICS.recordsPerBatch]).toEqual([3]);
    expect(metrics.values[METRICS.usersPerBatch]).toEqual([2]);
    expect(metrics.values[METRICS.postsDelivered]).toEqual([2]);
    expect(metrics.values[METRICS.postsGone]).toEqual([1]);
    expect(metrics.values[METRICS.postsFailed]).toEqual([1]);
  });
});

describe('tasks API metrics', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterEach(() => ddb.reset());
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  );
  const changeLog = { record: async () => undefined, read: vi.fn(), hasAfter: vi.fn() };
  const api = (metrics: MetricsRecorder) =>
    createTasksApi({
      store: createDynamoTaskStore(client, { tableName: 'tasks', changeLog, retentionSeconds: 86_400 }),
      changeLog,
      logger: quiet,
      metrics,
    });

  it('counts successful writes, and 412s apart from them', async () => {
    const metrics = recorder();
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).rejects(
      Object.assign(new Error('The conditional request failed'), {
        name: 'ConditionalCheckFailedException',
        Item: {
          userId: { S: 'u' },
          taskId: { S: '01JDZ3V8Q6T3N4W0F2H7K9M5PX' },
          title: { S: 't' },
          description: { S: '' },
          completed: { BOOL: false },
          createdAt: { S: '2026-12-01T10:00:00.000Z' },
          updatedAt: { S: '2026-12-01T10:00:00.000Z' },
          version: { N: '2' },
        },
      }),
    );

    await api(metrics)(httpEvent({ routeKey: 'POST /tasks', body: { title: 'one' } }));
    await api(metrics)(httpEvent({ routeKey: 'POST /tasks', body: { title: 'two' } }));
    const stale = await api(metrics)(
      httpEvent({
        routeKey: 'PUT /tasks/{id}',
        pathParameters: { id: '01JDZ3V8Q6T3N4W0F2H7K9M5PX' },
        body: { title: 'x' },
        headers: { 'if-match': '"1"' },
      }),
    );

    expect(stale.statusCode).toBe(412);
    expect(metrics.values[METRICS.taskWrites]).toEqual([1, 1]);
    expect(metrics.values[METRICS.preconditionFailed]).toEqual([1]);
    expect(metrics.values[METRICS.conflicts]).toBeUndefined();
  });
});

describe('authorizer metrics', () => {
  it('counts each refused handshake', async () => {
    const metrics = recorder();
    const authorize = createConnectAuthorizer({
      verifier: { verify: async () => Promise.reject(new InvalidTokenError('expired')) },
      logger: quiet,
      metrics,
    });
    const event = { type: 'REQUEST', methodArn: 'arn', queryStringParameters: { token: 'x' } } as never;

    await expect(authorize(event)).rejects.toThrow('Unauthorized');
    await expect(authorize({ ...(event as object), queryStringParameters: {} } as never)).rejects.toThrow('Unauthorized');

    expect(metrics.values[METRICS.authorizerRefusals]).toEqual([1, 1]);
  });
});

describe('embedded metric format', () => {
  it('flushes one EMF line per invocation in the TaskSync namespace with only the service dimension, cold start first', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    // Lambda sets this; Powertools counts a cold start only for on-demand environments.
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const metrics = createMetrics('tasks-api');
      await withMetrics(metrics, async () => metrics.addMetric(METRICS.taskWrites, 'Count', 1));
      await withMetrics(metrics, async () => metrics.addMetric(METRICS.taskWrites, 'Count', 1));
    } finally {
      write.mockRestore();
      vi.unstubAllEnvs();
    }
    const emf = lines
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
    const names = emf.map((doc) => doc._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name));
    expect(names).toEqual([[METRICS.coldStart], [METRICS.taskWrites], [METRICS.taskWrites]]);
    for (const doc of emf) {
      expect(doc._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS.namespace);
      const dimensions = doc._aws.CloudWatchMetrics[0].Dimensions.flat();
      expect(dimensions.every((d: string) => d === 'service' || d === 'function_name')).toBe(true);
    }
  });
});
