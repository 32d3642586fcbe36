import { FUNCTIONS, type FunctionName } from '../lib/definitions.js';
import { EXTRA_PRICES, PRICES, tieredCost } from './prices.js';
import type { Profile } from './profile.js';
import { SECONDS_PER_MONTH, type Traffic } from './traffic.js';
import type { Units } from './units.js';

/**
 * The monthly bill by service, from the average traffic (traffic.ts, mode
 * 'average') over a 730-hour month. us-east-1 list prices; free tiers left
 * out except Cognito's and CloudFront's (prices.ts).
 */

export const SERVICES = [
  'lambda',
  'apiGatewayHttp',
  'apiGatewayWebSocket',
  'dynamodb',
  'cognito',
  'cloudwatchLogs',
  'cloudfrontS3',
] as const;
export type Service = (typeof SERVICES)[number];

export const SERVICE_NAMES: Record<Service, string> = {
  lambda: 'Lambda (arm64)',
  apiGatewayHttp: 'API Gateway HTTP',
  apiGatewayWebSocket: 'API Gateway WebSocket',
  dynamodb: 'DynamoDB on-demand',
  cognito: 'Cognito (Essentials)',
  cloudwatchLogs: 'CloudWatch Logs',
  cloudfrontS3: 'CloudFront + S3',
};

export interface MonthlyCost {
  byService: Record<Service, number>;
  /** Finer lines (dollars a month), e.g. `lambda.wsDefault`, `dynamodb.writes`. */
  lines: Record<string, number>;
  total: number;
  perUser: number;
  /** Dollars a month that the heartbeat's pings alone cause (messages, wsDefault, reads, logs). */
  pings: number;
}

const GB = 1024 ** 3;

export function lambdaInvocationUsd(ms: number, memoryMb: number): number {
  return PRICES.lambdaPerRequest + (Math.ceil(ms) / 1000) * (memoryMb / 1024) * PRICES.lambdaArmPerGbSecond;
}

export function monthlyCost(p: Profile, u: Units, average: Traffic): MonthlyCost {
  const month = (perSecond: number) => perSecond * SECONDS_PER_MONTH;
  const lines: Record<string, number> = {};

  let lambda = 0;
  let invocations = 0;
  for (const [fn, { invocations: perSecond, ms }] of Object.entries(average.lambda) as [
    FunctionName,
    Traffic['lambda'][FunctionName],
  ][]) {
    const usd = month(perSecond) * lambdaInvocationUsd(ms, FUNCTIONS[fn].memoryMb);
    lines[`lambda.${fn}`] = usd;
    lambda += usd;
    invocations += month(perSecond);
  }

  const http = tieredCost(month(average.rate.httpRequests), EXTRA_PRICES.httpApiTiers);
  lines['apiGatewayHttp.requests'] = http;

  const messages = tieredCost(month(average.rate.wsMessages), EXTRA_PRICES.wsMessageTiers);
  const connectionMinutes = (month(average.sockets) / 60) * PRICES.wsConnectionMinute;
  lines['apiGatewayWebSocket.messages'] = messages;
  lines['apiGatewayWebSocket.connectionMinutes'] = connectionMinutes;

  const tables = Object.values(average.tables);
  const writes = month(tables.reduce((n, t) => n + t.writeUnits, 0)) * PRICES.dynamoWriteRequestUnit;
  const reads = month(tables.reduce((n, t) => n + t.readUnits, 0)) * PRICES.dynamoReadRequestUnit;
  const storage = Object.values(average.storageGb).reduce((n, g) => n + g, 0) * EXTRA_PRICES.dynamoStorageGbMonth;
  lines['dynamodb.writes'] = writes;
  lines['dynamodb.reads'] = reads;
  lines['dynamodb.storage'] = storage;
  // GetRecords by a Lambda trigger is free (PRICES.dynamoStreamReadByLambda): the broadcaster's on the Tasks
  // stream and presence's on the Connections stream.
  lines['dynamodb.streamReads'] = 0;

  const cognito = Math.max(0, average.users - EXTRA_PRICES.cognitoFreeMau) * EXTRA_PRICES.cognitoEssentialsPerMau;
  lines['cognito.mau'] = cognito;

  const logs = ((invocations * p.logBytesPerInvocation) / GB) * EXTRA_PRICES.cloudwatchLogsIngestGb;
  lines['cloudwatchLogs.ingestion'] = logs;

  const loads = month(average.rate.pageLoads);
  const cdnRequests = Math.max(0, loads * u.pageLoadRequests.value - EXTRA_PRICES.cloudfrontFreeRequests);
  const cdnGb = Math.max(0, (loads * u.pageLoadBytes.value) / GB - EXTRA_PRICES.cloudfrontFreeGb);
  const cdn = cdnRequests * EXTRA_PRICES.cloudfrontHttpsRequest + cdnGb * EXTRA_PRICES.cloudfrontGbOut;
  lines['cloudfrontS3.requestsAndTransfer'] = cdn;

  const byService: Record<Service, number> = {
    lambda,
    apiGatewayHttp: http,
    apiGatewayWebSocket: messages + connectionMinutes,
    dynamodb: writes + reads + storage,
    cognito,
    cloudwatchLogs: logs,
    cloudfrontS3: cdn,
  };
  const total = Object.values(byService).reduce((a, b) => a + b, 0);

  // What one ping costs at first-tier prices: a message in and the PONG out, a wsDefault
  // invocation and its log lines, and the Changes read of `since`.
  const perPing =
    2 * PRICES.wsMessage +
    lambdaInvocationUsd(u.wsDefaultMs.value, FUNCTIONS.wsDefault.memoryMb) +
    u.pingReadUnits.value * PRICES.dynamoReadRequestUnit +
    (p.logBytesPerInvocation / GB) * EXTRA_PRICES.cloudwatchLogsIngestGb;
  const pings = month(average.rate.pings) * perPing;

  return { byService, lines, total, perUser: average.users > 0 ? total / average.users : 0, pings };
}
