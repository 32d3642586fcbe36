import { randomUUID } from 'node:crypto';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type GetShardIteratorCommandInput,
  type _Record as StreamsRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { interpretBatchResponse, type BatchOutcome } from './batch-response.js';
import { awsTimestamp, type OnFailureCondition, type OnFailureRecord } from './on-failure-destination.js';
import { decide, tooOldPrefix, type PlannedBatch } from './retry-planner.js';
import { toLambdaStreamRecord } from './stream-event-builder.js';
import type { LocalLogger } from '../shared/logger.js';
import type { Backoff, StreamMappingSettings, StreamPollerStats } from './stream-poller.js';

/** Lambda's synchronous invocation payload limit; a batch never exceeds it. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export const errorName = (error: unknown): string => (error as { name?: string } | null)?.name ?? 'Error';
export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
export const backoffMs = (backoff: Backoff, attempt: number) =>
  Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 20)));

/** What a shard worker needs from the poller that owns it (stream-poller.ts). */
export interface ShardHost {
  readonly settings: StreamMappingSettings;
  readonly client: DynamoDBStreamsClient;
  readonly logger: LocalLogger;
  readonly functionArn: string;
  readonly awsRegion: string;
  readonly retryBackoff: Backoff;
  readonly errorBackoff: Backoff;
  readonly streamArn: string;
  readonly stopping: boolean;
  readonly stoppingSignal: AbortSignal;
  readonly counters: Omit<StreamPollerStats, 'activeShards' | 'streamArn'>;
  invoke(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse | void>;
  pause(ms: number): Promise<void>;
  streamsCallFailed(operation: string, error: unknown, shardId?: string): number;
  streamsCallSucceeded(): void;
  requestDiscovery(): void;
  shardFinished(worker: ShardWorker): void;
  writeOnFailure(record: OnFailureRecord): Promise<void>;
}

interface Buffered {
  seq: string;
  event: DynamoDBRecord;
  bytes: number;
  createdAt: Date | undefined;
}

/**
 * Reads one shard in order and invokes the function with its records, one
 * batch in flight, applying retry-planner.ts's decisions: checkpoint, retry
 * (bisected or not), or send to the on-failure destination. A child shard's
 * worker starts once its parent's has finished.
 */
export class ShardWorker {
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
    private readonly poller: ShardHost,
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
        const wait =
          windowStart === undefined ? this.settings.pollIntervalMs : Math.min(this.settings.pollIntervalMs, windowMs - elapsed);
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
    if (this.lastReadSeq && !this.trimmed)
      return { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: this.lastReadSeq };
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

  /**
   * Up to batchSize buffered records after the first `skip`, but never more
   * than Lambda's 6 MB payload (at least one record).
   */
  private nextBatchSize(skip = 0): number {
    const limit = Math.min(this.settings.batchSize, this.buffer.length - skip);
    let bytes = 0;
    for (let i = 0; i < limit; i++) {
      bytes += this.buffer[skip + i]!.bytes + 1;
      if (bytes > MAX_PAYLOAD_BYTES && i > 0) return i;
    }
    return limit;
  }

  private async processNext(): Promise<void> {
    if (this.plan.length === 0) this.plan.push({ size: this.nextBatchSize(), failures: 0, isRetry: false });
    const planned = this.plan[0]!;

    // MaximumRecordAgeInSeconds: too-old records go to the on-failure destination, not the function.
    const head = this.buffer.slice(0, planned.size).map((record) => record.createdAt);
    const tooOld = tooOldPrefix(head, Date.now(), this.settings.maxRecordAgeSeconds);
    if (tooOld > 0) {
      await this.discard(tooOld, 'RecordAgeExceeded', planned.failures, planned.lastResponse ?? {});
      planned.size -= tooOld;
      if (planned.size === 0) this.plan.shift();
      return;
    }

    const batch = this.buffer.slice(0, planned.size);
    const outcome = await this.invoke(batch, planned.isRetry);
    const decision = decide(planned, outcome, this.settings, (checkpointed) => this.nextBatchSize(checkpointed));
    const counters = this.poller.counters;
    if (outcome.kind !== 'success') counters.failures++;
    if (decision.partial) counters.partialFailures++;
    if (decision.bisected) counters.bisects++;
    if (outcome.kind === 'error') {
      this.poller.logger.warn('batch failed', {
        shardId: this.shardId,
        records: planned.size,
        firstSequenceNumber: batch[0]?.seq,
        reason: outcome.reason,
      });
    } else if (outcome.kind === 'partial') {
      this.poller.logger.debug('partial batch failure', { shardId: this.shardId, from: batch[outcome.index]?.seq });
    }
    this.checkpoint(decision.checkpoint);
    this.plan.splice(0, 1, ...decision.next);
    if (decision.discard) {
      const { count, failures, response } = decision.discard;
      await this.discard(count, 'RetryAttemptsExhausted', failures, response);
    }
    if (decision.backoffAttempt !== undefined)
      await this.poller.pause(backoffMs(this.poller.retryBackoff, decision.backoffAttempt));
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
      const response = await this.poller.invoke(event);
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
