import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL, type TableDefinition } from '../../lib/definitions.js';
import { LambdaTimeoutError } from '../../local/lambda/runtime.js';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb/dynamodb-local.js';
import { ensureTables } from '../../local/dynamodb/tables.js';
import type { OnFailureRecord } from '../../local/streams/on-failure-destination.js';
import { startStreamPoller, type StreamMappingSettings, type StreamPoller } from '../../local/streams/stream-poller.js';

// Own DynamoDB Local (with a data directory, for the restart test), independent of the stack in globalSetup.
let ddb: DynamoDbLocal;
let client: DynamoDBClient;
let workDir: string;
let tableCounter = 0;
const pollers: StreamPoller[] = [];

const quietLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'stream-poller-test-'));
  ddb = await startDynamoDbLocal({ dataDir: path.join(workDir, 'data') });
  client = new DynamoDBClient(ddb.clientConfig);
});

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
});

afterAll(async () => {
  client?.destroy();
  await ddb?.stop();
  await rm(workDir, { recursive: true, force: true });
});

/** A fresh table with a NEW_AND_OLD_IMAGES stream per test, so tests never see each other's records. */
async function freshTable(): Promise<{ tableName: string; streamArn: string }> {
  const def: TableDefinition = {
    id: 'PollerTestTable',
    localName: `poller-test-${++tableCounter}-${Date.now()}`,
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    stream: 'NEW_AND_OLD_IMAGES',
  };
  const { table } = await ensureTables(client, { table: def });
  return { tableName: def.localName, streamArn: table.LatestStreamArn! };
}

const put = (tableName: string, pk: string, extra: Record<string, { S: string } | { N: string }> = {}) =>
  client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, sk: { S: 'x' }, ...extra } }));

/** Several items in one request, so they are on the stream before the poller's next read. */
const putMany = (tableName: string, pks: string[]) =>
  client.send(
    new BatchWriteItemCommand({
      RequestItems: { [tableName]: pks.map((pk) => ({ PutRequest: { Item: { pk: { S: pk }, sk: { S: 'x' } } } })) },
    }),
  );

type Behaviour = (
  event: DynamoDBStreamEvent,
  call: number,
) => Promise<DynamoDBBatchResponse | void> | DynamoDBBatchResponse | void;

/** A stand-in for `invoke('broadcaster', event)` that records every event it receives. */
function recorder(behaviour: Behaviour = () => undefined) {
  const calls: DynamoDBRecord[][] = [];
  return {
    calls,
    pks: (call: DynamoDBRecord[]) => call.map((r) => r.dynamodb?.Keys?.pk?.S),
    delivered: () => calls.flat(),
    invoke: async (event: DynamoDBStreamEvent) => {
      calls.push(event.Records);
      return behaviour(event, calls.length);
    },
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function poll(
  streamArn: string,
  invoke: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>,
  mapping: Partial<StreamMappingSettings> = {},
  extra: { failureFile?: string } = {},
): Promise<StreamPoller> {
  const poller = await startStreamPoller({
    streamArn,
    endpoint: ddb.endpoint,
    invoke,
    mapping: { pollIntervalMs: 20, ...mapping },
    retryBackoff: { baseMs: 0, maxMs: 0 },
    errorBackoff: { baseMs: 50, maxMs: 200 },
    logger: quietLogger,
    ...extra,
  });
  pollers.push(poller);
  return poller;
}

async function failureLines(file: string): Promise<OnFailureRecord[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OnFailureRecord);
}

describe('stream poller', () => {
  it('delivers INSERT, MODIFY and REMOVE in stream order with the record shape Lambda sends', async () => {
    const { tableName, streamArn } = await freshTable();
    const handler = recorder();
    await poll(streamArn, handler.invoke);

    await put(tableName, 'a', { title: { S: 'one' } });
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: 'a' }, sk: { S: 'x' } },
        UpdateExpression: 'SET title = :t, version = :v',
        ExpressionAttributeValues: { ':t': { S: 'two' }, ':v': { N: '2' } },
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: 'a' }, sk: { S: 'x' } } }));
    await until(() => handler.delivered().length >= 3, '3 records');

    const records = handler.delivered();
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    const sequenceNumbers = records.map((r) => BigInt(r.dynamodb!.SequenceNumber!));
    expect([...sequenceNumbers].sort((x, y) => (x < y ? -1 : 1))).toEqual(sequenceNumbers);
    const [insert, modify, remove] = records as [DynamoDBRecord, DynamoDBRecord, DynamoDBRecord];
    expect(Object.keys(insert)).toEqual([
      'eventID',
      'eventName',
      'eventVersion',
      'eventSource',
      'awsRegion',
      'dynamodb',
      'eventSourceARN',
    ]);
    expect(insert).toMatchObject({
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: LOCAL.region,
      eventSourceARN: streamArn,
      dynamodb: {
        Keys: { pk: { S: 'a' }, sk: { S: 'x' } },
        NewImage: { pk: { S: 'a' }, sk: { S: 'x' }, title: { S: 'one' } },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    expect(insert.eventID).toEqual(expect.any(String));
    expect(insert.dynamodb!.OldImage).toBeUndefined();
    expect(insert.dynamodb!.SizeBytes).toBeGreaterThan(0);
    const created = insert.dynamodb!.ApproximateCreationDateTime!;
    expect(Number.isInteger(created)).toBe(true);
    expect(Math.abs(Date.now() / 1000 - created)).toBeLessThan(120);
    expect(modify.dynamodb).toMatchObject({
      OldImage: { title: { S: 'one' } },
      NewImage: { title: { S: 'two' }, version: { N: '2' } },
    });
    expect(remove.dynamodb!.NewImage).toBeUndefined();
    expect(remove.dynamodb!.OldImage).toMatchObject({ title: { S: 'two' } });
  });

  it('reads from LATEST at start and does not replay records after a restart', async () => {
    const { tableName, streamArn } = await freshTable();
    await put(tableName, 'before-start');
    const first = recorder();
    const poller = await poll(streamArn, first.invoke);
    await put(tableName, 'seen-once');
    await until(() => first.delivered().length >= 1, 'the first poller to see seen-once');
    await poller.stop();

    const second = recorder();
    await poll(streamArn, second.invoke);
    await put(tableName, 'after-restart');
    await until(() => second.delivered().length >= 1, 'the second poller to see after-restart');
    // A marker after it: the stream is in order, so a replay would have come before the marker.
    await put(tableName, 'marker');
    await until(() => second.delivered().some((r) => r.dynamodb?.Keys?.pk?.S === 'marker'), 'the marker');

    expect(first.delivered().map((r) => r.dynamodb?.Keys?.pk?.S)).toEqual(['seen-once']);
    expect(second.delivered().map((r) => r.dynamodb?.Keys?.pk?.S)).toEqual(['after-restart', 'marker']);
  });

  it('waits up to the batching window to fill a batch and never exceeds the batch size', async () => {
    const { tableName, streamArn } = await freshTable();
    const handler = recorder();
    await poll(streamArn, handler.invoke, { batchSize: 4, maxBatchingWindowSeconds: 1 });

    for (const pk of ['w1', 'w2', 'w3', 'w4', 'w5', 'w6']) await put(tableName, pk);
    await until(() => handler.delivered().length >= 6, '6 records');

    expect(handler.calls.map((call) => call.length)).toEqual([4, 2]);
    expect(handler.delivered().map((r) => r.dynamodb?.Keys?.pk?.S)).toEqual(['w1', 'w2', 'w3', 'w4', 'w5', 'w6']);
  });

  it('retries from the lowest sequence number reported in batchItemFailures', async () => {
    const { tableName, streamArn } = await freshTable();
    const handler = recorder((event, call) =>
      call === 1
        ? {
            batchItemFailures: [
              { itemIdentifier: event.Records[3]!.dynamodb!.SequenceNumber! },
              { itemIdentifier: event.Records[2]!.dynamodb!.SequenceNumber! },
            ],
          }
        : { batchItemFailures: [] },
    );
    const poller = await poll(streamArn, handler.invoke, { batchSize: 10, maxBatchingWindowSeconds: 1 });

    await putMany(tableName, ['p0', 'p1', 'p2', 'p3', 'p4']);
    await until(() => handler.calls.length >= 2, 'the retry');
    // A marker after them: no further retry of p0..p4 can come after it.
    await put(tableName, 'marker');
    await until(() => handler.delivered().some((r) => r.dynamodb?.Keys?.pk?.S === 'marker'), 'the marker');

    const [firstCall, retry, afterwards] = handler.calls as [DynamoDBRecord[], DynamoDBRecord[], DynamoDBRecord[]];
    expect(firstCall).toHaveLength(5);
    expect(retry.map((r) => r.dynamodb!.SequenceNumber)).toEqual(firstCall.slice(2).map((r) => r.dynamodb!.SequenceNumber));
    expect(handler.calls).toHaveLength(3);
    expect(handler.pks(afterwards)).toEqual(['marker']);
    expect(poller.stats()).toMatchObject({ partialFailures: 1, retries: 1, succeededRecords: 6, discardedRecords: 0 });
  });

  it('retries the whole batch when an itemIdentifier is not in the batch', async () => {
    const { tableName, streamArn } = await freshTable();
    const handler = recorder((_event, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: 'not-a-sequence-number' }] } : undefined,
    );
    await poll(streamArn, handler.invoke, { batchSize: 10, maxBatchingWindowSeconds: 1, bisectBatchOnError: false });

    await putMany(tableName, ['u0', 'u1', 'u2']);
    await until(() => handler.calls.length >= 2, 'the retry');

    expect(handler.pks(handler.calls[1]!)).toEqual(handler.pks(handler.calls[0]!));
    expect(handler.pks(handler.calls[1]!)).toEqual(['u0', 'u1', 'u2']);
  });

  it('bisects a failing batch until the poison record is isolated, then skips only that record', async () => {
    const { tableName, streamArn } = await freshTable();
    const failureFile = path.join(workDir, 'bisect-failures.jsonl');
    const handler = recorder((event) => {
      if (event.Records.some((r) => r.dynamodb?.Keys?.pk?.S === 'poison')) throw new Error('cannot handle poison');
    });
    const poller = await poll(
      streamArn,
      handler.invoke,
      { batchSize: 10, maxBatchingWindowSeconds: 1, bisectBatchOnError: true, retryAttempts: 1 },
      { failureFile },
    );

    await putMany(tableName, ['b0', 'b1', 'poison', 'b3']);
    await until(
      () => poller.stats().discardedRecords === 1 && poller.stats().succeededRecords === 3,
      'b3 after the poison record',
    );

    // [b0 b1 poison b3] → [b0 b1] ok, [poison b3] fails → [poison] fails twice (retryAttempts 1) → skipped → [b3]
    expect(handler.calls.map(handler.pks)).toEqual([
      ['b0', 'b1', 'poison', 'b3'],
      ['b0', 'b1'],
      ['poison', 'b3'],
      ['poison'],
      ['poison'],
      ['b3'],
    ]);
    const poisonSeq = handler.calls[3]![0]!.dynamodb!.SequenceNumber;
    const [line] = await failureLines(failureFile);
    expect(line).toMatchObject({
      requestContext: {
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 2,
        functionArn: expect.stringContaining(':function:'),
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      DDBStreamBatchInfo: { startSequenceNumber: poisonSeq, endSequenceNumber: poisonSeq, batchSize: 1, streamArn },
    });
    expect(poller.stats()).toMatchObject({ bisects: 2, discardedRecords: 1, succeededRecords: 3 });
  });

  it('writes an on-failure record after the retry limit and does not block later records', async () => {
    const { tableName, streamArn } = await freshTable();
    const failureFile = path.join(workDir, 'nested', 'retry-failures.jsonl');
    const handler = recorder((event) => {
      if (event.Records.some((r) => r.dynamodb?.Keys?.pk?.S === 'stuck')) {
        throw new LambdaTimeoutError('Task timed out after 30.00 seconds');
      }
    });
    const poller = await poll(streamArn, handler.invoke, { bisectBatchOnError: false, retryAttempts: 2 }, { failureFile });

    await put(tableName, 'stuck');
    await until(() => poller.stats().discardedRecords === 1, 'the stuck record to be skipped');
    await put(tableName, 'next');
    await until(() => handler.delivered().some((r) => r.dynamodb?.Keys?.pk?.S === 'next'), 'the next record');

    expect(handler.calls.map(handler.pks)).toEqual([['stuck'], ['stuck'], ['stuck'], ['next']]);
    const lines = await failureLines(failureFile);
    expect(lines).toHaveLength(1);
    const stuck = handler.calls[0]![0]!;
    expect(lines[0]).toEqual({
      requestContext: {
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        functionArn: 'arn:aws:lambda:local:000000000000:function:broadcaster',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      DDBStreamBatchInfo: {
        shardId: expect.stringMatching(/^shardId-/),
        startSequenceNumber: stuck.dynamodb!.SequenceNumber,
        endSequenceNumber: stuck.dynamodb!.SequenceNumber,
        approximateArrivalOfFirstRecord: new Date(stuck.dynamodb!.ApproximateCreationDateTime! * 1000)
          .toISOString()
          .replace('.000Z', 'Z'),
        approximateArrivalOfLastRecord: new Date(stuck.dynamodb!.ApproximateCreationDateTime! * 1000)
          .toISOString()
          .replace('.000Z', 'Z'),
        batchSize: 1,
        streamArn,
      },
    });
    expect(poller.stats()).toMatchObject({ failures: 3, retries: 2, discardedBatches: 1 });
  });

  it('sends records older than maxRecordAgeSeconds to the on-failure destination instead of the function', async () => {
    const { tableName, streamArn } = await freshTable();
    const failureFile = path.join(workDir, 'age-failures.jsonl');
    const handler = recorder();
    // DynamoDB Local stamps records to the minute, so any record is older than a millisecond.
    const poller = await poll(streamArn, handler.invoke, { maxRecordAgeSeconds: 0.001 }, { failureFile });

    await put(tableName, 'old');
    await until(() => poller.stats().discardedRecords === 1, 'the old record to be skipped');

    expect(handler.calls).toHaveLength(0);
    const [line] = await failureLines(failureFile);
    expect(line).toMatchObject({
      requestContext: { condition: 'RecordAgeExceeded', approximateInvokeCount: 0 },
      responseContext: {},
      DDBStreamBatchInfo: { batchSize: 1, streamArn },
    });
  });

  it('survives DynamoDB Local going down and delivers what is written after it is back', async () => {
    const { tableName, streamArn } = await freshTable();
    const handler = recorder();
    const poller = await poll(streamArn, handler.invoke);
    await put(tableName, 'before-outage');
    await until(() => handler.delivered().length === 1, 'the record before the outage');

    await ddb.kill();
    await until(() => poller.stats().pollErrors >= 2, 'the poller to notice the outage');
    await ddb.restart();
    await put(tableName, 'after-outage');
    await until(() => handler.delivered().length === 2, 'the record after the outage', 20_000);

    expect(handler.delivered().map((r) => r.dynamodb?.Keys?.pk?.S)).toEqual(['before-outage', 'after-outage']);
    expect(poller.stats().activeShards).toBeGreaterThan(0);
  }, 60_000);
});
