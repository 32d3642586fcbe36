import type { BatchOutcome } from './batch-response.js';
import type { OnFailureRecord } from './on-failure-destination.js';

/**
 * The event source mapping's decisions after an invocation, with no I/O: the
 * shard worker (shard-worker.ts) reads records, invokes and waits; this says
 * what to checkpoint, what to retry, and what goes to the on-failure
 * destination. Rules, as AWS documents them for DynamoDB stream mappings:
 * - ReportBatchItemFailures: checkpoint before the lowest reported sequence
 *   number and retry from it; with BisectBatchOnFunctionError, "bisects the
 *   batch at the returned sequence number and retries only the remaining
 *   records", else re-reads up to BatchSize records from the checkpoint.
 * - A whole-batch failure with bisect on: retry the two halves separately, in
 *   order. Splitting does not use up the halves' retry attempts (our reading
 *   of the docs), so a poison record ends up isolated.
 * - MaximumRetryAttempts (-1 = until the records expire): past it, the
 *   records go to the on-failure destination (RetryAttemptsExhausted).
 * - MaximumRecordAgeInSeconds (-1 = no limit): older records go there
 *   without an invocation (RecordAgeExceeded).
 */

/** The next batch to invoke: `size` records from the head of the shard's buffer. */
export interface PlannedBatch {
  size: number;
  /** Failed invocations of batches starting at this head record (its retry count). */
  failures: number;
  isRetry: boolean;
  lastResponse?: OnFailureRecord['responseContext'];
}

export interface RetrySettings {
  retryAttempts: number;
  bisectBatchOnError: boolean;
}

export interface Decision {
  /** Records at the head of the buffer that are done. */
  checkpoint: number;
  /** What replaces the planned batch at the head of the plan (nothing: plan afresh). */
  next: PlannedBatch[];
  /** Records (after the checkpoint) to send to the on-failure destination. */
  discard?: { count: number; failures: number; response: OnFailureRecord['responseContext'] };
  /** Wait before the next invocation: the retry backoff of this attempt number. */
  backoffAttempt?: number;
  partial: boolean;
  bisected: boolean;
}

const exhausted = (settings: RetrySettings, failures: number) => settings.retryAttempts >= 0 && failures > settings.retryAttempts;

/**
 * What to do after invoking `planned`. `refillSize(checkpointed)` is the size a
 * fresh batch would have once `checkpointed` head records are gone (BatchSize,
 * bounded by the buffer and the 6 MB payload).
 */
export function decide(
  planned: PlannedBatch,
  outcome: BatchOutcome,
  settings: RetrySettings,
  refillSize: (checkpointed: number) => number,
): Decision {
  if (outcome.kind === 'success') return { checkpoint: planned.size, next: [], partial: false, bisected: false };

  if (outcome.kind === 'partial') {
    const response = { statusCode: 200, executedVersion: '$LATEST' };
    const failures = (outcome.index === 0 ? planned.failures : 0) + 1;
    const size = settings.bisectBatchOnError ? planned.size - outcome.index : refillSize(outcome.index);
    if (exhausted(settings, failures)) {
      return {
        checkpoint: outcome.index,
        next: [],
        discard: { count: size, failures, response },
        partial: true,
        bisected: false,
      };
    }
    return {
      checkpoint: outcome.index,
      next: [{ size, failures, isRetry: true, lastResponse: response }],
      backoffAttempt: failures,
      partial: true,
      bisected: false,
    };
  }

  const response = { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' as const };
  if (settings.bisectBatchOnError && planned.size > 1) {
    const first = Math.ceil(planned.size / 2);
    return {
      checkpoint: 0,
      next: [
        { size: first, failures: 0, isRetry: true, lastResponse: response },
        { size: planned.size - first, failures: 0, isRetry: true, lastResponse: response },
      ],
      backoffAttempt: 1,
      partial: false,
      bisected: true,
    };
  }
  const failures = planned.failures + 1;
  if (exhausted(settings, failures)) {
    return { checkpoint: 0, next: [], discard: { count: planned.size, failures, response }, partial: false, bisected: false };
  }
  return {
    checkpoint: 0,
    next: [{ size: planned.size, failures, isRetry: true, lastResponse: response }],
    backoffAttempt: failures,
    partial: false,
    bisected: false,
  };
}

/** How many records at the head of a batch are older than MaximumRecordAgeInSeconds (-1: none ever). */
export function tooOldPrefix(createdAts: readonly (Date | undefined)[], nowMs: number, maxRecordAgeSeconds: number): number {
  if (maxRecordAgeSeconds < 0) return 0;
  let count = 0;
  while (count < createdAts.length) {
    const createdAt = createdAts[count];
    if (createdAt === undefined || nowMs - createdAt.getTime() <= maxRecordAgeSeconds * 1000) break;
    count++;
  }
  return count;
}
