/**
 * What a stream handler's return value means for a batch when the event source
 * mapping has `FunctionResponseTypes: ['ReportBatchItemFailures']`
 * (AWS: "Configuring partial batch response with DynamoDB and Lambda").
 */
export type BatchOutcome =
  | { kind: 'success' }
  /** Retry from the record at `index` (the lowest reported sequence number); the ones before it are done. */
  | { kind: 'partial'; index: number }
  /** The whole batch failed: a thrown error, a timeout, or a response Lambda cannot use. */
  | { kind: 'error'; reason: string; error?: unknown };

/**
 * Success: null/undefined response, no or null `batchItemFailures`, an empty list.
 * Whole-batch failure: `batchItemFailures` that is not a list, an entry without
 * `itemIdentifier` (bad key name), an empty or null identifier, or an identifier that is
 * not a sequence number of this batch; also a response that is not a JSON object.
 * Otherwise Lambda checkpoints before the lowest reported sequence number.
 */
export function interpretBatchResponse(response: unknown, sequenceNumbers: readonly string[]): BatchOutcome {
  if (response === undefined || response === null) return { kind: 'success' };
  if (typeof response !== 'object' || Array.isArray(response)) {
    return { kind: 'error', reason: 'the response is not a StreamsEventResponse object' };
  }
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) return { kind: 'error', reason: 'batchItemFailures is not a list' };
  if (failures.length === 0) return { kind: 'success' };
  let lowest = Number.POSITIVE_INFINITY;
  for (const failure of failures as unknown[]) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') {
      return { kind: 'error', reason: `batchItemFailures has an empty or missing itemIdentifier (${JSON.stringify(failure)})` };
    }
    const index = sequenceNumbers.indexOf(id);
    if (index < 0) return { kind: 'error', reason: `itemIdentifier ${id} is not a sequence number of this batch` };
    lowest = Math.min(lowest, index);
  }
  return { kind: 'partial', index: lowest };
}
