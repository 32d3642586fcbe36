import { CHANGE_FEED, PRESENCE_MAPPING, STREAM_MAPPING, type FunctionName } from '../lib/definitions.js';
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

/** A table's stream and the function its event source mapping invokes (the broadcaster, or presence). */
export interface StreamLoad {
  /** Shards of the table's stream: one per partition (partitions kept for twice the peak, or for the size). */
  shards: number;
  recordsPerShardPerSecond: number;
  /** Records per invocation: what arrives between two polls, 1 to the mapping's batchSize. */
  recordsPerBatch: number;
  /** Invocations per second, all shards. */
  invocationsPerSecond: number;
  postsPerBatch: number;
  /** Duration of one batch (ms). */
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
    /** @connections posts, task events and PRESENCE frames. */
    posts: number;
    /** Of the posts, the PRESENCE frames. */
    presencePosts: number;
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
  /** The Tasks table's stream → the broadcaster. */
  stream: StreamLoad;
  /** The Connections table's stream → presence. */
  presenceStream: StreamLoad;
  storageGb: Record<TableName, number>;
}

/** Devices of a user online when that user changes a task: at least the writer's, at most all. */
export function devicesOnlineAtChange(p: Profile): number {
  return Math.min(p.devicesPerUser, Math.max(1, (p.devicesPerUser * p.hoursConnectedPerDay * p.peakToAverage) / 24));
}

/**
 * The longest one socket of an open dashboard lives, in minutes: API Gateway's
 * 2-hour maximum connection duration, or the token's refresh period when that
 * is shorter. A connection never outlives its token: the server closes it at
 * its first message after the token's `exp`, and the dashboard
 * (web/src/sync/socket.ts) replaces it a minute before. The new connection
 * takes the token the auth layer renewed meanwhile (Cognito: 5 minutes before
 * `exp`, web/src/auth/cognito.ts), so each lives until a minute before the
 * next token's `exp`: successive connections are one refresh period
 * (`tokenRefreshMinutes`, 55 for 60-minute tokens) apart.
 */
export function connectionLifetimeMinutes(p: Profile, quotas: QuotaValues): number {
  return Math.min(quotas.wsConnectionDurationSeconds / 60, p.tokenRefreshMinutes);
}

/** Connects per device per day that holding a socket open for the connected hours forces: one per connection lifetime. */
export function forcedConnectsPerDevicePerDay(p: Profile, quotas: QuotaValues): number {
  return (p.hoursConnectedPerDay * 60) / connectionLifetimeMinutes(p, quotas);
}

/**
 * Connects per device per day: the profile's, but never fewer than the
 * connection lifetime forces (the 2-hour cap, or the token's refresh period
 * when shorter).
 */
export function connectsPerDevicePerDay(p: Profile, quotas: QuotaValues): number {
  return Math.max(p.reconnectsPerDevicePerDay, forcedConnectsPerDevicePerDay(p, quotas));
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
  // Presence: every connect (a Put) and every disconnect (a Delete) is a record of the Connections
  // stream; presence counts the user's live connections and posts the count to each. At a connect
  // they are the `online` devices, the new one included; at a disconnect, the others: online − 1.
  const presenceEvents = 2 * connects;
  const presencePosts = connects * online + connects * (online - 1);
  const posts = changes * online * u.postsPerChangePerConnection.value + presencePosts;
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
      // The broadcaster's one Query per user per batch (at steady traffic a batch holds one change
      // per user), presence's one per connect or disconnect (at most: a reconnect's two records in
      // one batch share it) and the hello's one (AUTH_SUCCESS `devices`).
      readUnits: (changes + presenceEvents + hellos) * u.connectionsQueryReadUnits.value,
    },
  };

  const storageGb: Traffic['storageGb'] = {
    tasks: (users * p.tasksPerUser * u.taskItemBytes.value) / GB,
    changes: (users * p.changesPerUserPerDay * CHANGE_FEED.defaultRetentionDays * u.changeItemBytes.value) / GB,
    connections: (openSockets(p, users, 'peak') * u.connectionItemBytes.value) / GB,
  };

  // Partitions (so shards) are a table's, sized for its peak whatever the mode.
  const peakPerSecond = (perUserPerDay: number) => (users * perUserPerDay * p.peakToAverage) / SECONDS_PER_DAY;
  const stream = streamLoad(u, quotas, {
    peakWriteUnits: peakPerSecond(p.changesPerUserPerDay),
    gigabytes: storageGb.tasks,
    recordsPerSecond: changes,
    postsPerRecord: online * u.postsPerChangePerConnection.value,
    batchSize: STREAM_MAPPING.batchSize,
  });
  const presenceStream = streamLoad(u, quotas, {
    peakWriteUnits: peakPerSecond(p.devicesPerUser * connectsPerDevicePerDay(p, quotas)) * 2 * u.connectionWriteUnits.value,
    gigabytes: storageGb.connections,
    recordsPerSecond: presenceEvents,
    postsPerRecord: presenceEvents > 0 ? presencePosts / presenceEvents : 0,
    batchSize: PRESENCE_MAPPING.batchSize,
  });

  const lambda: Traffic['lambda'] = {
    tasksApi: { invocations: httpRequests, ms: u.tasksApiMs.value },
    wsAuthorizer: { invocations: connects, ms: u.wsAuthorizerMs.value },
    wsConnect: { invocations: connects, ms: u.wsConnectMs.value },
    wsDisconnect: { invocations: connects, ms: u.wsDisconnectMs.value },
    wsDefault: { invocations: pings + hellos, ms: u.wsDefaultMs.value },
    broadcaster: { invocations: stream.invocationsPerSecond, ms: stream.batchMs },
    presence: { invocations: presenceStream.invocationsPerSecond, ms: presenceStream.batchMs },
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
      presencePosts,
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
    presenceStream,
    storageGb,
  };
}

interface StreamInput {
  /** The table's peak write units per second: its partitions are kept for twice that. */
  peakWriteUnits: number;
  gigabytes: number;
  /** Stream records per second (at the peak or on average). */
  recordsPerSecond: number;
  postsPerRecord: number;
  /** The event source mapping's batchSize. */
  batchSize: number;
}

/**
 * A table's stream. AWS does not publish partition counts; the model takes
 * the partitions an on-demand table keeps for twice its peak writes (1,000
 * WRU each) or its size (10 GB each), whichever is more, and one shard
 * per partition. Between two polls (4 a second) a shard gathers
 * arrival / 4 records, at least 1 and at most the batch size. Both the
 * broadcaster and presence do one Query per user of the batch, then the
 * posts, LIMITS.postConcurrency in flight: a batch takes the broadcaster's
 * fitted fixed + per-post milliseconds.
 */
function streamLoad(u: Units, quotas: QuotaValues, s: StreamInput): StreamLoad {
  const m = quotas.dynamoOnDemandPeakMultiple;
  const shards = Math.max(
    1,
    Math.ceil((m * s.peakWriteUnits) / quotas.dynamoPartitionWriteUnits),
    Math.ceil(s.gigabytes / quotas.dynamoPartitionGigabytes),
  );
  const perShard = s.recordsPerSecond / shards;
  const recordsPerBatch = Math.min(s.batchSize, Math.max(1, perShard / quotas.esmPollsPerSecondPerShard));
  const invocationsPerSecond = s.recordsPerSecond > 0 ? s.recordsPerSecond / recordsPerBatch : 0;
  const postsPerBatch = recordsPerBatch * s.postsPerRecord;
  const batchMs = u.broadcasterFixedMs.value + u.broadcasterMsPerPost.value * postsPerBatch;
  return { shards, recordsPerShardPerSecond: perShard, recordsPerBatch, invocationsPerSecond, postsPerBatch, batchMs };
}
