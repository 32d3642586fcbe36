import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type Shard,
  type _Record as StreamsRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { LOCAL, STREAM_MAPPING } from '../../lib/definitions.js';
import { localClientConfig } from '../dynamodb/client-config.js';
import { interpretBatchResponse, type BatchOutcome } from './batch-response.js';
import {
  appendOnFailureRecord,
  awsTimestamp,
  type OnFailureCondition,
  type OnFailureRecord,
} from './on-failure-destination.js';
import { toLambdaStreamRecord } from './stream-event-builder.js';

/** Event source mapping settings; defaults come from STREAM_MAPPING in lib/definitions.ts (what CDK deploys). */
export interface StreamMappingSettings {
  /** Most records per invocation (BatchSize). */
  batchSize: number;
  /** MaximumBatchingWindowInSeconds: 0 invokes as soon as records arrive; fractions allowed locally. */
  maxBatchingWindowSeconds: number;
  /** MaximumRetryAttempts after the first failed invocation; -1 = until the records expire. */
  retryAttempts: number;
  /** BisectBatchOnFunctionError. */
  bisectBatchOnError: boolean;
  /** FunctionResponseTypes: ['ReportBatchItemFailures']. */
  reportBatchItemFailures: boolean;
  /** MaximumRecordAgeInSeconds; -1 = no limit. Fractions allowed locally. */
  maxRecordAgeSeconds: number;
  /** Only 1 is supported locally (records of a shard are processed strictly in order). */
  parallelizationFactor: number;
  /** Where to start on shards that are open when the poller starts. */
  startingPosition: 'LATEST' | 'TRIM_HORIZON';
  /** Pause between GetRecords calls on a shard that returned nothing (AWS: four times a second). */
  pollIntervalMs: number;
}

export const DEFAULT_MAPPING: StreamMappingSettings = {
  batchSize: STREAM_MAPPING.batchSize,
  maxBatchingWindowSeconds: STREAM_MAPPING.maxBatchingWindowSeconds,
  retryAttempts: STREAM_MAPPING.retryAttempts,
  bisectBatchOnError: STREAM_MAPPING.bisectBatchOnError,
  reportBatchItemFailures: STREAM_MAPPING.reportBatchItemFailures,
  maxRecordAgeSeconds: STREAM_MAPPING.maxRecordAgeSeconds,
  parallelizationFactor: STREAM_MAPPING.parallelizationFactor,
  startingPosition: STREAM_MAPPING.startingPosition,
  pollIntervalMs: STREAM_MAPPING.pollIntervalMs,
};

/** Satisfied by console and by a Powertools Logger. */
export interface PollerLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export interface StreamPollerOptions {
  /**
   * The stream to read, or a function that resolves it. A function is called again when
   * the stream disappears (the table was recreated, e.g. an in-memory DynamoDB Local
   * restarted) and the poller then reads the new stream from its start.
   */
  streamArn: string | (() => Promise<string>);
  /** Default: a client for `endpoint` with no SDK retries (the poller retries itself). */
  streamsClient?: DynamoDBStreamsClient;
  /** DynamoDB Local's URL; required when `streamsClient` is not given. */
  endpoint?: string;
  /** Runs the function, e.g. `(event) => invoke('broadcaster', event)`; a rejection (LambdaTimeoutError included) fails the whole batch. */
  invoke: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
  /** Overrides of DEFAULT_MAPPING (tests and benchmarks). */
  mapping?: Partial<StreamMappingSettings>;
  /** JSON-lines file standing in for the on-failure destination. Default: null = only logged and passed to onFailureRecord. */
  failureFile?: string | null;
  /** Called with every on-failure record (after it was appended to failureFile). Default: none. */
  onFailureRecord?: (record: OnFailureRecord) => void;
  /** Function name in `functionArn` of on-failure records. Default: 'broadcaster'. */
  functionName?: string;
  /** `awsRegion` of every event record. Default: LOCAL.region (DynamoDB Local's own records say `ddblocal`). */
  awsRegion?: string;
  /** Default: warnings and errors to the console, prefixed `[stream-poller]`. */
  logger?: PollerLogger;
  /** Wait before re-invoking a failed batch, doubling per failure. Default: 100 ms up to 2 000 ms. */
  retryBackoff?: Backoff;
  /** Wait after a failed DynamoDB Streams call, doubling per consecutive failure. Default: 250 ms up to 5 000 ms. */
  errorBackoff?: Backoff;
  /** How often DescribeStream looks for new shards besides when a shard closes. Default: 10 000 ms. */
  discoveryIntervalMs?: number;
  /** How long startStreamPoller keeps retrying the first DescribeStream/GetShardIterator. Default: 30 000 ms. */
  startTimeoutMs?: number;
}

export interface StreamPollerStats {
  /** Invocations, retries included. */
  batches: number;
  /** Records sent to the function, counted once per invocation they were in. */
  records: number;
  /** Records checkpointed after the function succeeded with them. */
  succeededRecords: number;
  /** Invocations that failed in whole or in part. */
  failures: number;
  /** Invocations that returned batchItemFailures. */
  partialFailures: number;
  /** Invocations that re-sent records after a failure (bisected halves included). */
  retries: number;
  bisects: number;
  /** Records skipped to the on-failure destination (retries exhausted or too old). */
  discardedRecords: number;
  /** On-failure records written. */
  discardedBatches: number;
  /**
   * Age of the last record of the last batch when it was invoked (Lambda's IteratorAge).
   * DynamoDB Local rounds ApproximateCreationDateTime down to the minute, so locally this
   * is coarse; null before the first batch.
   */
  lastIteratorAgeMs: number | null;
  /** Failed DynamoDB Streams calls (DynamoDB Local down, throttled, ...). */
  pollErrors: number;
  /** Shards being read (or waiting for their parent). */
  activeShards: number;
  /** Shards read to their end and fully processed. */
  completedShards: number;
  streamArn: string;
}

export interface StreamPoller {
  /** The stream being read (changes when a resolver function returned a new one). */
  readonly streamArn: string;
  /** Stops polling; waits for an in-flight invocation to finish. Idempotent. */
  stop(): Promise<void>;
  stats(): StreamPollerStats;
}

export class StreamPollerError extends Error {
  override name = 'StreamPollerError';
}

/** Lambda's synchronous invocation payload limit; a batch never exceeds it. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

const consoleLogger: PollerLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, ...extra) => console.warn(`[stream-poller] ${message}`, ...extra),
  error: (message, ...extra) => console.error(`[stream-poller] ${message}`, ...extra),
};

const errorName = (error: unknown): string => (error as { name?: string } | null)?.name ?? 'Error';
const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const backoffMs = (backoff: Backoff, attempt: number) =>
  Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 20)));

/**
 * Reads a DynamoDB stream and invokes a function with the semantics of a Lambda event
 * source mapping (batch size, batching window, ReportBatchItemFailures, bisect on error,
 * retry limit, maximum record age, on-failure destination, 6 MB payload limit).
 *
 * - Start: shards open at start are read from LATEST (the mapping's StartingPosition);
 *   shards already closed are ignored, so a restart never replays old records (no
 *   checkpoint file: every start is a new mapping, and clients refetch on reconnect).
 *   Shards that appear later (roll-over) are read from TRIM_HORIZON.
 * - One batch in flight per shard, shards concurrently; a child shard starts only after
 *   its parent was read to its end and every record of it was processed or discarded.
 * - DynamoDB Streams errors are logged and retried with backoff, never thrown.
 * - Resolves once the open shards have iterators, so every write after that is seen.
 */
export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const poller = new StreamPollerImpl(options);
  await poller.start();
  return poller;
}

interface Buffered {
  seq: string;
  event: DynamoDBRecord;
  bytes: number;
  createdAt: Date | undefined;
}

/** The next batch to invoke: `size` records from the head of the shard's buffer. */
interface PlannedBatch {
  size: number;
  /** Failed invocations of batches starting at this head record (its retry count). */
  failures: number;
  isRetry: boolean;
  lastResponse?: OnFailureRecord['responseContext'];
}

class StreamPollerImpl implements StreamPoller {
  readonly settings: StreamMappingSettings;
  readonly client: DynamoDBStreamsClient;
  readonly logger: PollerLogger;
  readonly functionArn: string;
  readonly awsRegion: string;
  readonly retryBackoff: Backoff;
  readonly errorBackoff: Backoff;
  streamArn = '';
  stopping = false;
  private readonly ownsClient: boolean;
  private readonly abort = new AbortController();
  private readonly workers = new Map<string, ShardWorker>();
  /** Shards deliberately not read (closed before the start); children need not wait for them. */
  private readonly skipped = new Set<string>();
  private discoveryTimer: NodeJS.Timeout | undefined;
  private discovering: Promise<void> | undefined;
  private rediscoverRequested = false;
  private streamsHealthy = true;
  private consecutiveErrors = 0;
  readonly counters = {
    batches: 0,
    records: 0,
    succeededRecords: 0,
    failures: 0,
    partialFailures: 0,
    retries: 0,
    bisects: 0,
    discardedRecords: 0,
    discardedBatches: 0,
    lastIteratorAgeMs: null as number | null,
    pollErrors: 0,
    completedShards: 0,
  };

  constructor(readonly options: StreamPollerOptions) {
    this.settings = { ...DEFAULT_MAPPING, ...options.mapping };
    if (!Number.isInteger(this.settings.batchSize) || this.settings.batchSize < 1 || this.settings.batchSize > 10_000) {
      throw new StreamPollerError(`batchSize must be an integer 1–10000, got ${this.settings.batchSize}`);
    }
    if (this.settings.parallelizationFactor !== 1) {
      throw new StreamPollerError('Only parallelizationFactor 1 is emulated locally');
    }
    if (!options.streamsClient && !options.endpoint) {
      throw new StreamPollerError('startStreamPoller needs streamsClient or endpoint');
    }
    this.ownsClient = !options.streamsClient;
    this.client =
      options.streamsClient ??
      new DynamoDBStreamsClient({
        ...localClientConfig(options.endpoint!),
        maxAttempts: 1,
        requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
      });
    this.logger = options.logger ?? consoleLogger;
    // The same ARN local/lambda/runtime.ts gives the function as invokedFunctionArn.
    this.functionArn = `arn:aws:lambda:local:000000000000:function:${options.functionName ?? 'broadcaster'}`;
    this.awsRegion = options.awsRegion ?? LOCAL.region;
    this.retryBackoff = options.retryBackoff ?? { baseMs: 100, maxMs: 2_000 };
    this.errorBackoff = options.errorBackoff ?? { baseMs: 250, maxMs: 5_000 };
  }

  async start(): Promise<void> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 30_000);
    for (let attempt = 1; ; attempt++) {
      try {
        this.streamArn = typeof this.options.streamArn === 'string' ? this.options.streamArn : await this.options.streamArn();
        await this.discover(true);
        break;
      } catch (error) {
        // Leave nothing running behind a failed start.
        for (const worker of this.workers.values()) worker.abandoned = true;
        this.workers.clear();
        this.skipped.clear();
        if (Date.now() > deadline || errorName(error) === 'ResourceNotFoundException') {
          if (this.ownsClient) this.client.destroy();
          throw new StreamPollerError(`Cannot start reading stream ${this.streamArn || '(unresolved)'}: ${errorMessage(error)}`, {
            cause: error,
          });
        }
        await this.pause(backoffMs(this.errorBackoff, attempt));
      }
    }
    for (const worker of this.workers.values()) worker.launch();
    this.discoveryTimer = setInterval(() => this.requestDiscovery(), this.options.discoveryIntervalMs ?? 10_000);
    this.discoveryTimer.unref();
    this.logger.info('stream poller started', { streamArn: this.streamArn, shards: this.workers.size, mapping: this.settings });
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.drained();
    this.stopping = true;
    clearInterval(this.discoveryTimer);
    this.abort.abort();
    await this.drained();
    if (this.ownsClient) this.client.destroy();
  }

  private async drained(): Promise<void> {
    // A worker that never ran would never settle: let it run and see it must exit.
    for (const worker of this.workers.values()) worker.launch();
    await Promise.allSettled([...this.workers.values()].map((worker) => worker.finished));
    await this.discovering?.catch(() => undefined);
  }

  stats(): StreamPollerStats {
    let active = 0;
    for (const worker of this.workers.values()) if (!worker.isFinished) active++;
    return { ...this.counters, activeShards: active, streamArn: this.streamArn };
  }

  get stoppingSignal(): AbortSignal {
    return this.abort.signal;
  }

  /** Sleeps, but wakes up (without throwing) when stop() is called. */
  pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping) return Promise.resolve();
    return sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  /** Logs the first failure of a streak loudly and the rest quietly, then the recovery. */
  streamsCallFailed(operation: string, error: unknown, shardId?: string): number {
    this.counters.pollErrors++;
    this.consecutiveErrors++;
    const details = { operation, shardId, error: `${errorName(error)}: ${errorMessage(error)}` };
    if (this.streamsHealthy) {
      this.streamsHealthy = false;
      this.logger.warn('DynamoDB Streams call failed; retrying with backoff', details);
    } else {
      this.logger.debug('DynamoDB Streams call failed again', details);
    }
    return backoffMs(this.errorBackoff, this.consecutiveErrors);
  }

  streamsCallSucceeded(): void {
    if (this.streamsHealthy) return;
    this.logger.info('DynamoDB Streams reachable again', { failedCalls: this.consecutiveErrors });
    this.streamsHealthy = true;
    this.consecutiveErrors = 0;
  }

  requestDiscovery(): void {
    if (this.stopping) return;
    if (this.discovering) {
      this.rediscoverRequested = true;
      return;
    }
    this.discovering = (async () => {
      do {
        this.rediscoverRequested = false;
        try {
          await this.discover(false);
        } catch (error) {
          if (errorName(error) === 'ResourceNotFoundException') await this.streamMissing();
          else await this.pause(this.streamsCallFailed('DescribeStream', error));
        }
        for (const worker of this.workers.values()) worker.launch();
      } while (this.rediscoverRequested && !this.stopping);
    })()
      .catch((error: unknown) => this.logger.error('shard discovery failed', { error: errorMessage(error) }))
      .finally(() => {
      this.discovering = undefined;
    });
  }

  /**
   * The stream is gone: with a resolver, switch to the table's current stream (read from
   * TRIM_HORIZON: the table was recreated, everything on the new stream is new).
   */
  async streamMissing(): Promise<void> {
    if (typeof this.options.streamArn === 'string') {
      this.logger.warn('stream not found; will keep retrying', { streamArn: this.streamArn });
      await this.pause(this.streamsCallFailed('DescribeStream', new Error('ResourceNotFoundException')));
      return;
    }
    let next: string;
    try {
      next = await this.options.streamArn();
    } catch (error) {
      await this.pause(this.streamsCallFailed('resolve streamArn', error));
      return;
    }
    if (next === this.streamArn) {
      await this.pause(this.streamsCallFailed('DescribeStream', new Error(`stream ${next} not found`)));
      return;
    }
    this.logger.warn('stream replaced; reading the new one from TRIM_HORIZON', { from: this.streamArn, to: next });
    for (const worker of this.workers.values()) worker.abandoned = true;
    this.workers.clear();
    this.skipped.clear();
    this.streamArn = next;
    try {
      await this.discover(false);
    } catch (error) {
      await this.pause(this.streamsCallFailed('DescribeStream', error));
      this.rediscoverRequested = true;
    }
  }

  private async describeShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const out = await this.client.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
        { abortSignal: this.abort.signal },
      );
      shards.push(...(out.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = out.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    this.streamsCallSucceeded();
    return shards;
  }

  /** Adds a worker per shard not seen before; at start, acquires the first iterators too. */
  private async discover(initial: boolean): Promise<void> {
    const shards = await this.describeShards();
    const fresh: ShardWorker[] = [];
    for (const shard of shards) {
      const shardId = shard.ShardId!;
      if (this.workers.has(shardId) || this.skipped.has(shardId)) continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      if (initial && this.settings.startingPosition === 'LATEST' && closed) {
        this.skipped.add(shardId);
        continue;
      }
      const position = initial ? this.settings.startingPosition : 'TRIM_HORIZON';
      const worker = new ShardWorker(this, shardId, shard.ParentShardId, position);
      this.workers.set(shardId, worker);
      fresh.push(worker);
    }
    for (const worker of fresh) {
      worker.parent = worker.parentShardId ? this.workers.get(worker.parentShardId) : undefined;
      this.logger.debug('shard discovered', { shardId: worker.shardId, parent: worker.parentShardId, start: worker.startType });
    }
    // LATEST means "after the last record when the mapping starts": take it now, not lazily.
    if (initial) for (const worker of fresh) if (!worker.parent) await worker.acquireIteratorOrThrow();
  }

  shardFinished(worker: ShardWorker): void {
    this.counters.completedShards++;
    this.logger.debug('shard finished', { shardId: worker.shardId });
    // A closed shard means children exist (roll-over): look for them now.
    this.requestDiscovery();
  }

  async writeOnFailure(record: OnFailureRecord): Promise<void> {
    const file = this.options.failureFile;
    if (file) {
      try {
        await appendOnFailureRecord(file, record);
      } catch (error) {
        this.logger.error('cannot write the on-failure record', { file, error: errorMessage(error), record });
      }
    }
    try {
      this.options.onFailureRecord?.(record);
    } catch (error) {
      this.logger.error('onFailureRecord threw', { error: errorMessage(error) });
    }
  }
}

class ShardWorker {
  parent: ShardWorker | undefined;
  abandoned = false;
  isFinished = false;
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;
  launched = false;
  private iterator: string | undefined;
  /** Sequence number of the last record read into the buffer; iterators are re-acquired after it. */
  private lastReadSeq: string | undefined;
  private trimmed = false;
  private closed = false;
  private readonly buffer: Buffered[] = [];
  private readonly plan: PlannedBatch[] = [];

  constructor(
    private readonly poller: StreamPollerImpl,
    readonly shardId: string,
    readonly parentShardId: string | undefined,
    readonly startType: 'LATEST' | 'TRIM_HORIZON',
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  private get settings() {
    return this.poller.settings;
  }

  private get shouldExit() {
    return this.poller.stopping || this.abandoned;
  }

  launch(): void {
    if (this.launched) return;
    this.launched = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      if (this.parent) await this.parent.finished;
      while (!this.shouldExit) {
        try {
          if (this.plan.length === 0 && !this.closed && this.buffer.length < this.settings.batchSize) await this.fill();
          if (this.shouldExit) break;
          if (this.buffer.length > 0) await this.processNext();
          else if (this.closed) break;
        } catch (error) {
          // Nothing above should throw; if it does, keep the shard alive rather than the process dying.
          this.poller.logger.error('unexpected error in shard loop', { shardId: this.shardId, error: errorMessage(error) });
          await this.poller.pause(this.poller.errorBackoff.maxMs);
        }
      }
      if (!this.shouldExit && this.closed && this.buffer.length === 0) {
        this.isFinished = true;
        this.poller.shardFinished(this);
      }
    } finally {
      this.isFinished = true;
      this.resolveFinished();
    }
  }

  /**
   * Reads until a full batch is buffered or the batching window has passed. The window
   * opens when the first record of the batch is buffered (or at once for records left
   * over from the last read), never while the shard is idle. Window 0 = invoke with
   * whatever the first non-empty GetRecords returned.
   */
  private async fill(): Promise<void> {
    const windowMs = this.settings.maxBatchingWindowSeconds * 1000;
    let windowStart = this.buffer.length > 0 ? Date.now() : undefined;
    while (!this.shouldExit && !this.closed) {
      const received = await this.readOnce();
      if (this.buffer.length >= this.settings.batchSize) return;
      if (this.buffer.length > 0) windowStart ??= Date.now();
      const elapsed = windowStart === undefined ? 0 : Date.now() - windowStart;
      if (windowStart !== undefined && elapsed >= windowMs) return;
      if (received > 0) continue;
      if (received === 0) {
        const wait = windowStart === undefined ? this.settings.pollIntervalMs : Math.min(this.settings.pollIntervalMs, windowMs - elapsed);
        await this.poller.pause(wait);
      }
    }
  }

  /** One GetRecords call: the number of records read, or -1 after an error (already backed off). */
  private async readOnce(): Promise<number> {
    if (!this.iterator && !(await this.acquireIterator())) return -1;
    try {
      const out = await this.poller.client.send(
        new GetRecordsCommand({
          ShardIterator: this.iterator,
          Limit: Math.min(1000, Math.max(1, this.settings.batchSize - this.buffer.length)),
        }),
      );
      this.poller.streamsCallSucceeded();
      const records = out.Records ?? [];
      for (const record of records) this.push(record);
      this.iterator = out.NextShardIterator;
      // No NextShardIterator: the shard is closed and read to its end (DynamoDB Streams roll-over).
      if (!out.NextShardIterator) this.closed = true;
      return records.length;
    } catch (error) {
      switch (errorName(error)) {
        case 'ExpiredIteratorException':
          // Iterators live 15 minutes; take a new one after the last record read.
          this.iterator = undefined;
          this.poller.logger.debug('shard iterator expired; re-acquiring', { shardId: this.shardId, after: this.lastReadSeq });
          return 0;
        case 'TrimmedDataAccessException':
          this.iterator = undefined;
          this.trimmed = true;
          return 0;
        case 'ResourceNotFoundException':
          this.iterator = undefined;
          this.poller.requestDiscovery();
          await this.poller.pause(this.poller.streamsCallFailed('GetRecords', error, this.shardId));
          return -1;
        default:
          // A refused or timed-out connection keeps the iterator (DynamoDB Local may just be paused);
          // an answer rejecting the iterator (e.g. after a restart) means take a new one.
          if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== undefined) {
            this.iterator = undefined;
          }
          await this.poller.pause(this.poller.streamsCallFailed('GetRecords', error, this.shardId));
          return -1;
      }
    }
  }

  private iteratorRequest(): GetShardIteratorCommandInput {
    const base = { StreamArn: this.poller.streamArn, ShardId: this.shardId };
    if (this.lastReadSeq && !this.trimmed) return { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: this.lastReadSeq };
    return { ...base, ShardIteratorType: this.trimmed ? 'TRIM_HORIZON' : this.startType };
  }

  async acquireIteratorOrThrow(): Promise<void> {
    const out = await this.poller.client.send(new GetShardIteratorCommand(this.iteratorRequest()), {
      abortSignal: this.poller.stoppingSignal,
    });
    this.iterator = out.ShardIterator;
    this.trimmed = false;
  }

  private async acquireIterator(): Promise<boolean> {
    try {
      await this.acquireIteratorOrThrow();
      this.poller.streamsCallSucceeded();
      if (!this.iterator) this.closed = true;
      return true;
    } catch (error) {
      if (errorName(error) === 'TrimmedDataAccessException') {
        this.poller.logger.warn('records after the last one read were trimmed; continuing from TRIM_HORIZON', {
          shardId: this.shardId,
          after: this.lastReadSeq,
        });
        this.trimmed = true;
        return false;
      }
      if (errorName(error) === 'ResourceNotFoundException') this.poller.requestDiscovery();
      await this.poller.pause(this.poller.streamsCallFailed('GetShardIterator', error, this.shardId));
      return false;
    }
  }

  private push(record: StreamsRecord): void {
    const event = toLambdaStreamRecord(record, { eventSourceARN: this.poller.streamArn, awsRegion: this.poller.awsRegion });
    const seq = record.dynamodb?.SequenceNumber ?? '';
    this.buffer.push({
      seq,
      event,
      bytes: Buffer.byteLength(JSON.stringify(event)),
      createdAt: record.dynamodb?.ApproximateCreationDateTime,
    });
    this.lastReadSeq = seq;
  }

  /** Up to batchSize buffered records, but never more than Lambda's 6 MB payload (at least one record). */
  private nextBatchSize(): number {
    const limit = Math.min(this.settings.batchSize, this.buffer.length);
    let bytes = 0;
    for (let i = 0; i < limit; i++) {
      bytes += this.buffer[i]!.bytes + 1;
      if (bytes > MAX_PAYLOAD_BYTES && i > 0) return i;
    }
    return limit;
  }

  private isTooOld(record: Buffered, now: number): boolean {
    const maxAge = this.settings.maxRecordAgeSeconds;
    return maxAge >= 0 && record.createdAt !== undefined && now - record.createdAt.getTime() > maxAge * 1000;
  }

  private exhausted(failures: number): boolean {
    return this.settings.retryAttempts >= 0 && failures > this.settings.retryAttempts;
  }

  private async processNext(): Promise<void> {
    if (this.plan.length === 0) this.plan.push({ size: this.nextBatchSize(), failures: 0, isRetry: false });
    const planned = this.plan[0]!;

    // MaximumRecordAgeInSeconds: too-old records go to the on-failure destination, not the function.
    const now = Date.now();
    let tooOld = 0;
    while (tooOld < planned.size && this.isTooOld(this.buffer[tooOld]!, now)) tooOld++;
    if (tooOld > 0) {
      await this.discard(tooOld, 'RecordAgeExceeded', planned.failures, planned.lastResponse ?? {});
      planned.size -= tooOld;
      if (planned.size === 0) this.plan.shift();
      return;
    }

    const batch = this.buffer.slice(0, planned.size);
    const outcome = await this.invoke(batch, planned.isRetry);
    if (outcome.kind === 'success') {
      this.checkpoint(planned.size);
      this.plan.shift();
      return;
    }

    this.poller.counters.failures++;
    if (outcome.kind === 'partial') {
      // ReportBatchItemFailures: checkpoint before the lowest reported sequence number, retry from it.
      this.poller.counters.partialFailures++;
      this.checkpoint(outcome.index);
      const failures = (outcome.index === 0 ? planned.failures : 0) + 1;
      const lastResponse = { statusCode: 200, executedVersion: '$LATEST' };
      // With bisect on, AWS "bisects the batch at the returned sequence number and retries only the
      // remaining records"; without it, it re-reads from the checkpoint up to BatchSize records.
      const size = this.settings.bisectBatchOnError ? planned.size - outcome.index : this.nextBatchSize();
      this.poller.logger.debug('partial batch failure', { shardId: this.shardId, from: this.buffer[0]?.seq, failures });
      if (this.exhausted(failures)) {
        this.plan.shift();
        await this.discard(size, 'RetryAttemptsExhausted', failures, lastResponse);
        return;
      }
      this.plan[0] = { size, failures, isRetry: true, lastResponse };
      await this.poller.pause(backoffMs(this.poller.retryBackoff, failures));
      return;
    }

    const lastResponse = { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' as const };
    this.poller.logger.warn('batch failed', {
      shardId: this.shardId,
      records: planned.size,
      firstSequenceNumber: batch[0]?.seq,
      reason: outcome.reason,
    });
    if (this.settings.bisectBatchOnError && planned.size > 1) {
      // BisectBatchOnFunctionError: retry the halves separately, in order. Splitting does not use up
      // the retry attempts of the halves (our reading of the docs), so a poison record is isolated.
      const first = Math.ceil(planned.size / 2);
      this.plan.splice(
        0,
        1,
        { size: first, failures: 0, isRetry: true, lastResponse },
        { size: planned.size - first, failures: 0, isRetry: true, lastResponse },
      );
      this.poller.counters.bisects++;
      await this.poller.pause(backoffMs(this.poller.retryBackoff, 1));
      return;
    }
    const failures = planned.failures + 1;
    if (this.exhausted(failures)) {
      this.plan.shift();
      await this.discard(planned.size, 'RetryAttemptsExhausted', failures, lastResponse);
      return;
    }
    this.plan[0] = { size: planned.size, failures, isRetry: true, lastResponse };
    await this.poller.pause(backoffMs(this.poller.retryBackoff, failures));
  }

  private async invoke(batch: Buffered[], isRetry: boolean): Promise<BatchOutcome> {
    const counters = this.poller.counters;
    counters.batches++;
    counters.records += batch.length;
    if (isRetry) counters.retries++;
    const last = batch[batch.length - 1]?.createdAt;
    if (last) counters.lastIteratorAgeMs = Math.max(0, Date.now() - last.getTime());
    // A fresh copy per invocation, as Lambda deserializes its own: a handler that mutates the
    // event must not change what a retry sends.
    const event: DynamoDBStreamEvent = { Records: batch.map((record) => structuredClone(record.event)) };
    try {
      const response = await this.poller.options.invoke(event);
      if (!this.settings.reportBatchItemFailures) return { kind: 'success' };
      return interpretBatchResponse(
        response,
        batch.map((record) => record.seq),
      );
    } catch (error) {
      return { kind: 'error', reason: `${errorName(error)}: ${errorMessage(error)}`, error };
    }
  }

  private checkpoint(count: number): void {
    if (count <= 0) return;
    this.buffer.splice(0, count);
    this.poller.counters.succeededRecords += count;
  }

  private async discard(
    count: number,
    condition: OnFailureCondition,
    approximateInvokeCount: number,
    responseContext: OnFailureRecord['responseContext'],
  ): Promise<void> {
    const dropped = this.buffer.splice(0, count);
    if (dropped.length === 0) return;
    const first = dropped[0]!;
    const last = dropped[dropped.length - 1]!;
    const record: OnFailureRecord = {
      requestContext: { requestId: randomUUID(), functionArn: this.poller.functionArn, condition, approximateInvokeCount },
      responseContext,
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: this.shardId,
        startSequenceNumber: first.seq,
        endSequenceNumber: last.seq,
        approximateArrivalOfFirstRecord: awsTimestamp(first.createdAt),
        approximateArrivalOfLastRecord: awsTimestamp(last.createdAt),
        batchSize: dropped.length,
        streamArn: this.poller.streamArn,
      },
    };
    this.poller.logger.warn('records skipped to the on-failure destination', {
      condition,
      shardId: this.shardId,
      startSequenceNumber: first.seq,
      endSequenceNumber: last.seq,
      batchSize: dropped.length,
    });
    await this.poller.writeOnFailure(record);
    // Counted once the destination has the record, so stats never run ahead of the file.
    this.poller.counters.discardedRecords += dropped.length;
    this.poller.counters.discardedBatches++;
  }
}
