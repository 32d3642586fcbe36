import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { BatchWriteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../lambdas/contract.js';
import { TABLES } from '../../lib/definitions.js';
import { apiClient, getToken, SocketClient } from '../support/clients.js';
import { startLocalStack, type RunningStack } from '../support/local-stack.js';
import { forge } from '../support/tokens.js';
import { connectionRows, directDb, failureLines, hello, until } from './helpers.js';

const RETRY_ATTEMPTS = 2;

let stack: RunningStack;
let db: DynamoDBDocumentClient;
const sockets: SocketClient[] = [];

beforeAll(async () => {
  stack = await startLocalStack(['--retry-attempts', String(RETRY_ATTEMPTS), '--poll-interval-ms', '50'], 90_000);
  db = directDb(stack.info);
});

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  db?.destroy();
  await stack?.stop();
});

async function stats(): Promise<{ websocket: { gone: number; posts: number } }> {
  return (await fetch(stack.info.statsUrl)).json() as Promise<{ websocket: { gone: number; posts: number } }>;
}

async function user(prefix: string) {
  const token = await getToken(stack.info.tokenUrl, `${prefix}-${ulid()}`);
  return { token, userId: forge.claims(token).sub as string, call: apiClient(stack.info.apiUrl, token) };
}

async function connect(token: string) {
  const client = await SocketClient.open(stack.info.wsUrl, token);
  sockets.push(client);
  const { connectionId } = await hello(client);
  return { client, connectionId };
}

function taskItem(userId: string, title: string) {
  const now = new Date().toISOString();
  return { userId, taskId: ulid(), title, description: '', completed: false, createdAt: now, updatedAt: now, version: 1 };
}

/** The stream sequence number of the (first) record of a task, read straight from DynamoDB Streams. */
async function sequenceNumberOf(taskId: string): Promise<bigint> {
  const config = {
    endpoint: stack.info.dynamodbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const tables = new DynamoDBClient(config);
  const streams = new DynamoDBStreamsClient(config);
  try {
    const streamArn = (await tables.send(new DescribeTableCommand({ TableName: TABLES.tasks.localName }))).Table!
      .LatestStreamArn!;
    const shards = (await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription!.Shards ?? [];
    for (const shard of shards) {
      let iterator = (
        await streams.send(
          new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
        )
      ).ShardIterator;
      while (iterator) {
        const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        const hit = page.Records?.find((r) => r.dynamodb?.Keys?.taskId?.S === taskId);
        if (hit) return BigInt(hit.dynamodb!.SequenceNumber!);
        if (!page.Records?.length) break;
        iterator = page.NextShardIterator;
      }
    }
    throw new Error(`no stream record for ${taskId}`);
  } finally {
    tables.destroy();
    streams.destroy();
  }
}

describe('a poison stream record', () => {
  it('is skipped to the on-failure destination after the retry limit while the rest of its batch and later batches are delivered', async () => {
    const { token, userId, call } = await user('poison');
    const { client } = await connect(token);
    const linesBefore = (await failureLines(stack.info.failureFile)).length;

    // One BatchWriteItem: the good records and the poison one reach the stream together (one batch).
    const before = taskItem(userId, 'before the poison');
    const poison = { userId, taskId: ulid(), version: 'not-a-number' };
    const after = taskItem(userId, 'after the poison');
    await db.send(
      new BatchWriteCommand({
        RequestItems: { [TABLES.tasks.localName]: [before, poison, after].map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
    await client.waitFor((c) => [before.taskId, after.taskId].every((id) => c.events().some((e) => e.taskId === id)), 15_000);

    const lines = await until(
      'the on-failure record',
      async () => {
        const all = await failureLines(stack.info.failureFile);
        return all.length > linesBefore && all.slice(linesBefore);
      },
      15_000,
    );
    // A later write is delivered: the shard moved past the poison record.
    const later = await call<Task>('POST', '/tasks', { body: { title: 'a later batch' } });
    await client.waitFor((c) => c.events().some((e) => e.taskId === later.body.id), 15_000);

    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: RETRY_ATTEMPTS + 1 },
      DDBStreamBatchInfo: { shardId: expect.any(String), streamArn: expect.stringContaining('table/tasks/stream') },
    });
    const poisonSeq = await sequenceNumberOf(poison.taskId);
    expect(BigInt(line!.DDBStreamBatchInfo.startSequenceNumber)).toBeLessThanOrEqual(poisonSeq);
    expect(BigInt(line!.DDBStreamBatchInfo.endSequenceNumber)).toBeGreaterThanOrEqual(poisonSeq);
    expect(client.events().some((e) => e.taskId === poison.taskId)).toBe(false);

    // At-least-once: records after the poison one in its batch are re-sent with every retry of it.
    const deliveries = (id: string) => client.events().filter((e) => e.taskId === id).length;
    expect(deliveries(before.taskId)).toBe(1);
    expect(deliveries(after.taskId)).toBeGreaterThanOrEqual(1);
    expect(deliveries(after.taskId)).toBeLessThanOrEqual(RETRY_ATTEMPTS + 1);
    expect(deliveries(later.body.id)).toBe(1);
    console.log(
      `[faults] poison record: on-failure batchSize ${line!.DDBStreamBatchInfo.batchSize}, ` +
        `approximateInvokeCount ${line!.requestContext.approximateInvokeCount}, ` +
        `the record after it delivered ${deliveries(after.taskId)} times (at-least-once), later batch delivered once`,
    );
  }, 60_000);
});

describe('clients dropped without a close frame', () => {
  it("lose their rows ($disconnect on the TCP close, or 410 on the next broadcast) while the user's live clients keep receiving", async () => {
    const { token, userId, call } = await user('dropped');
    const live = [await connect(token), await connect(token)];
    const dropped = [await connect(token), await connect(token)];
    // Rows of connections the gateway never told us about (the $disconnect was lost): only a 410 can clean them.
    const stale = [0, 1, 2].map((i) => `stale${i}${ulid().slice(-9)}=`);
    for (const connectionId of stale) {
      await db.send(
        new PutCommand({
          TableName: TABLES.connections.localName,
          // Connected a minute ago: past LIMITS.connectGraceSeconds, so a 410 means gone, not "still in its handshake".
          Item: {
            userId,
            connectionId,
            connectedAt: new Date(Date.now() - 60_000).toISOString(),
            expiresAt: Math.floor(Date.now() / 1000) + 3600,
          },
        }),
      );
    }
    expect((await connectionRows(db, userId)).length).toBe(7);
    const goneBefore = (await stats()).websocket.gone;

    // Cut the TCP connections: no close frame, no close handshake.
    for (const { client } of dropped) (client.socket as unknown as { _socket: { destroy(): void } })._socket.destroy();
    const task = await call<Task>('POST', '/tasks', { body: { title: 'after the drop' } });
    for (const { client } of live) await client.waitFor((c) => c.events().some((e) => e.taskId === task.body.id), 10_000);

    const liveIds = live.map((l) => l.connectionId).sort();
    const remaining = await until(
      'only the live rows to remain',
      async () => {
        const ids = (await connectionRows(db, userId)).map((r) => r.connectionId as string).sort();
        return JSON.stringify(ids) === JSON.stringify(liveIds) && ids;
      },
      10_000,
      200,
    );
    expect(remaining).toEqual(liveIds);
    // The stale rows went by the 410 path (the dropped ones by $disconnect, or by 410 if the post came first).
    const gone = (await stats()).websocket.gone - goneBefore;
    expect(gone).toBeGreaterThanOrEqual(stale.length);
    console.log(
      `[faults] dropped clients: 2 TCP-cut connections and 3 stale rows removed; @connections answered 410 ${gone} times; 2 live clients kept receiving`,
    );

    // And the live clients keep receiving.
    const next = await call<Task>('PATCH', `/tasks/${task.body.id}/complete`);
    for (const { client } of live) {
      await client.waitFor(
        (c) => c.events().some((e) => e.taskId === task.body.id && 'task' in e && e.task.version === next.body.version),
        10_000,
      );
    }
  }, 60_000);

  it('gets no posts once its row has expired, and TTL deletes the row', async () => {
    const { token, userId, call } = await user('ttl');
    const fresh = await connect(token);
    const expired = await connect(token);
    // The row of a connection whose TTL passed: the broadcaster's Query filters it out.
    const key = { userId, connectionId: expired.connectionId };
    const row = (await db.send(new GetCommand({ TableName: TABLES.connections.localName, Key: key }))).Item!;
    await db.send(
      new PutCommand({
        TableName: TABLES.connections.localName,
        Item: { ...row, expiresAt: Math.floor(Date.now() / 1000) - 60 },
      }),
    );

    const task = await call<Task>('POST', '/tasks', { body: { title: 'only for the fresh row' } });
    await fresh.client.waitFor((c) => c.events().some((e) => e.taskId === task.body.id), 10_000);
    // A second write: the broadcaster finishes a batch's posts before the next batch, so once the
    // fresh connection has this one, any post of the first to the expired row would have landed.
    const marker = await call<Task>('POST', '/tasks', { body: { title: 'marker' } });
    await fresh.client.waitFor((c) => c.events().some((e) => e.taskId === marker.body.id), 10_000);
    expect(expired.client.events()).toEqual([]);

    // And TTL deletes the row. DynamoDB Local sweeps within seconds; AWS may take days, which is why
    // the Query filters on expiresAt rather than trusting the deletion.
    const expiredAt = Date.now();
    await until(
      'TTL to delete the expired row',
      async () =>
        !(await db.send(new GetCommand({ TableName: TABLES.connections.localName, Key: key, ConsistentRead: true }))).Item,
      30_000,
      250,
    );
    console.log(
      `[faults] TTL: the expired row got no posts and DynamoDB Local's TTL deleted it ${Date.now() - expiredAt} ms after the check began`,
    );
  }, 60_000);
});
