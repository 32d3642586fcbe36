import { CHANGE_FEED, STREAM_MAPPING, type FunctionName } from '../lib/definitions.js';
import type { Profile } from './profile.js';
import type { QuotaValues } from './quotas.js';
import type { Units } from './units.js';

/**
 * What a number of users asks of the system, per second, either at the peak
 * hour (limits) or on average (the monthly bill). Pure arithmetic on the
 * profile and the per-operation units; docs/capacity.md derives each line.
 */

export type TableName = 'tasks' | 'changes' | 'connections';
export type Mode = 'peak' | 'average';

export const SECONDS_PER_DAY = 86_400;
/** AWS bills a month as 730 hours. */
export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const GB = 1024 ** 3;

export interface StreamLoad {
  /** Shards of the Tasks table's stream: one per partition (partitions kept for twice the peak). */
  shards: number;
  recordsPerShardPerSecond: number;
  /** Records per broadcaster invocation: what arrives between two polls, 1 to batchSize. */
  recordsPerBatch: number;
  /** Broadcaster invocations per second, all shards. */
  invocationsPerSecond: number;
  postsPerBatch: number;
  /** Broadcaster duration of one batch (ms). */
  batchMs: number;
}

export interface Traffic {
  mode: Mode;
  users: number;
  /** Open sockets. */
  sockets: number;
  /** Events per second. */
  rate: {
    changes: number;
    connects: number;
    pings: number;
    hellos: number;
    posts: number;
    behindPulls: number;
    catchUps: number;
    httpRequests: number;
    /** Requests drawn from the API Gateway account throttle: HTTP, connects, inbound WebSocket messages and posts. */
    apiGatewayRequests: number;
    /** WebSocket messages billed (received and sent, 32 KB units). */
    wsMessages: number;
    tokenRefreshes: number;
    pageLoads: number;
  };
  lambda: Record<FunctionName, { invocations: number; ms: number }>;
  /** Read and write request units per second. */
  tables: Record<TableName, { readUnits: number; writeUnits: number }>;
  stream: StreamLoad;
  storageGb: Record<TableName, number>;
}

/** Devices of a user online when that user changes a task: at least the writer's, at most all. */
export function devicesOnlineAtChange(p: Profile): number {
  return Math.min(p.devicesPerUser, Math.max(1, (p.devicesPerUser * p.hoursConnectedPerDay * p.peakToAverage) / 24));
}

/** Connects per device per day: the profile's, but never fewer than the 2-hour cap forces. */
export function connectsPerDevicePerDay(p: Profile, quotas: QuotaValues): number {
  const forced = (p.hoursConnectedPerDay * 3600) / quotas.wsConnectionDurationSeconds;
  return Math.max(p.reconnectsPerDevicePerDay, forced);
}

/** Open sockets: the daily average, or at the peak hour (capped at every device). */
export function openSockets(p: Profile, users: number, mode: Mode): number {
  const average = (users * p.devicesPerUser * p.hoursConnectedPerDay) / 24;
  return mode === 'peak' ? Math.min(users * p.devicesPerUser, average * p.peakToAverage) : average;
}

/** Page loads per device per day (index.html and config.json; the bundle is cached). */
const PAGE_LOADS_PER_DEVICE_PER_DAY = 1;

export function traffic(p: Profile, u: Units, quotas: QuotaValues, users: number, mode: Mode): Traffic {
  const factor = mode === 'peak' ? p.peakToAverage : 1;
  const perSecond = (perUserPerDay: number) => (users * perUserPerDay * factor) / SECONDS_PER_DAY;
  const sockets = openSockets(p, users, mode);
  const online = devicesOnlineAtChange(p);
  const window = CHANGE_FEED.safetyWindowSeconds;

  const changes = perSecond(p.changesPerUserPerDay);
  const connects = perSecond(p.devicesPerUser * connectsPerDevicePerDay(p, quotas));
  const pings = sockets / p.heartbeatSeconds;
  const hellos = connects;
  const posts = changes * online * u.postsPerChangePerConnection.value;
  // Every online device's next ping after a change answers behind: true and pulls once; a ping
  // inside the safety window after the change pulls again (docs/design.md, Ping with a position).
  const behindPulls = Math.min(changes * online * (1 + window / p.heartbeatSeconds), pings);
  const catchUps = connects + behindPulls;
  const httpRequests = changes + catchUps * u.catchUpRequests.value;
  const wsMessages = 2 * pings + 2 * hellos + posts * u.messageUnitsPerPost.value;
  const apiGatewayRequests = httpRequests + connects + pings + hellos + posts;
  const tokenRefreshes = sockets / (p.tokenRefreshMinutes * 60);
  const pageLoads = perSecond(p.devicesPerUser * PAGE_LOADS_PER_DEVICE_PER_DAY);

  const changesQueryUnits = Math.min(1, u.catchUpReadUnits.value);
  const tasksReadPerCatchUp = u.catchUpReadUnits.value - changesQueryUnits;
  const tables: Traffic['tables'] = {
    tasks: { writeUnits: changes, readUnits: catchUps * tasksReadPerCatchUp },
    changes: {
      writeUnits: changes * Math.max(0, u.writeUnitsPerChange.value - 1),
      readUnits: pings * u.pingReadUnits.value + catchUps * changesQueryUnits,
    },
    connections: {
      writeUnits: connects * 2 * u.connectionWriteUnits.value,
      // One Query per user per batch; at steady traffic a batch holds one change per user.
      readUnits: changes * u.connectionsQueryReadUnits.value,
    },
  };

  const storageGb: Traffic['storageGb'] = {
    tasks: (users * p.tasksPerUser * u.taskItemBytes.value) / GB,
    changes: (users * p.changesPerUserPerDay * CHANGE_FEED.defaultRetentionDays * u.changeItemBytes.value) / GB,
    connections: (openSockets(p, users, 'peak') * u.connectionItemBytes.value) / GB,
  };

  const stream = streamLoad(p, u, quotas, users, changes, storageGb.tasks);

  const lambda: Traffic['lambda'] = {
    tasksApi: { invocations: httpRequests, ms: u.tasksApiMs.value },
    wsAuthorizer: { invocations: connects, ms: u.wsAuthorizerMs.value },
    wsConnect: { invocations: connects, ms: u.wsConnectMs.value },
    wsDisconnect: { invocations: connects, ms: u.wsDisconnectMs.value },
    wsDefault: { invocations: pings + hellos, ms: u.wsDefaultMs.value },
    broadcaster: { invocations: stream.invocationsPerSecond, ms: stream.batchMs },
  };

  return {
    mode,
    users,
    sockets,
    rate: {
      changes,
      connects,
      pings,
      hellos,
      posts,
      behindPulls,
      catchUps,
      httpRequests,
      apiGatewayRequests,
      wsMessages,
      tokenRefreshes,
      pageLoads,
    },
    lambda,
    tables,
    stream,
    storageGb,
  };
}

/**
 * The Tasks stream. AWS does not publish partition counts; the model takes
 * the partitions an on-demand table keeps for twice its peak writes (1,000
 * WRU each) or its size (10 GB each), whichever is more, and one shard
 * per partition. Between two polls (4 a second) a shard gathers
 * arrival / 4 records, at least 1 and at most the batch size.
 */
function streamLoad(
  p: Profile,
  u: Units,
  quotas: QuotaValues,
  users: number,
  changesPerSecond: number,
  tasksGb: number,
): StreamLoad {
  const peakWrites = (users * p.changesPerUserPerDay * p.peakToAverage) / SECONDS_PER_DAY;
  const m = quotas.dynamoOnDemandPeakMultiple;
  const shards = Math.max(
    1,
    Math.ceil((m * peakWrites) / quotas.dynamoPartitionWriteUnits),
    Math.ceil(tasksGb / quotas.dynamoPartitionGigabytes),
  );
  const perShard = changesPerSecond / shards;
  const recordsPerBatch = Math.min(STREAM_MAPPING.batchSize, Math.max(1, perShard / quotas.esmPollsPerSecondPerShard));
  const invocationsPerSecond = changesPerSecond > 0 ? changesPerSecond / recordsPerBatch : 0;
  const postsPerBatch = recordsPerBatch * devicesOnlineAtChange(p) * u.postsPerChangePerConnection.value;
  const batchMs = u.broadcasterFixedMs.value + u.broadcasterMsPerPost.value * postsPerBatch;
  return { shards, recordsPerShardPerSecond: perShard, recordsPerBatch, invocationsPerSecond, postsPerBatch, batchMs };
}
