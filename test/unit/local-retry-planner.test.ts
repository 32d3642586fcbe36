import { describe, expect, it } from 'vitest';
import type { BatchOutcome } from '../../local/streams/batch-response.js';
import { decide, tooOldPrefix, type Decision, type PlannedBatch, type RetrySettings } from '../../local/streams/retry-planner.js';

const OK = { statusCode: 200, executedVersion: '$LATEST' };
const UNHANDLED = { ...OK, functionError: 'Unhandled' as const };
const fresh = (size: number): PlannedBatch => ({ size, failures: 0, isRetry: false });
const retry = (size: number, failures: number, lastResponse: PlannedBatch['lastResponse'] = UNHANDLED): PlannedBatch => ({
  size,
  failures,
  isRetry: true,
  lastResponse,
});
const error: BatchOutcome = { kind: 'error', reason: 'Error: boom' };
const partial = (index: number): BatchOutcome => ({ kind: 'partial', index });
const bisectOn: RetrySettings = { retryAttempts: 3, bisectBatchOnError: true };
const bisectOff: RetrySettings = { retryAttempts: 3, bisectBatchOnError: false };
/** What a fresh batch would hold after a checkpoint: 100 buffered records, BatchSize 10. */
const refill = (checkpointed: number) => Math.min(10, 100 - checkpointed);

const cases: [string, PlannedBatch, BatchOutcome, RetrySettings, Decision][] = [
  [
    'success checkpoints the whole batch',
    fresh(10),
    { kind: 'success' },
    bisectOn,
    { checkpoint: 10, next: [], partial: false, bisected: false },
  ],
  [
    'a partial failure checkpoints before the lowest reported record and, bisecting, retries only the rest',
    fresh(10),
    partial(4),
    bisectOn,
    {
      checkpoint: 4,
      next: [{ size: 6, failures: 1, isRetry: true, lastResponse: OK }],
      backoffAttempt: 1,
      partial: true,
      bisected: false,
    },
  ],
  [
    'a partial failure without bisect re-reads a full batch from the checkpoint',
    fresh(10),
    partial(4),
    bisectOff,
    {
      checkpoint: 4,
      next: [{ size: 10, failures: 1, isRetry: true, lastResponse: OK }],
      backoffAttempt: 1,
      partial: true,
      bisected: false,
    },
  ],
  [
    'the same head record failing again counts one more attempt',
    retry(6, 2, OK),
    partial(0),
    bisectOn,
    {
      checkpoint: 0,
      next: [{ size: 6, failures: 3, isRetry: true, lastResponse: OK }],
      backoffAttempt: 3,
      partial: true,
      bisected: false,
    },
  ],
  [
    'a partial failure that moved the head starts counting again',
    retry(6, 3, OK),
    partial(2),
    bisectOn,
    {
      checkpoint: 2,
      next: [{ size: 4, failures: 1, isRetry: true, lastResponse: OK }],
      backoffAttempt: 1,
      partial: true,
      bisected: false,
    },
  ],
  [
    'past the retry limit the rest of a partial batch goes to the on-failure destination',
    retry(6, 3, OK),
    partial(0),
    bisectOn,
    { checkpoint: 0, next: [], discard: { count: 6, failures: 4, response: OK }, partial: true, bisected: false },
  ],
  [
    'a whole-batch failure with bisect splits it into halves that keep their own attempts',
    retry(7, 2),
    error,
    bisectOn,
    {
      checkpoint: 0,
      next: [
        { size: 4, failures: 0, isRetry: true, lastResponse: UNHANDLED },
        { size: 3, failures: 0, isRetry: true, lastResponse: UNHANDLED },
      ],
      backoffAttempt: 1,
      partial: false,
      bisected: true,
    },
  ],
  [
    'a single failing record is retried whole, one attempt more',
    retry(1, 1),
    error,
    bisectOn,
    {
      checkpoint: 0,
      next: [{ size: 1, failures: 2, isRetry: true, lastResponse: UNHANDLED }],
      backoffAttempt: 2,
      partial: false,
      bisected: false,
    },
  ],
  [
    'without bisect a failed batch is retried whole',
    fresh(10),
    error,
    bisectOff,
    {
      checkpoint: 0,
      next: [{ size: 10, failures: 1, isRetry: true, lastResponse: UNHANDLED }],
      backoffAttempt: 1,
      partial: false,
      bisected: false,
    },
  ],
  [
    'past the retry limit a failed record goes to the on-failure destination',
    retry(1, 3),
    error,
    bisectOn,
    { checkpoint: 0, next: [], discard: { count: 1, failures: 4, response: UNHANDLED }, partial: false, bisected: false },
  ],
  [
    'retryAttempts -1 retries for ever (until the records expire)',
    retry(1, 10_000),
    error,
    { retryAttempts: -1, bisectBatchOnError: true },
    {
      checkpoint: 0,
      next: [{ size: 1, failures: 10_001, isRetry: true, lastResponse: UNHANDLED }],
      backoffAttempt: 10_001,
      partial: false,
      bisected: false,
    },
  ],
  [
    'retryAttempts 0 gives up after the first failure',
    fresh(1),
    error,
    { retryAttempts: 0, bisectBatchOnError: false },
    { checkpoint: 0, next: [], discard: { count: 1, failures: 1, response: UNHANDLED }, partial: false, bisected: false },
  ],
];

describe('retry planner', () => {
  it.each(cases)('%s', (_name, planned, outcome, settings, expected) => {
    expect(decide(planned, outcome, settings, refill)).toEqual(expected);
  });
});

describe('maximum record age', () => {
  const now = Date.parse('2026-12-01T10:00:00.000Z');
  const ago = (seconds: number) => new Date(now - seconds * 1000);

  it.each([
    ['none too old', [ago(1), ago(2)], 60, 0],
    ['a too-old head', [ago(120), ago(61), ago(10), ago(200)], 60, 2],
    ['exactly the limit is not too old', [ago(60)], 60, 0],
    ['a record without a creation time stops the prefix', [ago(120), undefined, ago(200)], 60, 1],
    ['-1 means no limit', [ago(10_000)], -1, 0],
  ] as const)('%s', (_name, createdAts, maxAge, expected) => {
    expect(tooOldPrefix(createdAts, now, maxAge)).toBe(expected);
  });
});
