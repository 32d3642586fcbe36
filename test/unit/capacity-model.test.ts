import { describe, expect, it } from 'vitest';
import { monthlyCost } from '../../capacity/cost.js';
import { limitUses } from '../../capacity/limits.js';
import { tieredCost, EXTRA_PRICES } from '../../capacity/prices.js';
import type { Profile } from '../../capacity/profile.js';
import { DEFAULT_QUOTA_VALUES } from '../../capacity/quotas.js';
import {
  connectionLifetimeMinutes,
  connectsPerDevicePerDay,
  forcedConnectsPerDevicePerDay,
  SECONDS_PER_MONTH,
  traffic,
} from '../../capacity/traffic.js';
import { FALLBACK_UNITS, type Units } from '../../capacity/units.js';

/*
 * A tiny profile small enough to compute by hand:
 * 8,640 users, one device each, always connected (24 h, flat: peak = average),
 * 10 changes a day, a ping every 240 s, a token refresh every 60 min, no
 * stored tasks. 12 reconnects a day is what the 2-hour cap forces over 24 h,
 * but a connection never outlives its token: 60-minute tokens force
 * 24 h × 60 / min(120, 60) = 24 connects a day, which the model uses.
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
    // connects: 8,640 × 1 × max(12, 24 h × 60 / min(120, 60) min = 24) / 86,400 = 2.4 /s
    expect(t.rate.connects).toBeCloseTo(2.4, 12);
    // pings: 8,640 sockets / 240 s = 36 /s
    expect(t.rate.pings).toBeCloseTo(36, 12);
    // PRESENCE: a connect posts to the 1 online device (the new one), a disconnect to the others (0):
    // 2.4 × 1 + 2.4 × 0 = 2.4 /s
    expect(t.rate.presencePosts).toBeCloseTo(2.4, 12);
    // posts: 1 change/s × 1 online device × 1 post + 2.4 PRESENCE = 3.4 /s
    expect(t.rate.posts).toBeCloseTo(3.4, 12);
    // pulls after PONG behind: 1 change/s × 1 device × (1 + 15 s window / 240 s) = 1.0625 /s
    expect(t.rate.behindPulls).toBeCloseTo(1.0625, 12);
    // HTTP: 1 write + (2.4 reconnect catch-ups + 1.0625 pulls) × 1 request = 4.4625 /s
    expect(t.rate.httpRequests).toBeCloseTo(4.4625, 12);
    // WebSocket messages: ping in + PONG out (72) + hello in + AUTH_SUCCESS out (4.8) + 3.4 posts = 80.2 /s
    expect(t.rate.wsMessages).toBeCloseTo(80.2, 12);
    // API Gateway throttle: HTTP 4.4625 + connects 2.4 + pings 36 + hellos 2.4 + posts 3.4 = 48.6625 /s
    expect(t.rate.apiGatewayRequests).toBeCloseTo(48.6625, 12);
    // token refreshes: 8,640 sockets / 3,600 s = 2.4 /s (the reconnect takes the renewed token: no extra refresh)
    expect(t.rate.tokenRefreshes).toBeCloseTo(2.4, 12);
  });

  it('read and write units per table', () => {
    // Tasks: 1 WRU per change; catch-ups (2.4 + 1.0625 = 3.4625/s) read 2 RRU each, 1 of them on Tasks: 3.4625 RRU/s
    expect(t.tables.tasks.writeUnits).toBeCloseTo(1, 12);
    expect(t.tables.tasks.readUnits).toBeCloseTo(3.4625, 12);
    // Changes: the second WRU of each change; reads: 36 pings × 1 + 3.4625 catch-ups × 1 = 39.4625
    expect(t.tables.changes.writeUnits).toBeCloseTo(1, 12);
    expect(t.tables.changes.readUnits).toBeCloseTo(39.4625, 12);
    // Connections: put + delete per connect = 2 × 2.4 = 4.8 WRU/s; 0.5 RRU per Query: the broadcaster's
    // per change (1/s), presence's per connect or disconnect (4.8/s), hello's (2.4/s): 8.2 × 0.5 = 4.1 RRU/s
    expect(t.tables.connections.writeUnits).toBeCloseTo(4.8, 12);
    expect(t.tables.connections.readUnits).toBeCloseTo(4.1, 12);
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
    // one shard (2 × 4.8 WRU/s is far below 1,000); 4.8 records/s (a put and a delete per connect),
    // 1.2 per poll → batches of 1.2 records, 4.8 / 1.2 = 4 invocations/s
    expect(t.presenceStream.shards).toBe(1);
    expect(t.presenceStream.recordsPerBatch).toBeCloseTo(1.2, 12);
    expect(t.presenceStream.invocationsPerSecond).toBeCloseTo(4, 12);
    expect(t.lambda.presence.invocations).toBeCloseTo(4, 12);
    // 2.4 PRESENCE posts / 4.8 records = 0.5 a record, 1.2 × 0.5 = 0.6 posts a batch; 40 ms + 2 ms × 0.6 = 41.2 ms
    expect(t.presenceStream.postsPerBatch).toBeCloseTo(0.6, 12);
    expect(t.lambda.presence.ms).toBeCloseTo(41.2, 12);
  });

  it('limit utilisation', () => {
    const by = Object.fromEntries(limitUses(tiny, t, q).map((l) => [l.id, l]));
    expect(by.wsNewConnections!.utilisation).toBeCloseTo(2.4 / 500, 12);
    expect(by.apiGatewayThrottle!.utilisation).toBeCloseTo(48.6625 / 10_000, 12);
    // concurrency, ms/s: tasksApi 4.4625×10 = 44.625, authorizer 2.4×5 = 12, connect and disconnect 2.4×10 = 24 each,
    // wsDefault (36 + 2.4)×10 = 384, broadcaster 1×42 = 42, presence 4×41.2 = 164.8: 695.425 ms/s → 0.695425
    expect(by.lambdaConcurrency!.demand).toBeCloseTo(0.695425, 12);
    // invocations: 4.4625 + 3 × 2.4 + (36 + 2.4) + 1 + 4 presence = 55.0625 /s of 10 × 1,000
    expect(by.lambdaInvocationRate!.utilisation).toBeCloseTo(55.0625 / 10_000, 12);
    // busiest function: wsDefault, 38.4/s × 10 ms = 0.384 of one 1,000-environment step (presence: 0.1648)
    expect(by.lambdaScaling!.subject).toBe('wsDefault');
    expect(by.lambdaScaling!.utilisation).toBeCloseTo(0.384 / 1000, 12);
    // busiest table: Changes reads 39.4625 (Connections writes 4.8, reads 4.1; Tasks reads 3.4625)
    expect(by.dynamoTable!.subject).toBe('changes table reads');
    expect(by.dynamoTable!.utilisation).toBeCloseTo(39.4625 / 40_000, 12);
    // one user's burst of 10 writes/s on a 1,000 WRU partition
    expect(by.dynamoUserPartition!.utilisation).toBeCloseTo(0.01, 12);
    // the busier stream's shard: connections, 4.8 records/s (tasks: 1)
    expect(by.streamShard!.subject).toBe('connections stream');
    expect(by.streamShard!.utilisation).toBeCloseTo(4.8 / 1000, 12);
    // 1 batch/s × 42 ms = 0.042 batches in flight per shard, of parallelizationFactor 1
    expect(by.streamBroadcaster!.utilisation).toBeCloseTo(0.042, 12);
    // presence: 4 batches/s × 41.2 ms = 0.1648, of parallelizationFactor 1
    expect(by.streamPresence!.utilisation).toBeCloseTo(0.1648, 12);
    expect(by.cognitoAuth!.utilisation).toBeCloseTo(2.4 / 120, 12);
  });
});

describe('capacity cost: the tiny profile by hand', () => {
  const cost = monthlyCost(tiny, units, traffic(tiny, units, q, USERS, 'average'));

  it('bills a 730-hour month (S below)', () => {
    expect(SECONDS_PER_MONTH).toBe(730 * 3600); // S = 2,628,000 s
  });

  it('Lambda: requests plus GB-s on arm64', () => {
    // tasksApi: 4.4625/s × 2,628,000 s = 11,727,450 invocations;
    // each $0.20/1M + 0.010 s × 0.5 GB × $0.0000133334 = $2e-7 + $6.6667e-8 = $2.66667e-7 → $3.12732
    expect(cost.lines['lambda.tasksApi']).toBeCloseTo(3.12732, 4);
    // broadcaster: 1/s → 2,628,000 × ($2e-7 + 0.042 s × 0.5 GB × $0.0000133334 = $2.8e-7) = 2,628,000 × $4.8e-7 = $1.26144
    expect(cost.lines['lambda.broadcaster']).toBeCloseTo(1.26144, 4);
    // presence: 4/s → 10,512,000 × ($2e-7 + 41.2 ms billed as 0.042 s × 0.25 GB × $0.0000133334 = $1.4e-7)
    // = 10,512,000 × $3.4e-7 = $3.57408
    expect(cost.lines['lambda.presence']).toBeCloseTo(3.57408, 4);
  });

  it('DynamoDB: writes, reads, storage', () => {
    // writes: (1 + 1 + 4.8) WRU/s × S = 17,870,400 WRU × $0.625/1M = $11.169
    expect(cost.lines['dynamodb.writes']).toBeCloseTo(11.169, 6);
    // reads: (3.4625 + 39.4625 + 4.1) RRU/s × S = 123,581,700 RRU × $0.125/1M = $15.4477125
    expect(cost.lines['dynamodb.reads']).toBeCloseTo(15.4477125, 6);
    // stream reads: GetRecords by the broadcaster's and presence's mappings are free
    expect(cost.lines['dynamodb.streamReads']).toBe(0);
    // storage: change entries 8,640 × 10 × 30 days × 150 B = 388,800,000 B, connection rows
    // 8,640 × 200 B = 1,728,000 B; 390,528,000 B / 2^30 = 0.363707 GB × $0.25 = $0.0909268
    expect(cost.lines['dynamodb.storage']).toBeCloseTo(0.0909268, 6);
  });

  it('API Gateway, Cognito, logs', () => {
    // HTTP: 4.4625/s × S = 11,727,450 requests × $1/1M = $11.72745
    expect(cost.byService.apiGatewayHttp).toBeCloseTo(11.72745, 6);
    // messages: 80.2/s × S = 210,765,600 × $1/1M = $210.7656; minutes: 8,640 × S / 60 = 378,432,000 × $0.25/1M = $94.608
    expect(cost.lines['apiGatewayWebSocket.messages']).toBeCloseTo(210.7656, 6);
    expect(cost.lines['apiGatewayWebSocket.connectionMinutes']).toBeCloseTo(94.608, 6);
    // 8,640 users are inside Cognito's 10,000 free MAU
    expect(cost.byService.cognito).toBe(0);
    // logs: 55.0625 invocations/s × S = 144,704,250 × 1,024 B = 144,704,250 / 2^20 GiB = 138.0007 GiB × $0.50 = $69.0004
    expect(cost.byService.cloudwatchLogs).toBeCloseTo(69.0004, 3);
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
    // Tokens that outlive the cap (a day): 24 h connected → 24 × 60 / min(120, 1,440) = 12 connects a day
    // even when the profile says 0: 8,640 × 12 / 86,400 = 1.2 /s
    const daily = { ...tiny, reconnectsPerDevicePerDay: 0, tokenRefreshMinutes: 1440 };
    expect(connectionLifetimeMinutes(daily, q)).toBe(120);
    expect(traffic(daily, units, q, USERS, 'peak').rate.connects).toBeCloseTo(1.2, 12);
  });

  it('connects once per token when the token lives less than 2 hours', () => {
    // A connection never outlives its token: 30-minute tokens, 24 h connected → 24 × 60 / min(120, 30) = 48
    // connects a day, above the profile's 12 and the cap's 12: 8,640 × 48 / 86,400 = 4.8 /s
    const short = { ...tiny, tokenRefreshMinutes: 30 };
    expect(connectionLifetimeMinutes(short, q)).toBe(30);
    expect(forcedConnectsPerDevicePerDay(short, q)).toBeCloseTo(48, 12);
    const t = traffic(short, units, q, USERS, 'peak');
    expect(t.rate.connects).toBeCloseTo(4.8, 12);
    // and what follows from a connect: a hello each, an authorizer, $connect and $disconnect invocation each,
    // a put and a delete (9.6 presence records and WRU/s), a catch-up each (4.8 + 1.0625 pulls = 5.8625/s)
    expect(t.rate.hellos).toBeCloseTo(4.8, 12);
    expect(t.lambda.wsAuthorizer.invocations).toBeCloseTo(4.8, 12);
    expect(t.lambda.wsConnect.invocations).toBeCloseTo(4.8, 12);
    expect(t.lambda.wsDisconnect.invocations).toBeCloseTo(4.8, 12);
    expect(t.presenceStream.recordsPerShardPerSecond).toBeCloseTo(9.6, 12);
    expect(t.tables.connections.writeUnits).toBeCloseTo(9.6, 12);
    expect(t.rate.catchUps).toBeCloseTo(5.8625, 12);
    // Cognito counts refreshes, not connects: 8,640 sockets / (30 × 60 s) = 4.8 /s
    expect(t.rate.tokenRefreshes).toBeCloseTo(4.8, 12);
    // The default profile's 55-minute tokens over 8 connected hours: 8 × 60 / 55 = 8.727 a day, above its 8
    expect(
      connectsPerDevicePerDay({ ...tiny, hoursConnectedPerDay: 8, reconnectsPerDevicePerDay: 8, tokenRefreshMinutes: 55 }, q),
    ).toBeCloseTo(96 / 11, 12);
  });

  it('does not connect more often for a token that outlives the 2-hour cap', () => {
    // 3-hour tokens: the cap ends the connection first, 24 × 60 / min(120, 180) = 12 a day, as with day-long tokens:
    // 1.2 connects/s; only Cognito's refreshes fall, 8,640 / (180 × 60) = 0.8 /s
    const long = { ...tiny, reconnectsPerDevicePerDay: 0, tokenRefreshMinutes: 180 };
    expect(connectionLifetimeMinutes(long, q)).toBe(120);
    const t = traffic(long, units, q, USERS, 'peak');
    expect(t.rate.connects).toBeCloseTo(1.2, 12);
    expect(t.rate.connects).toBeCloseTo(
      traffic({ ...long, tokenRefreshMinutes: 1440 }, units, q, USERS, 'peak').rate.connects,
      12,
    );
    expect(t.rate.tokenRefreshes).toBeCloseTo(0.8, 12);
    // A token of exactly 2 hours ties with the cap: still 12 a day
    expect(forcedConnectsPerDevicePerDay({ ...long, tokenRefreshMinutes: 120 }, q)).toBeCloseTo(12, 12);
  });

  it('keeps the profile\u2019s reconnects when they are more than the token forces', () => {
    // 30 a day against 24 × 60 / 60 = 24 forced: 8,640 × 30 / 86,400 = 3 /s
    expect(traffic({ ...tiny, reconnectsPerDevicePerDay: 30 }, units, q, USERS, 'peak').rate.connects).toBeCloseTo(3, 12);
  });

  it('sends PRESENCE to every online device at a connect, to the others at a disconnect', () => {
    // 2 devices, always connected: both online; connects 8,640 × 2 × 24 (60-minute tokens) / 86,400 = 4.8 /s;
    // PRESENCE 4.8 × 2 + 4.8 × (2 − 1) = 14.4 /s; posts 1 change/s × 2 devices + 14.4 = 16.4 /s
    const t = traffic({ ...tiny, devicesPerUser: 2 }, units, q, USERS, 'peak');
    expect(t.rate.presencePosts).toBeCloseTo(14.4, 12);
    expect(t.rate.posts).toBeCloseTo(16.4, 12);
    // 9.6 records/s on one shard, 2.4 a poll: batches of 2.4 records and 2.4 × 14.4 / 9.6 = 3.6 posts
    expect(t.presenceStream.recordsPerBatch).toBeCloseTo(2.4, 12);
    expect(t.presenceStream.postsPerBatch).toBeCloseTo(3.6, 12);
  });

  it('caps peak sockets at every device, and applies peak-to-average to event rates', () => {
    // 8 h a day, peak 4×: average sockets 8,640 × 8/24 = 2,880, peak min(8,640, 11,520) = 8,640
    const p = { ...tiny, hoursConnectedPerDay: 8, peakToAverage: 4 };
    expect(traffic(p, units, q, USERS, 'average').sockets).toBeCloseTo(2880, 9);
    expect(traffic(p, units, q, USERS, 'peak').sockets).toBe(8640);
    expect(traffic(p, units, q, USERS, 'peak').rate.changes).toBeCloseTo(4, 12);
  });
});
