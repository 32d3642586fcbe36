import { describe, expect, it } from 'vitest';
import { monthlyCost } from '../../capacity/cost.js';
import { limitUses } from '../../capacity/limits.js';
import { tieredCost, EXTRA_PRICES } from '../../capacity/prices.js';
import type { Profile } from '../../capacity/profile.js';
import { DEFAULT_QUOTA_VALUES } from '../../capacity/quotas.js';
import { SECONDS_PER_MONTH, traffic } from '../../capacity/traffic.js';
import { FALLBACK_UNITS, type Units } from '../../capacity/units.js';

/*
 * A tiny profile small enough to compute by hand:
 * 8,640 users, one device each, always connected (24 h, flat: peak = average),
 * 10 changes a day, 12 connects a day (exactly what the 2-hour cap forces over
 * 24 h), a ping every 240 s, a token refresh every 60 min, no stored tasks.
 */
const tiny: Profile = {
  devicesPerUser: 1,
  changesPerUserPerDay: 10,
  reconnectsPerDevicePerDay: 12,
  heartbeatSeconds: 240,
  hoursConnectedPerDay: 24,
  peakToAverage: 1,
  tasksPerUser: 0,
  tokenRefreshMinutes: 60,
  userBurstWritesPerSecond: 10,
  parallelizationFactor: 1,
  presenceParallelizationFactor: 1,
  logBytesPerInvocation: 1024,
};
const USERS = 8640;
const units: Units = {
  ...FALLBACK_UNITS,
  tasksApiMs: { value: 10, source: 'test' },
  broadcasterFixedMs: { value: 40, source: 'test' },
  broadcasterMsPerPost: { value: 2, source: 'test' },
};
const q = DEFAULT_QUOTA_VALUES;

describe('capacity traffic: the tiny profile by hand', () => {
  const t = traffic(tiny, units, q, USERS, 'peak');

  it('rates per second', () => {
    // changes: 8,640 × 10 / 86,400 = 1 /s
    expect(t.rate.changes).toBeCloseTo(1, 12);
    // sockets: 8,640 × 1 device × 24/24 h = 8,640 (peak = average: peakToAverage 1)
    expect(t.sockets).toBe(8640);
    // connects: 8,640 × 1 × max(12, 24 h / 2 h = 12) / 86,400 = 1.2 /s
    expect(t.rate.connects).toBeCloseTo(1.2, 12);
    // pings: 8,640 sockets / 240 s = 36 /s
    expect(t.rate.pings).toBeCloseTo(36, 12);
    // PRESENCE: a connect posts to the 1 online device (the new one), a disconnect to the others (0):
    // 1.2 × 1 + 1.2 × 0 = 1.2 /s
    expect(t.rate.presencePosts).toBeCloseTo(1.2, 12);
    // posts: 1 change/s × 1 online device × 1 post + 1.2 PRESENCE = 2.2 /s
    expect(t.rate.posts).toBeCloseTo(2.2, 12);
    // pulls after PONG behind: 1 change/s × 1 device × (1 + 15 s window / 240 s) = 1.0625 /s
    expect(t.rate.behindPulls).toBeCloseTo(1.0625, 12);
    // HTTP: 1 write + (1.2 reconnect catch-ups + 1.0625 pulls) × 1 request = 3.2625 /s
    expect(t.rate.httpRequests).toBeCloseTo(3.2625, 12);
    // WebSocket messages: ping in + PONG out (72) + hello in + AUTH_SUCCESS out (2.4) + 2.2 posts = 76.6 /s
    expect(t.rate.wsMessages).toBeCloseTo(76.6, 12);
    // API Gateway throttle: HTTP 3.2625 + connects 1.2 + pings 36 + hellos 1.2 + posts 2.2 = 43.8625 /s
    expect(t.rate.apiGatewayRequests).toBeCloseTo(43.8625, 12);
    // token refreshes: 8,640 sockets / 3,600 s = 2.4 /s
    expect(t.rate.tokenRefreshes).toBeCloseTo(2.4, 12);
  });

  it('read and write units per table', () => {
    // Tasks: 1 WRU per change; catch-ups read 2 RRU each, 1 of them on Tasks: 2.2625 RRU/s
    expect(t.tables.tasks.writeUnits).toBeCloseTo(1, 12);
    expect(t.tables.tasks.readUnits).toBeCloseTo(2.2625, 12);
    // Changes: the second WRU of each change; reads: 36 pings × 1 + 2.2625 catch-ups × 1 = 38.2625
    expect(t.tables.changes.writeUnits).toBeCloseTo(1, 12);
    expect(t.tables.changes.readUnits).toBeCloseTo(38.2625, 12);
    // Connections: put + delete per connect = 2 × 1.2 = 2.4 WRU/s; 0.5 RRU per Query: the broadcaster's
    // per change (1/s), presence's per connect or disconnect (2.4/s), hello's (1.2/s): 4.6 × 0.5 = 2.3 RRU/s
    expect(t.tables.connections.writeUnits).toBeCloseTo(2.4, 12);
    expect(t.tables.connections.readUnits).toBeCloseTo(2.3, 12);
  });

  it('stream and broadcaster', () => {
    // one shard (2 × 1 WRU/s is far below 1,000); 1 record/s arrives, 1/4 per poll → batches of 1
    expect(t.stream.shards).toBe(1);
    expect(t.stream.recordsPerBatch).toBe(1);
    expect(t.stream.invocationsPerSecond).toBeCloseTo(1, 12);
    // 40 ms + 2 ms × 1 post = 42 ms
    expect(t.stream.batchMs).toBeCloseTo(42, 12);
  });

  it('connections stream and presence', () => {
    // one shard (2 × 2.4 WRU/s is far below 1,000); 2.4 records/s (a put and a delete per connect),
    // 0.6 per poll → batches of 1, 2.4 invocations/s
    expect(t.presenceStream.shards).toBe(1);
    expect(t.presenceStream.recordsPerBatch).toBe(1);
    expect(t.presenceStream.invocationsPerSecond).toBeCloseTo(2.4, 12);
    expect(t.lambda.presence.invocations).toBeCloseTo(2.4, 12);
    // 1.2 PRESENCE posts / 2.4 records = 0.5 posts a batch; 40 ms + 2 ms × 0.5 = 41 ms
    expect(t.presenceStream.postsPerBatch).toBeCloseTo(0.5, 12);
    expect(t.lambda.presence.ms).toBeCloseTo(41, 12);
  });

  it('limit utilisation', () => {
    const by = Object.fromEntries(limitUses(tiny, t, q).map((l) => [l.id, l]));
    expect(by.wsNewConnections!.utilisation).toBeCloseTo(1.2 / 500, 12);
    expect(by.apiGatewayThrottle!.utilisation).toBeCloseTo(43.8625 / 10_000, 12);
    // concurrency: (3.2625×10 + 1.2×5 + 1.2×10 + 1.2×10 + 37.2×10 + 1×42 + 2.4×41) ms/s = 575.025 ms/s → 0.575025
    expect(by.lambdaConcurrency!.demand).toBeCloseTo(0.575025, 12);
    // invocations: 3.2625 + 3 × 1.2 + (36 + 1.2) + 1 + 2.4 presence = 47.4625 /s of 10 × 1,000
    expect(by.lambdaInvocationRate!.utilisation).toBeCloseTo(47.4625 / 10_000, 12);
    // busiest function: wsDefault, 37.2/s × 10 ms = 0.372 of one 1,000-environment step
    expect(by.lambdaScaling!.subject).toBe('wsDefault');
    expect(by.lambdaScaling!.utilisation).toBeCloseTo(0.372 / 1000, 12);
    expect(by.dynamoTable!.subject).toBe('changes table reads');
    expect(by.dynamoTable!.utilisation).toBeCloseTo(38.2625 / 40_000, 12);
    // one user's burst of 10 writes/s on a 1,000 WRU partition
    expect(by.dynamoUserPartition!.utilisation).toBeCloseTo(0.01, 12);
    // the busier stream's shard: connections, 2.4 records/s (tasks: 1)
    expect(by.streamShard!.subject).toBe('connections stream');
    expect(by.streamShard!.utilisation).toBeCloseTo(2.4 / 1000, 12);
    // 1 batch/s × 42 ms = 0.042 batches in flight per shard, of parallelizationFactor 1
    expect(by.streamBroadcaster!.utilisation).toBeCloseTo(0.042, 12);
    // presence: 2.4 batches/s × 41 ms = 0.0984, of parallelizationFactor 1
    expect(by.streamPresence!.utilisation).toBeCloseTo(0.0984, 12);
    expect(by.cognitoAuth!.utilisation).toBeCloseTo(2.4 / 120, 12);
  });
});

describe('capacity cost: the tiny profile by hand', () => {
  const cost = monthlyCost(tiny, units, traffic(tiny, units, q, USERS, 'average'));

  it('bills a 730-hour month (S below)', () => {
    expect(SECONDS_PER_MONTH).toBe(730 * 3600); // S = 2,628,000 s
  });

  it('Lambda: requests plus GB-s on arm64', () => {
    // tasksApi: 3.2625/s × 2,628,000 s = 8,573,850 invocations;
    // each $0.20/1M + 0.010 s × 0.5 GB × $0.0000133334 = $2e-7 + $6.6667e-8 = $2.66667e-7 → $2.28636
    expect(cost.lines['lambda.tasksApi']).toBeCloseTo(2.28636, 4);
    // broadcaster: 1/s → 2,628,000 × ($2e-7 + 0.042 s × 0.5 GB × $0.0000133334 = $2.8e-7) = 2,628,000 × $4.8e-7 = $1.26144
    expect(cost.lines['lambda.broadcaster']).toBeCloseTo(1.26144, 4);
    // presence: 2.4/s → 6,307,200 × ($2e-7 + 0.041 s × 0.25 GB × $0.0000133334 = $1.36667e-7) = 6,307,200 × $3.36667e-7 = $2.12343
    expect(cost.lines['lambda.presence']).toBeCloseTo(2.12343, 4);
  });

  it('DynamoDB: writes, reads, storage', () => {
    // writes: (1 + 1 + 2.4) WRU/s × S = 11,563,200 WRU × $0.625/1M = $7.227
    expect(cost.lines['dynamodb.writes']).toBeCloseTo(7.227, 6);
    // reads: (2.2625 + 38.2625 + 2.3) RRU/s × S = 112,544,100 RRU × $0.125/1M = $14.0680125
    expect(cost.lines['dynamodb.reads']).toBeCloseTo(14.0680125, 6);
    // stream reads: GetRecords by the broadcaster's and presence's mappings are free
    expect(cost.lines['dynamodb.streamReads']).toBe(0);
    // storage: change entries 8,640 × 10 × 30 days × 150 B = 388,800,000 B, connection rows
    // 8,640 × 200 B = 1,728,000 B; 390,528,000 B / 2^30 = 0.363707 GB × $0.25 = $0.0909268
    expect(cost.lines['dynamodb.storage']).toBeCloseTo(0.0909268, 6);
  });

  it('API Gateway, Cognito, logs', () => {
    // HTTP: 3.2625/s × S = 8,573,850 requests × $1/1M = $8.57385
    expect(cost.byService.apiGatewayHttp).toBeCloseTo(8.57385, 6);
    // messages: 76.6/s × S = 201,304,800 × $1/1M = $201.3048; minutes: 8,640 × S / 60 = 378,432,000 × $0.25/1M = $94.608
    expect(cost.lines['apiGatewayWebSocket.messages']).toBeCloseTo(201.3048, 6);
    expect(cost.lines['apiGatewayWebSocket.connectionMinutes']).toBeCloseTo(94.608, 6);
    // 8,640 users are inside Cognito's 10,000 free MAU
    expect(cost.byService.cognito).toBe(0);
    // logs: 47.4625 invocations/s × S = 124,731,450 × 1,024 B = 118.953 GiB × $0.50 = $59.4766
    expect(cost.byService.cloudwatchLogs).toBeCloseTo(59.4766, 3);
    // page loads: 0.1/s × S × 2 requests = 525,600, inside CloudFront's free 10M
    expect(cost.byService.cloudfrontS3).toBe(0);
  });

  it('total and per user are the sum of the services', () => {
    const sum = Object.values(cost.byService).reduce((a, b) => a + b, 0);
    expect(cost.total).toBeCloseTo(sum, 9);
    expect(cost.perUser).toBeCloseTo(sum / USERS, 12);
  });

  it('Cognito charges only above the free 10,000 MAU', () => {
    const big = monthlyCost(tiny, units, traffic(tiny, units, q, 25_000, 'average'));
    // (25,000 − 10,000) × $0.015 = $225
    expect(big.byService.cognito).toBeCloseTo(225, 9);
  });
});

describe('tiered prices', () => {
  it('charges each tier its own price', () => {
    // 1.5 billion messages: 1e9 × $1/1M + 0.5e9 × $0.80/1M = $1,000 + $400
    expect(tieredCost(1.5e9, EXTRA_PRICES.wsMessageTiers)).toBeCloseTo(1400, 6);
    expect(tieredCost(1e6, EXTRA_PRICES.httpApiTiers)).toBeCloseTo(1, 9);
    expect(tieredCost(0, EXTRA_PRICES.httpApiTiers)).toBe(0);
  });
});

describe('traffic rules', () => {
  it('never connects less often than the 2-hour cap forces', () => {
    // 24 h connected → at least 12 connects a day even when the profile says 0
    const t = traffic({ ...tiny, reconnectsPerDevicePerDay: 0 }, units, q, USERS, 'peak');
    expect(t.rate.connects).toBeCloseTo(1.2, 12);
  });

  it('sends PRESENCE to every online device at a connect, to the others at a disconnect', () => {
    // 2 devices, always connected: both online; connects 8,640 × 2 × 12 / 86,400 = 2.4 /s;
    // PRESENCE 2.4 × 2 + 2.4 × (2 − 1) = 7.2 /s; posts 1 change/s × 2 devices + 7.2 = 9.2 /s
    const t = traffic({ ...tiny, devicesPerUser: 2 }, units, q, USERS, 'peak');
    expect(t.rate.presencePosts).toBeCloseTo(7.2, 12);
    expect(t.rate.posts).toBeCloseTo(9.2, 12);
    // 4.8 records/s on one shard, 1.2 a poll: batches of 1.2 records and 1.2 × 7.2 / 4.8 = 1.8 posts
    expect(t.presenceStream.recordsPerBatch).toBeCloseTo(1.2, 12);
    expect(t.presenceStream.postsPerBatch).toBeCloseTo(1.8, 12);
  });

  it('caps peak sockets at every device, and applies peak-to-average to event rates', () => {
    // 8 h a day, peak 4×: average sockets 8,640 × 8/24 = 2,880, peak min(8,640, 11,520) = 8,640
    const p = { ...tiny, hoursConnectedPerDay: 8, peakToAverage: 4 };
    expect(traffic(p, units, q, USERS, 'average').sockets).toBeCloseTo(2880, 9);
    expect(traffic(p, units, q, USERS, 'peak').sockets).toBe(8640);
    expect(traffic(p, units, q, USERS, 'peak').rate.changes).toBeCloseTo(4, 12);
  });
});
