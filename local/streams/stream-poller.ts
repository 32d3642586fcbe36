import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeStreamCommand, DynamoDBStreamsClient, type Shard } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { LOCAL, STREAM_MAPPING } from '../../lib/definitions.js';
import { localClientConfig } from '../dynamodb/client-config.js';
import { consoleLogger, type LocalLogger } from '../shared/logger.js';
import { appendOnFailureRecord, type OnFailureRecord } from './on-failure-destination.js';
import { backoffMs, errorMessage, errorName, ShardWorker, type ShardHost } from './shard-worker.js';

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
  logger?: LocalLogger;
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

const defaultLogger = consoleLogger('stream-poller');

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

class StreamPollerImpl implements StreamPoller, ShardHost {
  readonly settings: StreamMappingSettings;
  readonly client: DynamoDBStreamsClient;
  readonly logger: LocalLogger;
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
    this.logger = options.logger ?? defaultLogger;
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

  invoke(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse | void> {
    return this.options.invoke(event);
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
