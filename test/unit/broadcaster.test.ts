import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  ApiGatewayManagementApiClient,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LIMITS } from '../../lib/definitions.js';
import type { BatchFrame, TaskEvent } from '../../lambdas/contract.js';
import { sequenceNumber, streamEvent, streamRecord, task } from './fixtures/stream-events.js';
import { lambdaContext } from './fixtures/ws-events.js';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
type Handler = typeof import('../../lambdas/broadcaster.js').handler;
let handler: Handler;
const context = lambdaContext('broadcaster');

beforeAll(async () => {
  vi.stubEnv('CONNECTIONS_TABLE', 'connections-test');
  vi.stubEnv('WS_MANAGEMENT_ENDPOINT', 'https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('../../lambdas/broadcaster.js'));
});

afterEach(() => {
  ddb.reset();
  api.reset();
});

afterAll(() => {
  vi.unstubAllEnvs();
  ddb.restore();
  api.restore();
});

/** The Connections table as the Query sees it: user → connection ids. */
function givenConnections(table: Record<string, string[]>): void {
  ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const userId = input.ExpressionAttributeValues?.[':userId'] as string;
    return { Items: (table[userId] ?? []).map((connectionId) => ({ connectionId })) };
  });
  ddb.on(DeleteCommand).resolves({});
}

const gone = () => new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } });
const throttled = () => new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });

interface Post {
  connectionId: string;
  frame: TaskEvent | BatchFrame;
  bytes: number;
}

function posts(): Post[] {
  return api.commandCalls(PostToConnectionCommand).map((call) => {
    const data = call.args[0].input.Data as string;
    return {
      connectionId: call.args[0].input.ConnectionId as string,
      frame: JSON.parse(data) as TaskEvent | BatchFrame,
      bytes: Buffer.byteLength(data),
    };
  });
}

function postsTo(connectionId: string): Post[] {
  return posts().filter((post) => post.connectionId === connectionId);
}

const eventIdsOf = (frames: Post[]): string[] =>
  frames.flatMap(({ frame }) => (frame.type === 'BATCH' ? frame.events : [frame])).map((event) => event.eventId);

const queriedUsers = () =>
  ddb.commandCalls(QueryCommand).map((call) => call.args[0].input.ExpressionAttributeValues?.[':userId']);

const insert = (userId: string, seq: number): DynamoDBRecord => streamRecord({ eventName: 'INSERT', userId, task: task(), seq });

/** A record that names no user: the kind of record no retry can fix. */
function poison(seq: number): DynamoDBRecord {
  const record = insert('user-x', seq);
  delete record.dynamodb!.Keys!.userId;
  return record;
}

describe('broadcaster', () => {
  it('sends a single change to every connection of its user as the event itself', async () => {
    givenConnections({ 'user-a': ['a-1', 'a-2'], 'user-b': ['b-1'] });
    api.on(PostToConnectionCommand).resolves({});
    const created = task({ title: 'Buy milk' });
    const record = streamRecord({ eventName: 'INSERT', userId: 'user-a', task: created, seq: 1 });

    const result = await handler(streamEvent([record]), context);

    expect(result).toEqual({ batchItemFailures: [] });
    expect(
      posts()
        .map((post) => post.connectionId)
        .sort(),
    ).toEqual(['a-1', 'a-2']);
    expect(postsTo('a-1')[0]!.frame).toEqual({
      type: 'TASK_CREATED',
      eventId: record.eventID,
      at: created.updatedAt,
      taskId: created.id,
      task: created,
    });
  });

  it('queries once per user and posts once per connection: 100 records, 5 users × 3 connections', async () => {
    const users = ['u-0', 'u-1', 'u-2', 'u-3', 'u-4'];
    givenConnections(Object.fromEntries(users.map((user) => [user, [`${user}-c0`, `${user}-c1`, `${user}-c2`]])));
    api.on(PostToConnectionCommand).resolves({});
    const kinds = ['INSERT', 'MODIFY', 'REMOVE'] as const;
    const records = Array.from({ length: 100 }, (_, seq) =>
      streamRecord({ eventName: kinds[seq % 3]!, userId: users[seq % 5]!, task: task({ version: 2 }), seq }),
    );

    const result = await handler(streamEvent(records), context);

    expect(result.batchItemFailures).toEqual([]);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(5);
    expect(queriedUsers().sort()).toEqual(users);
    expect(posts()).toHaveLength(15);
    for (const user of users) {
      const expected = records.filter((_, seq) => seq % 5 === users.indexOf(user)).map((r) => r.eventID);
      for (const connectionId of [`${user}-c0`, `${user}-c1`, `${user}-c2`]) {
        const frames = postsTo(connectionId);
        expect(frames).toHaveLength(1);
        expect(frames[0]!.frame.type).toBe('BATCH');
        expect(eventIdsOf(frames)).toEqual(expected);
      }
    }
  });

  it('coalesces a user’s events into one BATCH frame in stream order, apart from other users', async () => {
    givenConnections({ 'user-a': ['a-1'], 'user-b': ['b-1'] });
    api.on(PostToConnectionCommand).resolves({});
    const shared = task();
    const records = [
      streamRecord({ eventName: 'INSERT', userId: 'user-a', task: shared, seq: 1 }),
      insert('user-b', 2),
      streamRecord({ eventName: 'MODIFY', userId: 'user-a', task: { ...shared, version: 2 }, seq: 3 }),
      streamRecord({ eventName: 'REMOVE', userId: 'user-a', task: shared, seq: 4 }),
    ];

    await handler(streamEvent(records), context);

    const toA = postsTo('a-1');
    expect(toA).toHaveLength(1);
    expect(toA[0]!.frame).toMatchObject({
      type: 'BATCH',
      events: [{ type: 'TASK_CREATED' }, { type: 'TASK_UPDATED' }, { type: 'TASK_DELETED' }],
    });
    expect(eventIdsOf(toA)).toEqual([records[0]!.eventID, records[2]!.eventID, records[3]!.eventID]);
    expect(postsTo('b-1').map((post) => post.frame.type)).toEqual(['TASK_CREATED']);
  });

  it('splits a BATCH over 32 KB into several frames sent one after the other, in order', async () => {
    givenConnections({ 'user-a': ['a-1'] });
    let inFlight = 0;
    let overlapped = false;
    api.on(PostToConnectionCommand).callsFake(async () => {
      inFlight += 1;
      if (inFlight > 1) overlapped = true;
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight -= 1;
      return {};
    });
    const description = 'ü'.repeat(LIMITS.descriptionMaxChars);
    const records = Array.from({ length: 20 }, (_, seq) =>
      streamRecord({ eventName: 'INSERT', userId: 'user-a', task: task({ description }), seq }),
    );

    const result = await handler(streamEvent(records), context);

    expect(result.batchItemFailures).toEqual([]);
    const frames = postsTo('a-1');
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(frame.bytes).toBeLessThanOrEqual(LIMITS.batchFrameMaxBytes);
    expect(eventIdsOf(frames)).toEqual(records.map((record) => record.eventID));
    expect(overlapped).toBe(false);
  });

  it('deletes a connection that answers 410 Gone, unless it may still be in its handshake, and still posts to the others', async () => {
    givenConnections({ 'user-a': ['a-1', 'a-2', 'a-3'], 'user-b': ['b-1'] });
    api.on(PostToConnectionCommand).resolves({});
    api.on(PostToConnectionCommand, { ConnectionId: 'a-2' }).rejects(gone());
    const before = Date.now();

    const result = await handler(streamEvent([insert('user-a', 1), insert('user-b', 2)]), context);

    expect(result.batchItemFailures).toEqual([]);
    const deletes = ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input);
    expect(deletes).toEqual([
      {
        TableName: 'connections-test',
        Key: { userId: 'user-a', connectionId: 'a-2' },
        ConditionExpression: 'attribute_not_exists(#connectedAt) OR #connectedAt < :before',
        ExpressionAttributeNames: { '#connectedAt': 'connectedAt' },
        ExpressionAttributeValues: { ':before': expect.any(String) },
      },
    ]);
    // Only rows that connected more than the handshake's longest duration ago: the cutoff is
    // "now − grace" at the time of the delete, which happened between `before` and `after`.
    const after = Date.now();
    const cutoff = Date.parse(deletes[0]!.ExpressionAttributeValues![':before'] as string);
    expect(cutoff).toBeGreaterThanOrEqual(before - LIMITS.connectGraceSeconds * 1000);
    expect(cutoff).toBeLessThanOrEqual(after - LIMITS.connectGraceSeconds * 1000);
    expect(
      posts()
        .map((post) => post.connectionId)
        .sort(),
    ).toEqual(['a-1', 'a-2', 'a-3', 'b-1']);
  });

  it('keeps the row of a connection younger than the handshake grace (the condition fails), without failing the batch', async () => {
    givenConnections({ 'user-a': ['a-1'] });
    ddb
      .on(DeleteCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    api.on(PostToConnectionCommand).rejects(gone());

    const result = await handler(streamEvent([insert('user-a', 1)]), context);

    expect(result.batchItemFailures).toEqual([]);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(1);
  });

  it('does not fail the batch when a gone connection cannot be deleted (its TTL removes it)', async () => {
    givenConnections({ 'user-a': ['a-1'] });
    ddb.on(DeleteCommand).rejects(new Error('throttled'));
    api.on(PostToConnectionCommand).rejects(gone());

    const result = await handler(streamEvent([insert('user-a', 1)]), context);

    expect(result.batchItemFailures).toEqual([]);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(1);
  });

  it('reports the first record of a user whose post still fails after retries, and only that user', async () => {
    givenConnections({ 'user-a': ['a-1'], 'user-b': ['b-1', 'b-2'] });
    api.on(PostToConnectionCommand).resolves({});
    api.on(PostToConnectionCommand, { ConnectionId: 'b-2' }).rejects(throttled());
    const records = [insert('user-a', 1), insert('user-b', 2), insert('user-a', 3), insert('user-b', 4)];

    const result = await handler(streamEvent(records), context);

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: sequenceNumber(2) }] });
    expect(eventIdsOf(postsTo('a-1'))).toEqual([records[0]!.eventID, records[2]!.eventID]);
    expect(postsTo('b-1')).toHaveLength(1);
  });

  it('reports a 5xx post failure the same way as throttling', async () => {
    givenConnections({ 'user-a': ['a-1'] });
    const serverError = Object.assign(new Error('Internal server error'), {
      name: 'InternalServerErrorException',
      $metadata: { httpStatusCode: 500 },
    });
    api.on(PostToConnectionCommand).rejects(serverError);

    const result = await handler(streamEvent([insert('user-a', 7), insert('user-a', 8)]), context);

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(7) }]);
  });

  it('reports the first record of a user whose connections cannot be read, and posts to the others', async () => {
    givenConnections({ 'user-a': ['a-1'] });
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':userId': 'user-b' } })
      .rejects(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));
    api.on(PostToConnectionCommand).resolves({});

    const result = await handler(streamEvent([insert('user-a', 1), insert('user-b', 2), insert('user-b', 3)]), context);

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(2) }]);
    expect(posts().map((post) => post.connectionId)).toEqual(['a-1']);
  });

  it('reports a poison record by its SequenceNumber without holding back other records', async () => {
    givenConnections({ 'user-a': ['a-1'], 'user-b': ['b-1'] });
    api.on(PostToConnectionCommand).resolves({});
    const records = [insert('user-a', 1), poison(2), insert('user-b', 3), insert('user-a', 4)];

    const result = await handler(streamEvent(records), context);

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(2) }]);
    expect(eventIdsOf(postsTo('a-1'))).toEqual([records[0]!.eventID, records[3]!.eventID]);
    expect(eventIdsOf(postsTo('b-1'))).toEqual([records[2]!.eventID]);
  });

  it('returns failures in stream order', async () => {
    givenConnections({ 'user-a': ['a-1'], 'user-b': ['b-1'] });
    api.on(PostToConnectionCommand).resolves({});
    api.on(PostToConnectionCommand, { ConnectionId: 'b-1' }).rejects(throttled());
    // Poison records are found while parsing, user-b's failure only after posting.
    const records = [poison(1), insert('user-a', 2), poison(3), insert('user-b', 4), insert('user-b', 5), poison(6)];

    const result = await handler(streamEvent(records), context);

    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([1, 3, 4, 6].map(sequenceNumber));
  });

  it('follows LastEvaluatedKey so a user with many connections gets every one of them', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [{ connectionId: 'a-1' }, { connectionId: 'a-2' }],
        LastEvaluatedKey: { userId: 'user-a', connectionId: 'a-2' },
      })
      .resolvesOnce({ Items: [{ connectionId: 'a-3' }] });
    api.on(PostToConnectionCommand).resolves({});

    await handler(streamEvent([insert('user-a', 1)]), context);

    const pages = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input.ExclusiveStartKey);
    expect(pages).toEqual([undefined, { userId: 'user-a', connectionId: 'a-2' }]);
    expect(posts().map((post) => post.connectionId)).toEqual(['a-1', 'a-2', 'a-3']);
  });

  it('reads only the live connections of the user (row and token not expired), with a key condition on userId', async () => {
    givenConnections({ 'user-a': ['a-1'] });
    api.on(PostToConnectionCommand).resolves({});
    const before = Math.floor(Date.now() / 1000);

    await handler(streamEvent([insert('user-a', 1)]), context);

    const input = ddb.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      TableName: 'connections-test',
      KeyConditionExpression: '#userId = :userId',
      FilterExpression:
        '(attribute_not_exists(#expiresAt) OR #expiresAt > :now) AND (attribute_not_exists(#tokenExpiresAt) OR #tokenExpiresAt > :now)',
    });
    expect(input.ExpressionAttributeValues?.[':now']).toBeGreaterThanOrEqual(before);
  });

  it(`posts to at most ${LIMITS.postConcurrency} connections at once`, async () => {
    const connectionIds = Array.from({ length: 80 }, (_, n) => `a-${n}`);
    givenConnections({ 'user-a': connectionIds });
    let inFlight = 0;
    let peak = 0;
    api.on(PostToConnectionCommand).callsFake(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return {};
    });

    await handler(streamEvent([insert('user-a', 1)]), context);

    expect(posts()).toHaveLength(80);
    expect(peak).toBe(LIMITS.postConcurrency);
  });

  it('does nothing for a user without connections', async () => {
    givenConnections({});

    const result = await handler(streamEvent([insert('user-a', 1)]), context);

    expect(result.batchItemFailures).toEqual([]);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(1);
    expect(posts()).toHaveLength(0);
  });
});
