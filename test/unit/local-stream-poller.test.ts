import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ResourceNotFoundException,
  type GetShardIteratorCommandInput,
  type _Record as StreamsRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startStreamPoller, type StreamPoller, type StreamPollerOptions } from '../../local/streams/stream-poller.js';

/**
 * An in-memory DynamoDB stream behind aws-sdk-client-mock, for what DynamoDB Local
 * cannot be made to do on demand: shard roll-over (it rolls every 4 hours), expired
 * iterators, a recreated table.
 */
class FakeStream {
  private static sequence = 0;
  readonly shards: { id: string; parent?: string; records: StreamsRecord[]; closed: boolean }[] = [];

  constructor(
    readonly arn: string,
    shardCount = 1,
  ) {
    for (let i = 0; i < shardCount; i++) this.shards.push({ id: `${arn}-shard-${i}`, records: [], closed: false });
  }

  private shard(id: string) {
    const shard = this.shards.find((s) => s.id === id);
    if (!shard) throw new ResourceNotFoundException({ message: `shard ${id}`, $metadata: {} });
    return shard;
  }

  get openShard() {
    return this.shards.find((s) => !s.closed)!;
  }

  put(pk: string, shardId = this.openShard.id, bigValue?: string): StreamsRecord {
    const sequenceNumber = String(++FakeStream.sequence).padStart(21, '0');
    const record: StreamsRecord = {
      eventID: `event-${sequenceNumber}`,
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'ddblocal',
      dynamodb: {
        ApproximateCreationDateTime: new Date(),
        Keys: { pk: { S: pk } },
        NewImage: { pk: { S: pk }, ...(bigValue ? { big: { S: bigValue } } : {}) },
        SequenceNumber: sequenceNumber,
        SizeBytes: 10,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
    this.shard(shardId).records.push(record);
    return record;
  }

  /** DynamoDB Streams roll-over: the open shard closes and a child shard takes the new writes. */
  rollOver(): string {
    const parent = this.openShard;
    parent.closed = true;
    const child = { id: `${parent.id}.child`, parent: parent.id, records: [], closed: false };
    this.shards.push(child);
    return child.id;
  }

  describe() {
    return {
      StreamDescription: {
        StreamArn: this.arn,
        StreamStatus: 'ENABLED' as const,
        Shards: this.shards.map((s) => ({
          ShardId: s.id,
          ParentShardId: s.parent,
          SequenceNumberRange: {
            StartingSequenceNumber: s.records[0]?.dynamodb?.SequenceNumber ?? '0',
            ...(s.closed ? { EndingSequenceNumber: s.records.at(-1)?.dynamodb?.SequenceNumber ?? '0' } : {}),
          },
        })),
      },
    };
  }

  iterator(input: GetShardIteratorCommandInput): string {
    const shard = this.shard(input.ShardId!);
    const position =
      input.ShardIteratorType === 'TRIM_HORIZON'
        ? 0
        : input.ShardIteratorType === 'LATEST'
          ? shard.records.length
          : shard.records.findIndex((r) => r.dynamodb?.SequenceNumber === input.SequenceNumber) +
            (input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? 1 : 0);
    return `${shard.id}|${position}`;
  }

  records(iterator: string, limit = 1000) {
    const [id, position] = iterator.split('|') as [string, string];
    const shard = this.shard(id);
    const from = Number(position);
    const records = shard.records.slice(from, from + limit);
    const next = from + records.length;
    const end = shard.closed && next >= shard.records.length;
    return { Records: records, NextShardIterator: end ? undefined : `${id}|${next}` };
  }
}

const streamsClient = new DynamoDBStreamsClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const streamsMock = mockClient(streamsClient);
const pollers: StreamPoller[] = [];

function serve(...streams: FakeStream[]) {
  const find = (arn: string | undefined) => {
    const stream = streams.find((s) => s.arn === arn);
    if (!stream) throw new ResourceNotFoundException({ message: `stream ${arn}`, $metadata: {} });
    return stream;
  };
  streamsMock.on(DescribeStreamCommand).callsFake((input: { StreamArn: string }) => find(input.StreamArn).describe());
  streamsMock.on(GetShardIteratorCommand).callsFake((input: GetShardIteratorCommandInput) => ({
    ShardIterator: find(input.StreamArn).iterator(input),
  }));
  streamsMock.on(GetRecordsCommand).callsFake((input: { ShardIterator: string; Limit?: number }) => {
    const stream = streams.find((s) => input.ShardIterator.startsWith(s.arn));
    if (!stream) throw new ResourceNotFoundException({ message: 'gone', $metadata: {} });
    return stream.records(input.ShardIterator, input.Limit);
  });
}

function recorder(behaviour: (event: DynamoDBStreamEvent) => Promise<void> | void = () => undefined) {
  const calls: DynamoDBRecord[][] = [];
  return {
    calls,
    keys: () => calls.flat().map((r) => r.dynamodb?.Keys?.pk?.S),
    invoke: async (event: DynamoDBStreamEvent) => {
      calls.push(event.Records);
      await behaviour(event);
    },
  };
}

const silent = () => ({ debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() });

async function poll(options: Partial<StreamPollerOptions> & Pick<StreamPollerOptions, 'streamArn' | 'invoke'>) {
  const poller = await startStreamPoller({
    streamsClient,
    mapping: { pollIntervalMs: 5 },
    retryBackoff: { baseMs: 0, maxMs: 0 },
    errorBackoff: { baseMs: 5, maxMs: 20 },
    discoveryIntervalMs: 50,
    logger: silent(),
    ...options,
  });
  pollers.push(poller);
  return poller;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
  streamsMock.reset();
});

describe('stream poller shards', () => {
  it('ignores shards closed before the start and reads open shards from LATEST', async () => {
    const stream = new FakeStream('arn:stream-latest');
    stream.put('old-in-closed-shard');
    stream.rollOver();
    stream.put('old-in-open-shard');
    serve(stream);
    const handler = recorder();
    await poll({ streamArn: stream.arn, invoke: handler.invoke });

    stream.put('new');
    await until(() => handler.calls.length === 1, 'the new record');
    await sleep(50);

    expect(handler.keys()).toEqual(['new']);
  });

  it('reads a child shard from TRIM_HORIZON only after its parent is read to the end and processed', async () => {
    const stream = new FakeStream('arn:stream-rollover');
    serve(stream);
    const handler = recorder(async (event) => {
      // Slow on the parent's records: the child's record is already waiting meanwhile.
      if (event.Records.some((r) => r.dynamodb?.Keys?.pk?.S?.startsWith('parent'))) await sleep(100);
    });
    const poller = await poll({ streamArn: stream.arn, invoke: handler.invoke });

    stream.put('parent-1');
    stream.put('parent-2');
    const child = stream.rollOver();
    stream.put('child-1', child);
    stream.put('child-2', child);
    await until(() => handler.keys().length === 4, 'all four records');

    expect(handler.keys()).toEqual(['parent-1', 'parent-2', 'child-1', 'child-2']);
    expect(poller.stats()).toMatchObject({ completedShards: 1, activeShards: 1 });
  });

  it('processes shards concurrently, one batch in flight per shard', async () => {
    const stream = new FakeStream('arn:stream-two-shards', 2);
    serve(stream);
    let inFlight = 0;
    let maxInFlight = 0;
    const perShard = new Map<string, number>();
    const handler = recorder(async (event) => {
      const shard = event.Records[0]!.dynamodb!.Keys!.pk!.S!.split('-')[0]!;
      expect(perShard.get(shard) ?? 0).toBe(0);
      perShard.set(shard, 1);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(30);
      inFlight--;
      perShard.set(shard, 0);
    });
    await poll({ streamArn: stream.arn, invoke: handler.invoke, mapping: { pollIntervalMs: 5, batchSize: 1 } });

    for (let i = 0; i < 3; i++) {
      stream.put(`s0-${i}`, stream.shards[0]!.id);
      stream.put(`s1-${i}`, stream.shards[1]!.id);
    }
    await until(() => handler.calls.length === 6, 'six batches');

    expect(maxInFlight).toBe(2);
    expect(handler.keys().filter((k) => k!.startsWith('s0'))).toEqual(['s0-0', 's0-1', 's0-2']);
    expect(handler.keys().filter((k) => k!.startsWith('s1'))).toEqual(['s1-0', 's1-1', 's1-2']);
  });
});

describe('stream poller recovery', () => {
  it('takes a new iterator after the last record read when its iterator expires', async () => {
    const stream = new FakeStream('arn:stream-expiry');
    serve(stream);
    const handler = recorder();
    await poll({ streamArn: stream.arn, invoke: handler.invoke });
    const first = stream.put('first');
    await until(() => handler.calls.length === 1, 'the first record');

    let expired = false;
    streamsMock.on(GetRecordsCommand).callsFake((input: { ShardIterator: string; Limit?: number }) => {
      if (!expired) {
        expired = true;
        throw new ExpiredIteratorException({ message: 'Iterator expired', $metadata: { httpStatusCode: 400 } });
      }
      return stream.records(input.ShardIterator, input.Limit);
    });
    await until(() => streamsMock.commandCalls(GetShardIteratorCommand).length === 2, 'a new iterator');
    stream.put('second');
    await until(() => handler.calls.length === 2, 'the second record');

    expect(handler.keys()).toEqual(['first', 'second']);
    expect(streamsMock.commandCalls(GetShardIteratorCommand)[1]!.args[0].input).toMatchObject({
      ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
      SequenceNumber: first.dynamodb!.SequenceNumber,
    });
  });

  it('keeps polling while DynamoDB Streams is unreachable, logs the outage once, and resumes', async () => {
    const stream = new FakeStream('arn:stream-outage');
    serve(stream);
    const logger = silent();
    const handler = recorder();
    const poller = await poll({ streamArn: stream.arn, invoke: handler.invoke, logger });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' });

    streamsMock.reset();
    streamsMock.onAnyCommand().rejects(refused);
    await until(() => poller.stats().pollErrors >= 5, 'five failed calls');
    serve(stream);
    stream.put('after-outage');
    await until(() => handler.calls.length === 1, 'the record written after the outage');

    expect(handler.keys()).toEqual(['after-outage']);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.info).toHaveBeenCalledWith(
      'DynamoDB Streams reachable again',
      expect.objectContaining({ failedCalls: expect.any(Number) }),
    );
  });

  it('switches to the new stream when the table is recreated and reads it from the start', async () => {
    const oldStream = new FakeStream('arn:stream-old');
    serve(oldStream);
    let current = oldStream.arn;
    const handler = recorder();
    const poller = await poll({ streamArn: async () => current, invoke: handler.invoke });
    oldStream.put('on-old');
    await until(() => handler.calls.length === 1, 'the record on the old stream');

    const newStream = new FakeStream('arn:stream-new');
    newStream.put('written-before-the-switch');
    current = newStream.arn;
    serve(newStream);
    await until(() => handler.calls.length === 2, 'the record on the new stream');

    expect(handler.keys()).toEqual(['on-old', 'written-before-the-switch']);
    expect(poller.streamArn).toBe(newStream.arn);
  });

  it('fails to start with a clear error when the stream does not exist', async () => {
    serve();

    await expect(poll({ streamArn: 'arn:missing', invoke: recorder().invoke })).rejects.toThrow(
      /Cannot start reading stream arn:missing/,
    );
  });
});

describe('stream poller batches', () => {
  it('keeps every invocation under the 6 MB payload limit', async () => {
    const stream = new FakeStream('arn:stream-payload');
    serve(stream);
    const sizes: number[] = [];
    const handler = recorder((event) => {
      sizes.push(Buffer.byteLength(JSON.stringify(event)));
    });
    await poll({
      streamArn: stream.arn,
      invoke: handler.invoke,
      mapping: { pollIntervalMs: 5, batchSize: 100, maxBatchingWindowSeconds: 0.2 },
    });

    const big = 'x'.repeat(400_000);
    for (let i = 0; i < 20; i++) stream.put(`big-${i}`, undefined, big);
    await until(() => handler.keys().length === 20, 'all 20 records');

    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(6 * 1024 * 1024);
  });

  it('stop() waits for the invocation in flight and invokes nothing after it', async () => {
    const stream = new FakeStream('arn:stream-stop');
    serve(stream);
    let finished = false;
    const handler = recorder(async () => {
      await sleep(100);
      finished = true;
    });
    const poller = await poll({ streamArn: stream.arn, invoke: handler.invoke });
    stream.put('in-flight');
    await until(() => handler.calls.length === 1, 'the invocation');

    await poller.stop();
    stream.put('after-stop');
    await sleep(50);

    expect(finished).toBe(true);
    expect(handler.keys()).toEqual(['in-flight']);
  });

  it('without bisect, retries a partial failure from the failed record with up to batchSize records', async () => {
    const stream = new FakeStream('arn:stream-partial');
    serve(stream);
    const calls: string[][] = [];
    const poller = await poll({
      streamArn: stream.arn,
      mapping: { pollIntervalMs: 5, batchSize: 3, maxBatchingWindowSeconds: 0.2, bisectBatchOnError: false },
      invoke: async (event) => {
        calls.push(event.Records.map((r) => r.dynamodb!.Keys!.pk!.S!));
        if (calls.length === 1) return { batchItemFailures: [{ itemIdentifier: event.Records[1]!.dynamodb!.SequenceNumber! }] };
      },
    });

    for (const pk of ['r0', 'r1', 'r2', 'r3', 'r4']) stream.put(pk);
    await until(() => poller.stats().succeededRecords === 5, 'all records');

    expect(calls[0]).toEqual(['r0', 'r1', 'r2']);
    expect(calls[1]![0]).toBe('r1');
    expect(calls.flat().filter((k) => k === 'r0')).toHaveLength(1);
    expect([...new Set(calls.flat())]).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });
});
