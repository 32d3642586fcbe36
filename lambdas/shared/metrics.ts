import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as MetricUnitValue } from '@aws-lambda-powertools/metrics/types';
import { METRICS } from '../../lib/definitions.js';

export { MetricUnit };

/** What domain code needs to record a metric; handlers own the Metrics instance and flush it. */
export interface MetricsRecorder {
  addMetric(name: string, unit: MetricUnitValue, value: number): unknown;
}

/** Records nothing: the default where a caller (a test, a benchmark) passes no recorder. */
export const noMetrics: MetricsRecorder = { addMetric: () => undefined };

/**
 * One Metrics instance per function, at module scope (Powertools): namespace
 * METRICS.namespace, dimension `service` = the function. The embedded metric
 * format is a log line, so recording costs no API call.
 * POWERTOOLS_METRICS_DISABLED=true silences it (unit tests).
 */
export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: METRICS.namespace, serviceName });
}

/** Runs one invocation, then flushes what it recorded in one EMF line; the first one also counts a cold start. */
export async function withMetrics<T>(metrics: Metrics, run: () => Promise<T>): Promise<T> {
  metrics.captureColdStartMetric();
  try {
    return await run();
  } finally {
    metrics.publishStoredMetrics();
  }
}
