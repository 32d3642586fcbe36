import { describe, expect, it } from 'vitest';
import { niceCeil, parallelizationFactorFor } from '../../capacity/advice.js';
import type { LimitId, LimitUse } from '../../capacity/limits.js';
import { evaluateScale, firstLimitHit, runModel, usersAtWhichReached } from '../../capacity/model.js';
import { DEFAULT_PROFILE, type Profile } from '../../capacity/profile.js';
import { DEFAULT_QUOTA_VALUES } from '../../capacity/quotas.js';
import { FALLBACK_UNITS } from '../../capacity/units.js';

const q = DEFAULT_QUOTA_VALUES;
const units = FALLBACK_UNITS;

/**
 * The tiny profile of capacity-model.test.ts: per user, per second, everything is linear. Its 60-minute
 * tokens force 24 h × 60 / min(120, 60) = 24 connects a day (above its 12): 8,640 × 24 / 86,400 = 2.4 /s
 * per 8,640 users.
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
  logBytesPerInvocation: 350,
};

describe('where each limit is reached', () => {
  const reached = usersAtWhichReached(tiny, units, q);

  it('matches the hand-computed crossings of the linear limits', () => {
    // Cognito: 2.4 refreshes/s per 8,640 users → 120 / (2.4 / 8,640) = 432,000 users
    expect(reached.cognitoAuth).toBeGreaterThanOrEqual(432_000);
    expect(reached.cognitoAuth).toBeLessThanOrEqual(432_001);
    // API Gateway: HTTP 4.4625 + connects 2.4 + pings 36 + hellos 2.4 + posts 3.4 (2.4 of them PRESENCE)
    // = 48.6625 requests/s per 8,640 users → 10,000 × 8,640 / 48.6625 = 1,775,494.48 users (the bisection
    // stops within 0.5 above: ⌈…⌉ is 495 either way)
    expect(reached.apiGatewayThrottle).toBe(1_775_495);
    // new connections: 2.4/s per 8,640 users → 500 × 8,640 / 2.4 = 1,800,000 users
    expect(reached.wsNewConnections).toBeGreaterThanOrEqual(1_800_000);
    expect(reached.wsNewConnections).toBeLessThanOrEqual(1_800_001);
    // one user's partition does not grow with users: 10 of 1,000 WRU/s, never reached
    expect(reached.dynamoUserPartition).toBeNull();
    // presence: a shard takes at most 500 records/s (partitions for twice the peak), in full batches of
    // 100 records and 50 posts: 5/s × (40 + 1.1 × 50 = 95 ms) = 0.475 in flight at most, never reached
    expect(reached.streamPresence).toBeNull();
  });

  it('reaches the new-connection quota sooner with a token shorter than 2 hours, not with a longer one', () => {
    // 30-minute tokens: 24 × 60 / min(120, 30) = 48 connects a day, 4.8/s per 8,640 users → 500 × 8,640 / 4.8 = 900,000
    const short = usersAtWhichReached({ ...tiny, tokenRefreshMinutes: 30 }, units, q);
    expect(short.wsNewConnections).toBeGreaterThanOrEqual(900_000);
    expect(short.wsNewConnections).toBeLessThanOrEqual(900_001);
    // 3-hour tokens: the cap ends connections first, 24 × 60 / min(120, 180) = 12 a day (the profile's 12),
    // 1.2/s → 500 × 8,640 / 1.2 = 3,600,000 users, as with day-long tokens
    const long = usersAtWhichReached({ ...tiny, tokenRefreshMinutes: 180 }, units, q);
    expect(long.wsNewConnections).toBeGreaterThanOrEqual(3_600_000);
    expect(long.wsNewConnections).toBeLessThanOrEqual(3_600_001);
    expect(long.wsNewConnections).toBe(usersAtWhichReached({ ...tiny, tokenRefreshMinutes: 1440 }, units, q).wsNewConnections);
  });

  it('names the limit reached at the fewest users as the first hit', () => {
    // At 5M users Cognito (432k), Lambda's invocation rate (~1.72M: tasksApi 4.4625 + authorizer, connect and
    // disconnect 3 × 2.4 + wsDefault 38.4 = 50.0625/s per 8,640 users, plus the streams' batches), API Gateway
    // (1.78M) and new connections (1.8M) are all past 100 %.
    const report = runModel(tiny, units, q, [100_000, 5_000_000]);
    expect(report.scales[0]!.firstLimitHit).toBeNull();
    expect(report.scales[0]!.nearestLimit).toBe('cognitoAuth');
    expect(report.scales[1]!.firstLimitHit).toBe('cognitoAuth');
  });

  it('moves the first limit when a profile or a quota changes what dominates', () => {
    // Tokens refreshed once a day: Cognito (now 10.4M users) falls behind Lambda's invocation rate. A day-long
    // token outlives the 2-hour cap, so connects fall back to 24 h / 2 h = 12 a day: 1.2/s per 8,640 users.
    // Invocations per 8,640 users: tasksApi (1 + 1.2 catch-ups + 1.0625 pulls) 3.2625 + authorizer, connect,
    // disconnect 3 × 1.2 + wsDefault (36 + 1.2) 37.2 = 44.0625/s, plus 4 polls/s of each stream shard: the
    // broadcaster's one (227 changes/s, batches of ~57 records) and presence's two (~544 records/s from ~544
    // WRU/s: ⌈2 × 544 / 1,000⌉ = 2, batches of ~68): (10,000 − 4 − 8) × 8,640 / 44.0625 = 1,958,498.04 users
    // (⌈…⌉ of the bisection's end, within 0.5 above: 1,958,499), before API Gateway's: HTTP 3.2625 + connects
    // 1.2 + pings 36 + hellos 1.2 + posts (1 + 1.2 PRESENCE) 2.2 = 43.8625 requests/s per 8,640 users →
    // 10,000 × 8,640 / 43.8625 = 1,969,791.96 users.
    const daily = { ...tiny, tokenRefreshMinutes: 1440 };
    const report = runModel(daily, units, q, [2_500_000]);
    expect(report.reachedAt.lambdaInvocationRate).toBe(1_958_499);
    expect(report.reachedAt.cognitoAuth).toBeGreaterThan(10_000_000);
    expect(report.scales[0]!.firstLimitHit).toBe('lambdaInvocationRate');
    // An account with 5,000 concurrency (50,000 invocations/s) meets the API Gateway throttle first,
    // and with that raised too, the new-connection quota (1.2 connects/s per 8,640 users: 500 × 8,640 / 1.2
    // = 3.6M users).
    const lambda = runModel(daily, units, { ...q, lambdaConcurrentExecutions: 5000 }, [2_500_000]);
    expect(lambda.scales[0]!.firstLimitHit).toBe('apiGatewayThrottle');
    const both = runModel(daily, units, { ...q, lambdaConcurrentExecutions: 5000, apiGatewayAccountRps: 100_000 }, [5_000_000]);
    expect(both.scales[0]!.firstLimitHit).toBe('wsNewConnections');
  });
});

const use = (id: LimitId, utilisation: number, steady = true): LimitUse => ({
  id,
  name: id,
  demand: utilisation,
  capacity: 1,
  unit: '',
  utilisation,
  detail: '',
  steady,
  quotas: [],
});

describe('firstLimitHit', () => {
  const reachedAt = {
    wsNewConnections: 300_000,
    apiGatewayThrottle: 800_000,
    lambdaConcurrency: null,
    lambdaInvocationRate: null,
    lambdaScaling: 100_000,
    dynamoTable: null,
    dynamoUserPartition: null,
    streamShard: null,
    streamBroadcaster: 200_000,
    streamPresence: null,
    cognitoAuth: 900_000,
  } satisfies Record<LimitId, number | null>;

  it('orders by the users at which a limit was reached, not by today\u2019s utilisation', () => {
    // The stream was reached first (200k) even though API Gateway is further past 100 % now.
    expect(firstLimitHit([use('apiGatewayThrottle', 3), use('streamBroadcaster', 1.1), use('cognitoAuth', 1.5)], reachedAt)).toBe(
      'streamBroadcaster',
    );
  });

  it('ignores limits below 100 % and surge-only limits', () => {
    expect(firstLimitHit([use('lambdaScaling', 5, false), use('wsNewConnections', 0.99)], reachedAt)).toBeNull();
    expect(firstLimitHit([use('lambdaScaling', 5, false), use('cognitoAuth', 1)], reachedAt)).toBe('cognitoAuth');
  });
});

describe('recommendations', () => {
  /*
   * A heavy profile: 10 devices always connected, 2,000 changes a day each, flat traffic,
   * fallback units (40 ms + 1.1 ms per post). At 43,200 users: 43,200 × 2,000 / 86,400 =
   * 1,000 changes/s → ceil(2 × 1,000 / 1,000) = 2 shards of 500 records/s; batches of
   * min(100, 500 / 4 polls) = 100 records × 10 devices = 1,000 posts → 40 + 1,100 = 1,140 ms;
   * 5 batches/s per shard × 1.14 s = 5.7 batches in flight → parallelizationFactor
   * ceil(5.7 / 0.7) = 9.
   */
  const heavy: Profile = {
    ...tiny,
    devicesPerUser: 10,
    changesPerUserPerDay: 2000,
    // Day-long tokens outlive the 2-hour cap: 24 h / 2 h = 12 connects a day, the profile's 12.
    tokenRefreshMinutes: 1440,
  };

  it('asks for the parallelizationFactor that keeps each shard under 70 %', () => {
    const scale = evaluateScale(heavy, units, q, 43_200, usersAtWhichReached(heavy, units, q));
    const stream = scale.limits.find((l) => l.id === 'streamBroadcaster')!;
    expect(stream.demand).toBeCloseTo(5.7, 9);
    const rec = scale.recommendations.find((r) => r.limit === 'streamBroadcaster');
    expect(rec?.urgency).toBe('now');
    expect(rec?.text).toContain('Set parallelizationFactor to 9');
    // With that setting the shard runs at 5.7 / 9 = 63 %: nothing more to ask.
    const tuned = evaluateScale({ ...heavy, parallelizationFactor: 9 }, units, q, 43_200, usersAtWhichReached(heavy, units, q));
    expect(tuned.recommendations.find((r) => r.limit === 'streamBroadcaster')).toBeUndefined();
  });

  it('asks the same of the presence mapping', () => {
    // 43,200 × 10 devices × 12 connects (the 2-hour cap's) / 86,400 = 60 connects/s → 120 records/s (put and delete),
    // 120 WRU/s: one shard; batches of 120 / 4 = 30 records. All 10 devices online: a connect posts
    // to 10, a disconnect to 9 → 9.5 posts a record, 285 a batch → 40 + 1.1 × 285 = 353.5 ms;
    // 4 batches/s × 0.3535 s = 1.414 in flight → parallelizationFactor ceil(1.414 / 0.7) = 3.
    const scale = evaluateScale(heavy, units, q, 43_200, usersAtWhichReached(heavy, units, q));
    const presence = scale.limits.find((l) => l.id === 'streamPresence')!;
    expect(presence.demand).toBeCloseTo(4 * 0.3535, 9);
    const rec = scale.recommendations.find((r) => r.limit === 'streamPresence');
    expect(rec?.urgency).toBe('now');
    expect(rec?.text).toContain('Set parallelizationFactor to 3');
    const tuned = evaluateScale(
      { ...heavy, presenceParallelizationFactor: 3 },
      units,
      q,
      43_200,
      usersAtWhichReached(heavy, units, q),
    );
    // 1.414 / 3 = 47 %: nothing more to ask.
    expect(tuned.recommendations.find((r) => r.limit === 'streamPresence')).toBeUndefined();
  });

  it('asks for quota increases with headroom at or past 100 %, and plans ahead from 70 %', () => {
    // default profile at 1M users: 55-minute tokens over 8 connected hours force 8 × 60 / min(120, 55) = 8.727
    // connects a device a day (above its 8): 1M × 2 × 8.727 × 3 (peak) / 86,400 = 606.1/s, new connections at
    // 121 % → ask 1.5 × 606.1 = 909 → 1,000/s
    const scale = runModel(DEFAULT_PROFILE, units, q, [1_000_000]).scales[0]!;
    const ws = scale.recommendations.find((r) => r.limit === 'wsNewConnections');
    expect(ws?.urgency).toBe('now');
    expect(ws?.text).toContain('at least 1,000/s');
    const atSixHundredK = runModel(DEFAULT_PROFILE, units, q, [650_000]).scales[0]!;
    // 650k users: 650,000 × 2 × 8.727 × 3 / 86,400 = 393.9 connects/s = 79 % of 500 → plan
    expect(atSixHundredK.recommendations.find((r) => r.limit === 'wsNewConnections')?.urgency).toBe('plan');
  });

  it('rounds requests up to 1, 2, 2.5 or 5 × 10^k', () => {
    expect(niceCeil(833)).toBe(1000);
    expect(niceCeil(1500)).toBe(2000);
    expect(niceCeil(2100)).toBe(2500);
    expect(niceCeil(2500)).toBe(2500);
    expect(niceCeil(3)).toBe(5);
    expect(parallelizationFactorFor(0.5)).toBe(1);
    expect(parallelizationFactorFor(0.71)).toBe(2);
  });
});
