import { METRICS } from '../../lib/definitions.js';

/**
 * Reads the handlers' embedded-metric-format lines (the same JSON lines
 * CloudWatch turns into metrics on AWS) from the local workers' output and
 * keeps what the operations page draws: recent propagation lags, batch
 * sizes, and per-second rates of posts and events. Nothing per user.
 */

/** Upper bounds (ms) of the lag histogram's buckets; the last bucket is open. */
export const LAG_BUCKETS_MS = [25, 50, 100, 250, 500, 1_000, 2_500] as const;

export interface OpsSnapshot {
  at: string;
  lag: {
    count: number;
    p50: number | null;
    p90: number | null;
    p99: number | null;
    max: number | null;
    histogram: { le: number | null; count: number }[];
  };
  /** Per second, over the last `rateWindowSeconds`. */
  rates: {
    postsDelivered: number;
    postsGone: number;
    postsFailed: number;
    records: number;
    taskWrites: number;
    changeFeedPages: number;
  };
  batches: { count: number; averageRecords: number | null; maxRecords: number | null; averageFrames: number | null };
  totals: Record<string, number>;
  rateWindowSeconds: number;
}

export interface EmfCollector {
  /** True when the line was an EMF document (and was taken in). */
  ingest(line: string): boolean;
  snapshot(): OpsSnapshot;
}

interface Sample {
  at: number;
  value: number;
}

const RATE_METRICS = {
  postsDelivered: METRICS.postsDelivered,
  postsGone: METRICS.postsGone,
  postsFailed: METRICS.postsFailed,
  records: METRICS.recordsPerBatch,
  taskWrites: METRICS.taskWrites,
  changeFeedPages: METRICS.changeFeedPages,
} as const;

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function createEmfCollector(
  options: { now?: () => number; keep?: number; rateWindowSeconds?: number } = {},
): EmfCollector {
  const now = options.now ?? Date.now;
  const keep = options.keep ?? 5_000;
  const rateWindowSeconds = options.rateWindowSeconds ?? 10;
  const series = new Map<string, Sample[]>();
  const totals: Record<string, number> = {};

  const push = (name: string, at: number, value: number) => {
    const list = series.get(name) ?? [];
    list.push({ at, value });
    if (list.length > keep) list.splice(0, list.length - keep);
    series.set(name, list);
    totals[name] = (totals[name] ?? 0) + value;
  };

  return {
    ingest(line) {
      if (!line.includes('"_aws"')) return false;
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return false;
      }
      const aws = doc._aws as
        | { Timestamp?: number; CloudWatchMetrics?: { Namespace?: string; Metrics?: { Name: string }[] }[] }
        | undefined;
      const directives = aws?.CloudWatchMetrics;
      if (!Array.isArray(directives)) return false;
      const at = now();
      for (const directive of directives) {
        if (directive.Namespace !== METRICS.namespace) continue;
        for (const { Name } of directive.Metrics ?? []) {
          const raw = doc[Name];
          for (const value of Array.isArray(raw) ? raw : [raw]) if (typeof value === 'number') push(Name, at, value);
        }
      }
      return true;
    },

    snapshot() {
      const at = now();
      const values = (name: string) => (series.get(name) ?? []).map((s) => s.value);
      const lags = [...values(METRICS.propagationLag)].sort((a, b) => a - b);
      const histogram = [...LAG_BUCKETS_MS, null].map((le, i) => {
        const lower = i === 0 ? Number.NEGATIVE_INFINITY : LAG_BUCKETS_MS[i - 1]!;
        return { le, count: lags.filter((v) => v > lower && (le === null || v <= le)).length };
      });
      const since = at - rateWindowSeconds * 1000;
      const rate = (name: string) =>
        (series.get(name) ?? []).filter((s) => s.at >= since).reduce((n, s) => n + s.value, 0) / rateWindowSeconds;
      const records = values(METRICS.recordsPerBatch);
      const frames = values(METRICS.framesPerConnection);
      const average = (list: number[]) => (list.length === 0 ? null : list.reduce((a, b) => a + b, 0) / list.length);
      return {
        at: new Date(at).toISOString(),
        lag: {
          count: lags.length,
          p50: percentile(lags, 50),
          p90: percentile(lags, 90),
          p99: percentile(lags, 99),
          max: lags.at(-1) ?? null,
          histogram,
        },
        rates: Object.fromEntries(Object.entries(RATE_METRICS).map(([key, name]) => [key, rate(name)])) as OpsSnapshot['rates'],
        batches: {
          count: records.length,
          averageRecords: average(records),
          maxRecords: records.length === 0 ? null : Math.max(...records),
          averageFrames: average(frames),
        },
        totals: { ...totals },
        rateWindowSeconds,
      };
    },
  };
}
