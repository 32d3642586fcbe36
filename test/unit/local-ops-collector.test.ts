import { describe, expect, it } from 'vitest';
import { METRICS } from '../../lib/definitions.js';
import { createEmfCollector, percentile } from '../../local/ops/emf-collector.js';
import { socketsPerUser } from '../../local/gateway/websocket/websocket-api.js';

/** An EMF line as Powertools Metrics writes it. */
const emf = (service: string, metrics: Record<string, number | number[]>, namespace: string = METRICS.namespace) =>
  JSON.stringify({
    _aws: {
      Timestamp: 0,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [['service']],
          Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: 'Count' })),
        },
      ],
    },
    service,
    ...metrics,
  });

describe('EMF collector of the local operations page', () => {
  it('takes EMF lines of the TaskSync namespace and leaves every other line alone', () => {
    const collector = createEmfCollector();
    expect(collector.ingest('{"level":"INFO","message":"Batch broadcast"}')).toBe(false);
    expect(collector.ingest('not json "_aws"')).toBe(false);
    expect(collector.ingest(emf('other', { Foo: 1 }, 'SomethingElse'))).toBe(true);
    expect(collector.ingest(emf('broadcaster', { [METRICS.postsDelivered]: 3 }))).toBe(true);
    expect(collector.snapshot().totals).toEqual({ [METRICS.postsDelivered]: 3 });
  });

  it('gives lag percentiles and a histogram over every value of an array metric', () => {
    const collector = createEmfCollector();
    collector.ingest(emf('broadcaster', { [METRICS.propagationLag]: [10, 20, 30, 40, 600] }));
    collector.ingest(emf('broadcaster', { [METRICS.propagationLag]: 3_000 }));
    const { lag } = collector.snapshot();
    expect(lag).toMatchObject({ count: 6, p50: 30, p90: 3_000, max: 3_000 });
    // ≤25: 10, 20 · ≤50: 30, 40 · ≤1000: 600 · >2500: 3000
    expect(lag.histogram.map((b) => b.count)).toEqual([2, 2, 0, 0, 0, 1, 0, 1]);
  });

  it('turns counts into per-second rates over the window, and forgets what is older', () => {
    let clock = 100_000;
    const collector = createEmfCollector({ now: () => clock, rateWindowSeconds: 10 });
    collector.ingest(emf('broadcaster', { [METRICS.postsDelivered]: 40, [METRICS.recordsPerBatch]: 20 }));
    clock += 5_000;
    collector.ingest(emf('broadcaster', { [METRICS.postsDelivered]: 60, [METRICS.recordsPerBatch]: 30 }));
    expect(collector.snapshot().rates).toMatchObject({ postsDelivered: 10, records: 5 });
    expect(collector.snapshot().batches).toMatchObject({ count: 2, averageRecords: 25, maxRecords: 30 });
    clock += 8_000;
    expect(collector.snapshot().rates.postsDelivered).toBe(6);
  });

  it('computes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
  });
});

describe('sockets per user', () => {
  it('counts users by how many sockets they hold, without naming them', () => {
    const sockets = ['a', 'a', 'b', 'c', 'c', 'c', 'd', 'd', 'd', 'd', 'd', 'd'].map((principalId) => ({
      authorizer: { principalId },
    }));
    expect(socketsPerUser(sockets)).toEqual({ '1': 1, '2': 1, '3': 1, '4': 0, '5+': 1 });
  });
});
