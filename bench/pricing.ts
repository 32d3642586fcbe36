import { FUNCTIONS } from '../lib/definitions.js';

/**
 * Public AWS list prices, us-east-1, first pricing tier, as published on the
 * pages below (DynamoDB on-demand after its 1 November 2024 price cut).
 * Recorded 2026-11-27; they are not fetched at run time, so re-check them
 * before quoting a figure.
 */
export const PRICES = {
  /** https://aws.amazon.com/lambda/pricing/ : $0.20 per 1M requests. */
  lambdaPerRequest: 0.2 / 1e6,
  /** https://aws.amazon.com/lambda/pricing/ : Arm, $0.0000133334 per GB-second (first 7.5B GB-s/month); billed per 1 ms. */
  lambdaArmPerGbSecond: 0.0000133334,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ : $0.625 per million write request units (1 WRU = a write of up to 1 KB). */
  dynamoWriteRequestUnit: 0.625 / 1e6,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ : $0.125 per million read request units (1 RRU = a strongly consistent 4 KB read, or two eventually consistent ones). */
  dynamoReadRequestUnit: 0.125 / 1e6,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ : "GetRecords API calls invoked by AWS Lambda as part of DynamoDB triggers are free." */
  dynamoStreamReadByLambda: 0,
  /** https://aws.amazon.com/api-gateway/pricing/ : WebSocket APIs, $1.00 per million messages (first 1B), metered in 32 KB increments. */
  wsMessage: 1.0 / 1e6,
  wsMessageIncrementBytes: 32 * 1024,
  /** https://aws.amazon.com/api-gateway/pricing/ : WebSocket APIs, $0.25 per million connection minutes. */
  wsConnectionMinute: 0.25 / 1e6,
  /** https://aws.amazon.com/api-gateway/pricing/ : HTTP APIs, $1.00 per million requests (first 300M), metered in 512 KB increments. */
  httpApiRequest: 1.0 / 1e6,
} as const;

export const PRICE_SOURCES = [
  'https://aws.amazon.com/lambda/pricing/',
  'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  'https://aws.amazon.com/api-gateway/pricing/',
];

/** What one stream batch of the broadcaster cost in calls, counted on the real code. */
export interface BatchCalls {
  /** Task updates in the batch (stream records). */
  records: number;
  /** Read request units of the batch's connection Queries (eventually consistent). */
  readRequestUnits: number;
  /** `@connections` posts, in 32 KB message units. */
  messageUnits: number;
  /** Broadcaster duration for the batch (ms), measured locally. */
  broadcasterMs: number;
}

export interface UpdateCostAssumptions {
  /** Billed duration of one tasks API write (ms). */
  tasksApiMs: number;
  /** Write request units of one task write (a conditional Put of an item under 1 KB). */
  writeRequestUnits: number;
}

/** Dollars for one million task updates, by line item. */
export type CostLines = Record<
  'httpApi' | 'tasksLambda' | 'dynamoWrite' | 'stream' | 'broadcasterLambda' | 'connectionQueries' | 'wsMessages' | 'total',
  number
>;

const gb = (mb: number) => mb / 1024;
const lambdaUsd = (ms: number, memoryMb: number) => (Math.ceil(ms) / 1000) * gb(memoryMb) * PRICES.lambdaArmPerGbSecond;

/**
 * Cost of one million updates: every update is one HTTP API request, one
 * tasks Lambda invocation and one write; the broadcaster's invocation,
 * Queries and posts are shared by the records of a batch, so each update pays
 * 1/records of the batch. Connection minutes are not per update and are left
 * out (a socket open all month is 43,800 minutes, about $0.011).
 */
export function usdPerMillionUpdates(batch: BatchCalls, assume: UpdateCostAssumptions): CostLines {
  const perUpdate = {
    httpApi: PRICES.httpApiRequest,
    tasksLambda: PRICES.lambdaPerRequest + lambdaUsd(assume.tasksApiMs, FUNCTIONS.tasksApi.memoryMb),
    dynamoWrite: assume.writeRequestUnits * PRICES.dynamoWriteRequestUnit,
    stream: PRICES.dynamoStreamReadByLambda,
    broadcasterLambda: (PRICES.lambdaPerRequest + lambdaUsd(batch.broadcasterMs, FUNCTIONS.broadcaster.memoryMb)) / batch.records,
    connectionQueries: (batch.readRequestUnits * PRICES.dynamoReadRequestUnit) / batch.records,
    wsMessages: (batch.messageUnits * PRICES.wsMessage) / batch.records,
  };
  const lines = Object.fromEntries(Object.entries(perUpdate).map(([k, v]) => [k, v * 1e6])) as Omit<CostLines, 'total'>;
  const total = Object.values(lines).reduce((n, v) => n + v, 0);
  return { ...lines, total };
}
