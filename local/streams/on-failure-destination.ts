import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

export type OnFailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/**
 * The message Lambda sends to a stream event source mapping's on-failure destination
 * (SQS/SNS) for discarded records: metadata only, the records stay in the stream
 * (AWS: "Retaining discarded batches for a DynamoDB event source", invocation record).
 */
export interface OnFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: OnFailureCondition;
    approximateInvokeCount: number;
  };
  /** From the last invocation of the discarded records; `{}` when they were never invoked. */
  responseContext: { statusCode?: number; executedVersion?: string; functionError?: 'Unhandled' };
  version: '1.0';
  timestamp: string;
  DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/** Appends one JSON line per record to `file` (directories created), the local stand-in for the SQS queue. */
export async function appendOnFailureRecord(file: string, record: OnFailureRecord): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(record)}\n`, 'utf8');
}

/** `2019-11-14T00:13:19Z`: the second-precision form AWS uses in DDBStreamBatchInfo. */
export function awsTimestamp(date: Date | undefined): string {
  return (date ?? new Date(0)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
