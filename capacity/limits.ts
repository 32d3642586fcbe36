import type { FunctionName } from '../lib/definitions.js';
import type { Profile } from './profile.js';
import type { QuotaId, QuotaValues } from './quotas.js';
import type { StreamLoad, TableName, Traffic } from './traffic.js';

/**
 * How much of each AWS limit the peak hour uses. One entry per limit that
 * grows with users (fixed limits such as frame size and the 2-hour cap shape
 * the traffic instead, in traffic.ts).
 */

export const LIMIT_IDS = [
  'wsNewConnections',
  'apiGatewayThrottle',
  'lambdaConcurrency',
  'lambdaInvocationRate',
  'lambdaScaling',
  'dynamoTable',
  'dynamoUserPartition',
  'streamShard',
  'streamBroadcaster',
  'streamPresence',
  'cognitoAuth',
] as const;

export type LimitId = (typeof LIMIT_IDS)[number];

export const LIMIT_NAMES: Record<LimitId, string> = {
  wsNewConnections: 'WebSocket new connections/s',
  apiGatewayThrottle: 'API Gateway account throttle',
  lambdaConcurrency: 'Lambda concurrency',
  lambdaInvocationRate: 'Lambda invocations/s',
  lambdaScaling: 'Lambda scaling (cold surge)',
  dynamoTable: 'DynamoDB table throughput',
  dynamoUserPartition: 'DynamoDB one user\u2019s partition',
  streamShard: 'Stream shard records/s',
  streamBroadcaster: 'Stream → broadcaster (ESM)',
  streamPresence: 'Stream → presence (ESM)',
  cognitoAuth: 'Cognito UserAuthentication',
};

export interface LimitUse {
  id: LimitId;
  name: string;
  demand: number;
  capacity: number;
  unit: string;
  /** demand / capacity: 1 means the limit is reached. */
  utilisation: number;
  detail: string;
  /** false: only a surge from cold (deploy, failover, reconnect storm) exceeds it, not steady traffic. */
  steady: boolean;
  quotas: QuotaId[];
  /** What drives it: the busiest function, table or stream (e.g. `wsDefault`, `changes table reads`, `tasks stream`). */
  subject?: string;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const one = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

export function functionConcurrency(t: Traffic): Record<FunctionName, number> {
  return Object.fromEntries(
    Object.entries(t.lambda).map(([fn, { invocations, ms }]) => [fn, (invocations * ms) / 1000]),
  ) as Record<FunctionName, number>;
}

function largest<K extends string>(values: Record<K, number>): [K, number] {
  return (Object.entries(values) as [K, number][]).reduce((a, b) => (b[1] > a[1] ? b : a));
}

function use(
  id: LimitId,
  demand: number,
  capacity: number,
  unit: string,
  detail: string,
  quotas: QuotaId[],
  steady = true,
  utilisation = demand / capacity,
): LimitUse {
  return { id, name: LIMIT_NAMES[id], demand, capacity, unit, utilisation, detail, steady, quotas };
}

/** Utilisation of every limit, from the peak hour's traffic. */
export function limitUses(p: Profile, peak: Traffic, q: QuotaValues): LimitUse[] {
  const r = peak.rate;
  const concurrency = functionConcurrency(peak);
  const totalConcurrency = Object.values(concurrency).reduce((a, b) => a + b, 0);
  const invocations = Object.values(peak.lambda).reduce((a, b) => a + b.invocations, 0);
  const [busiestFn, busiestConcurrency] = largest(concurrency);

  const tableUse: Record<string, number> = {};
  for (const [table, units] of Object.entries(peak.tables) as [TableName, Traffic['tables'][TableName]][]) {
    tableUse[`${table} reads`] = units.readUnits / q.dynamoOnDemandTableReadUnits;
    tableUse[`${table} writes`] = units.writeUnits / q.dynamoOnDemandTableWriteUnits;
  }
  const [busiestTable, tableUtilisation] = largest(tableUse);
  const [table, kind] = busiestTable.split(' ') as [TableName, 'reads' | 'writes'];
  const tableUnits = kind === 'reads' ? peak.tables[table].readUnits : peak.tables[table].writeUnits;
  const tableQuota = kind === 'reads' ? q.dynamoOnDemandTableReadUnits : q.dynamoOnDemandTableWriteUnits;

  // One user's partition: a burst of writes lands on one partition of Tasks and one of Changes
  // (1 WRU each per write); reads per user are the user's share of the Changes reads.
  const userWrites = p.userBurstWritesPerSecond;
  const userReads = peak.users > 0 ? peak.tables.changes.readUnits / peak.users : 0;
  const userUtilisation = Math.max(userWrites / q.dynamoPartitionWriteUnits, userReads / q.dynamoPartitionReadUnits);

  // Batches in flight per shard: each shard's invocations/s × batch duration.
  const busyPerShard = (load: StreamLoad) =>
    load.shards > 0 ? ((load.invocationsPerSecond / load.shards) * load.batchMs) / 1000 : 0;
  const s = peak.stream;
  const ps = peak.presenceStream;
  // Both streams' shards have the same records/s ceiling: the busier one is reported.
  const busierStream = ps.recordsPerShardPerSecond > s.recordsPerShardPerSecond ? 'connections' : 'tasks';
  const shardRecords = Math.max(s.recordsPerShardPerSecond, ps.recordsPerShardPerSecond);

  const uses = [
    use('wsNewConnections', r.connects, q.wsNewConnectionsPerSecond, 'connects/s', `${one(r.connects)} connects/s`, [
      'wsNewConnectionsPerSecond',
    ]),
    use(
      'apiGatewayThrottle',
      r.apiGatewayRequests,
      q.apiGatewayAccountRps,
      'requests/s',
      `pings ${int(r.pings)} + posts ${int(r.posts)} + HTTP ${int(r.httpRequests)} + connects and hellos ${int(r.connects + r.hellos)} /s`,
      ['apiGatewayAccountRps'],
    ),
    use(
      'lambdaConcurrency',
      totalConcurrency,
      q.lambdaConcurrentExecutions,
      'executions',
      `${int(totalConcurrency)} in flight, ${busiestFn} ${one(busiestConcurrency)}`,
      ['lambdaConcurrentExecutions'],
    ),
    use(
      'lambdaInvocationRate',
      invocations,
      q.lambdaConcurrentExecutions * q.lambdaRequestsPerSecondPerConcurrency,
      'invocations/s',
      `${int(invocations)} invocations/s, wsDefault ${int(peak.lambda.wsDefault.invocations)}`,
      ['lambdaRequestsPerSecondPerConcurrency', 'lambdaConcurrentExecutions'],
    ),
    use(
      'lambdaScaling',
      busiestConcurrency,
      q.lambdaScalingPer10Seconds,
      'environments',
      `${busiestFn} needs ${Math.max(1, Math.ceil(busiestConcurrency / q.lambdaScalingPer10Seconds))} ten-second scaling step(s) from cold`,
      ['lambdaScalingPer10Seconds'],
      false,
    ),
    use(
      'dynamoTable',
      tableUnits,
      tableQuota,
      kind === 'reads' ? 'RRU/s' : 'WRU/s',
      `${table} table ${kind}: ${int(tableUnits)}/s`,
      [kind === 'reads' ? 'dynamoOnDemandTableReadUnits' : 'dynamoOnDemandTableWriteUnits'],
      true,
      tableUtilisation,
    ),
    use(
      'dynamoUserPartition',
      userWrites,
      q.dynamoPartitionWriteUnits,
      'WRU/s',
      `a ${one(userWrites)} writes/s burst of one user; ${userReads.toFixed(3)} RRU/s per user`,
      ['dynamoPartitionWriteUnits', 'dynamoPartitionReadUnits'],
      true,
      userUtilisation,
    ),
    use(
      'streamShard',
      shardRecords,
      q.streamShardRecordsPerSecond,
      'records/s',
      `tasks ${int(s.shards)} shard(s), ${one(s.recordsPerShardPerSecond)} records/s each; connections ${int(ps.shards)} shard(s), ${one(ps.recordsPerShardPerSecond)} records/s each`,
      ['streamShardRecordsPerSecond'],
    ),
    use(
      'streamBroadcaster',
      busyPerShard(s),
      p.parallelizationFactor,
      'batches in flight per shard',
      `${one(s.recordsPerBatch)} records and ${one(s.postsPerBatch)} posts a batch, ${Math.round(s.batchMs)} ms; parallelizationFactor ${p.parallelizationFactor}`,
      ['esmParallelizationFactorMax', 'esmPollsPerSecondPerShard'],
    ),
    use(
      'streamPresence',
      busyPerShard(ps),
      p.presenceParallelizationFactor,
      'batches in flight per shard',
      `${one(ps.recordsPerBatch)} records and ${one(ps.postsPerBatch)} posts a batch, ${Math.round(ps.batchMs)} ms; parallelizationFactor ${p.presenceParallelizationFactor}`,
      ['esmParallelizationFactorMax', 'esmPollsPerSecondPerShard'],
    ),
    use(
      'cognitoAuth',
      r.tokenRefreshes,
      q.cognitoUserAuthenticationRps,
      'requests/s',
      `${one(r.tokenRefreshes)} token refreshes/s`,
      ['cognitoUserAuthenticationRps'],
    ),
  ];
  const subjects: Partial<Record<LimitId, string>> = {
    lambdaConcurrency: busiestFn,
    lambdaScaling: busiestFn,
    dynamoTable: `${table} table ${kind}`,
    streamShard: `${busierStream} stream`,
  };
  return uses.map((l) => (subjects[l.id] ? { ...l, subject: subjects[l.id] } : l));
}
