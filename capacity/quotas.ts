/**
 * AWS's published default quotas that bound this product, us-east-1, one
 * account. Each value is written with the page it comes from and the day it
 * was recorded; they are not fetched at run time, so re-check them (and your
 * own account's values in the Service Quotas console) before relying on a
 * figure. `adjustable` says whether AWS raises it on request.
 *
 * The model reads only these values (through `QuotaValues`), so an account
 * with raised quotas can pass its own with `--quota id=value`.
 */

export const QUOTAS_RECORDED = '2026-12-03';

export interface Quota {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** true: default, adjustable on request; false: fixed by AWS. */
  readonly adjustable: boolean;
  readonly source: string;
  readonly recorded: string;
  readonly note?: string;
}

const APIGW_WS =
  'https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html';
const APIGW_ACCOUNT = 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html';
const LAMBDA_QUOTAS = 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html';
const LAMBDA_SCALING = 'https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html';
const LAMBDA_CONCURRENCY = 'https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html';
const LAMBDA_DDB = 'https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html';
const DDB_QUOTAS = 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html';
const DDB_PARTITIONS = 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html';
const DDB_ON_DEMAND = 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html';
const DDB_STREAMS = 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html';
const COGNITO_QUOTAS = 'https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html';

const q = (quota: Omit<Quota, 'recorded'>): Quota => ({ ...quota, recorded: QUOTAS_RECORDED });

export const QUOTAS = {
  wsNewConnectionsPerSecond: q({
    name: 'API Gateway WebSocket new connections per second (account, Region, all WebSocket APIs)',
    value: 500,
    unit: 'connections/s',
    adjustable: true,
    source: APIGW_WS,
    note: 'Service Quotas code L-9ED1E49A. Concurrent connections have no quota of their own: they are bounded by this rate and the 2-hour duration.',
  }),
  wsConnectionDurationSeconds: q({
    name: 'API Gateway WebSocket connection duration',
    value: 7200,
    unit: 's',
    adjustable: false,
    source: APIGW_WS,
    note: 'Every connected device reconnects at least once per 2 hours (LIMITS.wsMaxConnectionSeconds), and once per token when that is shorter (capacity/traffic.ts, connectionLifetimeMinutes).',
  }),
  wsIdleTimeoutSeconds: q({
    name: 'API Gateway WebSocket idle connection timeout',
    value: 600,
    unit: 's',
    adjustable: false,
    source: APIGW_WS,
    note: 'The heartbeat must be shorter, or idle sockets are closed (LIMITS.wsIdleTimeoutSeconds).',
  }),
  wsFrameBytes: q({
    name: 'API Gateway WebSocket frame size (messages are metered in 32 KB units)',
    value: 32 * 1024,
    unit: 'bytes',
    adjustable: false,
    source: APIGW_WS,
    note: 'There is no published per-connection message rate: every message counts against the account throttle below.',
  }),
  wsMessagePayloadBytes: q({
    name: 'API Gateway WebSocket message payload size',
    value: 128 * 1024,
    unit: 'bytes',
    adjustable: false,
    source: APIGW_WS,
  }),
  apiGatewayAccountRps: q({
    name: 'API Gateway throttle per account and Region, across HTTP APIs, WebSocket APIs and WebSocket callback (@connections) APIs',
    value: 10_000,
    unit: 'requests/s',
    adjustable: true,
    source: APIGW_ACCOUNT,
    note: 'Service Quotas code L-8A5B8E43. One shared token bucket: HTTP requests, WebSocket connects and inbound messages, and @connections posts all draw from it.',
  }),
  apiGatewayAccountBurst: q({
    name: 'API Gateway burst (token bucket capacity) per account and Region',
    value: 5_000,
    unit: 'requests',
    adjustable: false,
    source: APIGW_ACCOUNT,
    note: 'Set by AWS from the RPS quota; not requested separately.',
  }),
  lambdaConcurrentExecutions: q({
    name: 'Lambda concurrent executions per account and Region',
    value: 1_000,
    unit: 'executions',
    adjustable: true,
    source: LAMBDA_QUOTAS,
    note: 'New accounts may start lower; AWS raises it with usage.',
  }),
  lambdaRequestsPerSecondPerConcurrency: q({
    name: 'Lambda invocation rate per account: 10 × the concurrency quota',
    value: 10,
    unit: 'requests/s per unit of concurrency',
    adjustable: true,
    source: LAMBDA_CONCURRENCY,
    note: 'Rises with the concurrency quota (10,000 requests/s at the default 1,000).',
  }),
  lambdaScalingPer10Seconds: q({
    name: 'Lambda scaling rate per function: new execution environments per 10 seconds',
    value: 1_000,
    unit: 'environments / 10 s',
    adjustable: false,
    source: LAMBDA_SCALING,
  }),
  dynamoPartitionReadUnits: q({
    name: 'DynamoDB per-partition reads (one partition key value lives in one partition)',
    value: 3_000,
    unit: 'RRU/s',
    adjustable: false,
    source: DDB_PARTITIONS,
  }),
  dynamoPartitionWriteUnits: q({
    name: 'DynamoDB per-partition writes',
    value: 1_000,
    unit: 'WRU/s',
    adjustable: false,
    source: DDB_PARTITIONS,
  }),
  dynamoPartitionGigabytes: q({
    name: 'DynamoDB partition size (a table splits past it)',
    value: 10,
    unit: 'GB',
    adjustable: false,
    source: DDB_PARTITIONS,
  }),
  dynamoOnDemandTableReadUnits: q({
    name: 'DynamoDB on-demand table-level read throughput',
    value: 40_000,
    unit: 'RRU/s per table',
    adjustable: true,
    source: DDB_QUOTAS,
  }),
  dynamoOnDemandTableWriteUnits: q({
    name: 'DynamoDB on-demand table-level write throughput',
    value: 40_000,
    unit: 'WRU/s per table',
    adjustable: true,
    source: DDB_QUOTAS,
  }),
  dynamoOnDemandPeakMultiple: q({
    name: 'DynamoDB on-demand: traffic served at once, as a multiple of the previous peak',
    value: 2,
    unit: '× previous peak',
    adjustable: false,
    source: DDB_ON_DEMAND,
    note: 'The model assumes a table keeps partitions for twice its peak, which sets the stream\u2019s shard count (AWS does not publish partition counts).',
  }),
  streamShardRecordsPerSecond: q({
    name: 'DynamoDB Streams shard: records per second (one shard per table partition, so at most the partition\u2019s 1,000 writes/s)',
    value: 1_000,
    unit: 'records/s per shard',
    adjustable: false,
    source: DDB_STREAMS,
    note: 'Approximate: AWS does not publish a per-shard rate for DynamoDB Streams; it follows the partition write limit.',
  }),
  streamReadersPerShard: q({
    name: 'DynamoDB Streams: processes reading one shard at the same time',
    value: 2,
    unit: 'readers',
    adjustable: false,
    source: DDB_STREAMS,
    note: 'Each stream has its own shards: the broadcaster\u2019s event source mapping is the Tasks stream\u2019s one reader, presence\u2019s the Connections stream\u2019s; a second consumer of either (e.g. an analytics Lambda) is the last one allowed.',
  }),
  esmPollsPerSecondPerShard: q({
    name: 'Lambda event source mapping: polls per shard per second (base rate)',
    value: 4,
    unit: 'polls/s',
    adjustable: false,
    source: LAMBDA_DDB,
    note: 'STREAM_MAPPING.pollIntervalMs reproduces it locally.',
  }),
  esmParallelizationFactorMax: q({
    name: 'Lambda event source mapping: parallelizationFactor (concurrent batches per shard)',
    value: 10,
    unit: 'batches per shard',
    adjustable: false,
    source: LAMBDA_DDB,
    note: '1 to 10; per-item order is kept (records of one partition key stay in order).',
  }),
  cognitoUserAuthenticationRps: q({
    name: 'Cognito user pools UserAuthentication category (sign-in, and /oauth2/token with refresh_token)',
    value: 120,
    unit: 'requests/s per account and Region',
    adjustable: true,
    source: COGNITO_QUOTAS,
    note: 'Every open dashboard refreshes its ID token about once an hour (web/src/auth/cognito.ts).',
  }),
} as const satisfies Record<string, Quota>;

export type QuotaId = keyof typeof QUOTAS;

/** The numbers the model uses: the defaults above, or an account's own. */
export type QuotaValues = Record<QuotaId, number>;

export const DEFAULT_QUOTA_VALUES: QuotaValues = Object.fromEntries(
  Object.entries(QUOTAS).map(([id, quota]) => [id, quota.value]),
) as QuotaValues;

export function isQuotaId(id: string): id is QuotaId {
  return Object.hasOwn(QUOTAS, id);
}
