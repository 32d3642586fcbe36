import { FUNCTIONS } from '../lib/definitions.js';
import type { MonthlyCost } from './cost.js';
import type { LimitId, LimitUse } from './limits.js';
import type { Profile } from './profile.js';
import type { QuotaValues } from './quotas.js';
import type { Traffic } from './traffic.js';

/**
 * What to change at a scale: a quota request, a setting or a design change
 * for every limit at or near its ceiling, and the largest cost levers.
 */

export type Urgency = 'now' | 'plan' | 'cost';

export interface Recommendation {
  urgency: Urgency;
  limit?: LimitId;
  text: string;
}

/** At or above this utilisation, ask ahead: quota requests take days. */
export const PLAN_AT = 0.7;
/** Quota requests ask for this much headroom over the peak. */
export const HEADROOM = 1.5;
/** Heartbeat suggested when pings dominate: still well under the 10-minute idle timeout. */
export const LONGER_HEARTBEAT_SECONDS = 540;

/** The smallest of 1, 2, 2.5 or 5 × 10^k that is at least x. */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 0;
  const power = 10 ** Math.floor(Math.log10(x));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= x * (1 - 1e-12)) return step * power;
  }
  return 10 * power;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (f: number) => `${Math.round(f * 100)} %`;
const ask = (demand: number) => int(niceCeil(demand * HEADROOM));

/** The parallelizationFactor that keeps each shard's batches below PLAN_AT of its slots. */
export function parallelizationFactorFor(busyPerShard: number): number {
  return Math.max(1, Math.ceil(busyPerShard / PLAN_AT));
}

function forLimit(l: LimitUse, p: Profile, peak: Traffic, q: QuotaValues): string {
  const r = peak.rate;
  switch (l.id) {
    case 'wsNewConnections': {
      const minutes = peak.sockets / l.capacity / 60;
      return `Request API Gateway "New connections per second" (Service Quotas L-9ED1E49A) of at least ${ask(l.demand)}/s (peak ${int(l.demand)}/s). At ${int(l.capacity)}/s, re-opening the ${int(peak.sockets)} peak sockets after a disruption takes ${minutes.toFixed(0)} min: keep the clients' jittered backoff.`;
    }
    case 'apiGatewayThrottle': {
      const share = r.pings / l.demand;
      const longer =
        p.heartbeatSeconds < LONGER_HEARTBEAT_SECONDS
          ? ` Pings are ${pct(share)} of it: a ${LONGER_HEARTBEAT_SECONDS} s heartbeat (under the 10-minute idle timeout) cuts that share by ${pct(1 - p.heartbeatSeconds / LONGER_HEARTBEAT_SECONDS)}.`
          : '';
      return `Request the API Gateway account throttle (Service Quotas L-8A5B8E43; HTTP, WebSocket and @connections share it) of at least ${ask(l.demand)} requests/s.${longer}`;
    }
    case 'lambdaConcurrency':
      return `Request Lambda concurrent executions of at least ${ask(l.demand)} (peak ${int(l.demand)}, ${l.subject ?? 'all functions'} the largest share).`;
    case 'lambdaInvocationRate': {
      const share = peak.lambda.wsDefault.invocations / l.demand;
      return `Lambda accepts 10 invocations/s per unit of concurrency quota: request concurrency of at least ${ask(l.demand / q.lambdaRequestsPerSecondPerConcurrency)} for ${int(l.demand)} invocations/s (wsDefault's pings and hellos are ${pct(share)}).`;
    }
    case 'lambdaScaling': {
      const steps = Math.ceil(l.demand / l.capacity);
      return `${l.detail} (the rate cannot be raised): after a deploy, failover or reconnect storm that function is throttled for about ${steps * 10} s while it scales; clients retry, or keep it warm with provisioned concurrency before known peaks.`;
    }
    case 'dynamoTable': {
      const pingReads =
        l.subject === 'changes table reads'
          ? ` Most of them are the pings' since reads (${int(r.pings)}/s): a longer heartbeat cuts them in proportion.`
          : '';
      return `Request the DynamoDB table-level on-demand quota for the ${l.subject ?? 'busiest table'} of at least ${ask(l.demand)} ${l.unit}, and pre-warm (warm throughput) before a launch: on-demand serves only twice its previous peak at once.${pingReads}`;
    }
    case 'dynamoUserPartition':
      return `One partition key takes ${int(q.dynamoPartitionWriteUnits)} WRU/s: shard hot users' keys (write sharding, userId#0…n-1 on Tasks and Changes, queried together) or rate-limit bulk writes per user.`;
    case 'streamShard':
      return `DynamoDB splits partitions (and stream shards) by itself; a shard near ${int(l.capacity)} records/s means one key is hot: shard that key.`;
    case 'streamBroadcaster': {
      const pf = parallelizationFactorFor(l.demand);
      if (pf <= q.esmParallelizationFactorMax) {
        return `Set parallelizationFactor to ${pf} on the broadcaster's event source mapping (STREAM_MAPPING.parallelizationFactor, lib/definitions.ts): one shard keeps ${l.demand.toFixed(2)} batches in flight (${l.detail}).`;
      }
      return `parallelizationFactor ${q.esmParallelizationFactorMax} is not enough (${l.demand.toFixed(1)} batches in flight per shard): give the broadcaster more memory (1,769 MB is one full vCPU; now ${FUNCTIONS.broadcaster.memoryMb} MB) and more posts in flight (LIMITS.postConcurrency) to shorten batches, or fan posts out through SQS.`;
    }
    case 'streamPresence': {
      const pf = parallelizationFactorFor(l.demand);
      if (pf <= q.esmParallelizationFactorMax) {
        return `Set parallelizationFactor to ${pf} on the presence function's event source mapping (PRESENCE_MAPPING.parallelizationFactor, lib/definitions.ts; one user's records stay in order): one Connections stream shard keeps ${l.demand.toFixed(2)} batches in flight (${l.detail}), and records older than PRESENCE_MAPPING.maxRecordAgeSeconds are dropped, leaving counts stale.`;
      }
      return `parallelizationFactor ${q.esmParallelizationFactorMax} is not enough for presence (${l.demand.toFixed(1)} batches in flight per shard): give it more memory (now ${FUNCTIONS.presence.memoryMb} MB) and more posts in flight (LIMITS.postConcurrency), or send PRESENCE less often (coalesce a user's connects and disconnects).`;
    }
    case 'cognitoAuth': {
      // A connection never outlives its token: below 2 hours, each refresh is also a reconnect.
      const reconnects =
        p.tokenRefreshMinutes * 60 < q.wsConnectionDurationSeconds
          ? ', and so do the reconnects the token forces (down to one per 2 hours)'
          : '';
      return `Request Cognito's UserAuthentication rate of at least ${ask(l.demand)}/s, or lengthen the ID token validity (up to 24 h): open dashboards refresh once per token lifetime, so refreshes fall in proportion${reconnects}.`;
    }
  }
}

function costAdvice(p: Profile, peak: Traffic, cost: MonthlyCost): Recommendation[] {
  const out: Recommendation[] = [];
  if (cost.total <= 0) return out;
  const r = peak.rate;
  const pullShare = r.httpRequests > 0 ? r.behindPulls / r.httpRequests : 0;
  if (pullShare >= 0.4) {
    out.push({
      urgency: 'cost',
      text: `${pct(pullShare)} of HTTP requests are catch-ups that a PONG with behind: true starts after every change, on devices that already got the change as an event: a position carried in events that lets the ping's since move on could remove most of them (a design change to check against the change feed's no-skip argument).`,
    });
  }
  const pingShare = cost.pings / cost.total;
  if (pingShare >= 0.25 && p.heartbeatSeconds < LONGER_HEARTBEAT_SECONDS) {
    out.push({
      urgency: 'cost',
      text: `Pings cost ${pct(pingShare)} of the bill: a ${LONGER_HEARTBEAT_SECONDS} s heartbeat saves about ${pct(pingShare * (1 - p.heartbeatSeconds / LONGER_HEARTBEAT_SECONDS))} (a lost event then takes up to 9 minutes to repair).`,
    });
  }
  const cognitoShare = cost.byService.cognito / cost.total;
  if (cognitoShare >= 0.25) {
    out.push({
      urgency: 'cost',
      text: `Cognito Essentials is ${pct(cognitoShare)} of the bill: compare the Lite feature plan if the managed login's Essentials features are not needed.`,
    });
  }
  const logShare = cost.byService.cloudwatchLogs / cost.total;
  if (logShare >= 0.05) {
    out.push({
      urgency: 'cost',
      text: `CloudWatch Logs is ${pct(logShare)} of the bill, mostly START/END/REPORT lines: JSON log format with the system log level at WARN drops them.`,
    });
  }
  return out;
}

export function recommendations(
  p: Profile,
  limits: LimitUse[],
  peak: Traffic,
  cost: MonthlyCost,
  q: QuotaValues,
): Recommendation[] {
  const out: Recommendation[] = [];
  for (const l of [...limits].sort((a, b) => b.utilisation - a.utilisation)) {
    // A surge-only limit matters once a surge exceeds it, and then as a plan, not a blocker.
    if (l.utilisation < (l.steady ? PLAN_AT : 1)) continue;
    out.push({ urgency: l.steady && l.utilisation >= 1 ? 'now' : 'plan', limit: l.id, text: forLimit(l, p, peak, q) });
  }
  return [...out, ...costAdvice(p, peak, cost)];
}
