import { describe, expect, it } from 'vitest';
import { QUOTAS, QUOTAS_RECORDED } from '../../capacity/quotas.js';
import { FALLBACK_UNITS, unitsFromBench } from '../../capacity/units.js';

/** The parts of bench/results/latest.json the units come from (figures of a real run). */
function benchJson(extra: Record<string, unknown> = {}) {
  const batch = (posts: number, readRequestUnits: number, durationMs: number) => ({
    records: 100,
    users: 5,
    queries: 5,
    posts,
    messageUnits: posts,
    readRequestUnits,
    batchItemFailures: 0,
    durationMs,
  });
  return {
    latency: { poll10: { write_round_trip: { p50_ms: 10.6 } } },
    cost: {
      lines_usd_per_million: { c1: { coalescing_on: { dynamoWrite: 0.625 } } },
      batches: {
        c1: { coalescing_on: batch(5, 2.5, 47.5), coalescing_off: batch(100, 2.5, 165.9) },
        c10: { coalescing_on: batch(50, 2.5, 101), coalescing_off: batch(1000, 2.5, 1487.7) },
        c100: { coalescing_on: batch(500, 7.5, 595.7), coalescing_off: batch(10000, 7.5, 6044.4) },
      },
    },
    ...extra,
  };
}

describe('unitsFromBench', () => {
  it('derives the measured units', () => {
    const u = unitsFromBench(benchJson(), 2);
    // 2 devices → the c10 batch (smallest measured with ≥ 2 connections): 2.5 RRU / 5 users
    expect(u.connectionsQueryReadUnits.value).toBe(0.5);
    expect(u.connectionsQueryReadUnits.source).toContain('cost.batches.c10');
    // coalescing off: 100 posts for 100 records with 1 connection each
    expect(u.postsPerChangePerConnection.value).toBe(1);
    expect(u.messageUnitsPerPost.value).toBe(1);
    // line through (5 posts, 47.5 ms) and (500 posts, 595.7 ms): 548.2 / 495 = 1.10747 ms per post,
    // 47.5 − 5 × 1.10747 = 41.963 ms fixed
    expect(u.broadcasterMsPerPost.value).toBeCloseTo(548.2 / 495, 9);
    expect(u.broadcasterFixedMs.value).toBeCloseTo(47.5 - (5 * 548.2) / 495, 9);
    expect(u.tasksApiMs.value).toBe(10.6);
    expect(u.tasksApiMs.source).toMatch(/^bench: /);
  });

  it('uses 150 devices per user against the largest measured batch', () => {
    expect(unitsFromBench(benchJson(), 150).connectionsQueryReadUnits.value).toBe(1.5);
  });

  it('counts the change feed\u2019s write even when the results predate it', () => {
    // 0.625 $/M = 1 WRU: measured before the feed (no usd_per_million_updates_without_feed)
    const old = unitsFromBench(benchJson(), 2).writeUnitsPerChange;
    expect(old.value).toBe(2);
    expect(old.source).toContain('predates the change feed');
    // a run that counted the feed: 1.25 $/M = 2 WRU, taken from the bench
    const json = benchJson();
    json.cost.lines_usd_per_million.c1.coalescing_on.dynamoWrite = 1.25;
    const now = unitsFromBench({ ...json, cost: { ...json.cost, usd_per_million_updates_without_feed: { c1: 1.33 } } }, 2);
    expect(now.writeUnitsPerChange).toEqual({ value: 2, source: expect.stringMatching(/^bench: /) });
  });

  it('takes the catch-up from the sync scenario when present, else the fallback', () => {
    expect(unitsFromBench(benchJson(), 2).catchUpReadUnits).toEqual(FALLBACK_UNITS.catchUpReadUnits);
    const u = unitsFromBench(benchJson({ sync: { catchup_10k: { requests: 1, read_units: 2.5 } } }), 2);
    expect(u.catchUpReadUnits).toEqual({ value: 2.5, source: 'bench: sync.catchup_10k.read_units' });
    expect(u.catchUpRequests.value).toBe(1);
  });

  it('falls back key by key on missing or malformed figures', () => {
    expect(unitsFromBench(undefined, 2)).toEqual(FALLBACK_UNITS);
    expect(unitsFromBench({}, 2)).toEqual(FALLBACK_UNITS);
    const broken = unitsFromBench({ latency: { poll10: { write_round_trip: { p50_ms: 'fast' } } }, cost: { batches: 'x' } }, 2);
    expect(broken).toEqual(FALLBACK_UNITS);
    for (const f of Object.values(FALLBACK_UNITS)) expect(f.source).toMatch(/^(fallback|assumed): /);
  });
});

describe('quotas', () => {
  it('every quota has a value, an https source and the day it was recorded', () => {
    for (const [id, quota] of Object.entries(QUOTAS)) {
      expect(quota.value, id).toBeGreaterThan(0);
      expect(quota.source, id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
      expect(quota.recorded, id).toBe(QUOTAS_RECORDED);
    }
    expect(QUOTAS_RECORDED).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('records the defaults the model depends on', () => {
    expect(QUOTAS.wsNewConnectionsPerSecond).toMatchObject({ value: 500, adjustable: true });
    expect(QUOTAS.apiGatewayAccountRps).toMatchObject({ value: 10_000, adjustable: true });
    expect(QUOTAS.apiGatewayAccountBurst.value).toBe(5_000);
    expect(QUOTAS.lambdaConcurrentExecutions).toMatchObject({ value: 1_000, adjustable: true });
    expect(QUOTAS.lambdaScalingPer10Seconds).toMatchObject({ value: 1_000, adjustable: false });
    expect(QUOTAS.dynamoPartitionReadUnits.value).toBe(3_000);
    expect(QUOTAS.dynamoPartitionWriteUnits.value).toBe(1_000);
    expect(QUOTAS.dynamoOnDemandTableReadUnits).toMatchObject({ value: 40_000, adjustable: true });
    expect(QUOTAS.wsConnectionDurationSeconds).toMatchObject({ value: 7200, adjustable: false });
    expect(QUOTAS.wsIdleTimeoutSeconds).toMatchObject({ value: 600, adjustable: false });
    expect(QUOTAS.esmParallelizationFactorMax.value).toBe(10);
  });
});
