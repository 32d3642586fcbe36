import { recommendations, type Recommendation } from './advice.js';
import { monthlyCost, type MonthlyCost } from './cost.js';
import { LIMIT_IDS, limitUses, type LimitId, type LimitUse } from './limits.js';
import type { Profile } from './profile.js';
import type { QuotaValues } from './quotas.js';
import { traffic, type Traffic } from './traffic.js';
import type { Units } from './units.js';

/** The capacity model end to end: pure functions, no I/O. */

export interface ScaleReport {
  users: number;
  peak: Traffic;
  average: Traffic;
  limits: LimitUse[];
  /** The steady-traffic limit at or past 100 % that was reached at the fewest users; null when none is. */
  firstLimitHit: LimitId | null;
  /** The steady-traffic limit with the highest utilisation. */
  nearestLimit: LimitId;
  cost: MonthlyCost;
  recommendations: Recommendation[];
}

export interface Report {
  profile: Profile;
  units: Units;
  quotas: QuotaValues;
  scales: ScaleReport[];
  /** Users at which each limit first reaches 100 % (null: not below MAX_USERS). */
  reachedAt: Record<LimitId, number | null>;
}

export const MAX_USERS = 1e9;
const GRID_PER_DECADE = 40;

export function limitsAt(p: Profile, u: Units, q: QuotaValues, users: number): LimitUse[] {
  return limitUses(p, traffic(p, u, q, users, 'peak'), q);
}

/**
 * The fewest users at which each limit reaches 100 %: the first crossing on a
 * log grid of 40 points per decade from 1 user to MAX_USERS, refined by
 * bisection. (The stream's per-shard load is a sawtooth as shards are added,
 * so its first crossing is what is reported.)
 */
export function usersAtWhichReached(p: Profile, u: Units, q: QuotaValues): Record<LimitId, number | null> {
  const reached = Object.fromEntries(LIMIT_IDS.map((id) => [id, null])) as Record<LimitId, number | null>;
  const utilisation = (users: number, id: LimitId) => limitsAt(p, u, q, users).find((l) => l.id === id)!.utilisation;
  let previous = 0;
  const steps = Math.round(Math.log10(MAX_USERS) * GRID_PER_DECADE);
  for (let k = 0; k <= steps; k++) {
    const users = 10 ** (k / GRID_PER_DECADE);
    for (const l of limitsAt(p, u, q, users)) {
      if (reached[l.id] !== null || l.utilisation < 1) continue;
      if (k === 0) {
        reached[l.id] = 1;
        continue;
      }
      let lo = previous;
      let hi = users;
      for (let i = 0; i < 40 && hi - lo > 0.5; i++) {
        const mid = (lo + hi) / 2;
        if (utilisation(mid, l.id) >= 1) hi = mid;
        else lo = mid;
      }
      reached[l.id] = Math.ceil(hi);
    }
    if (LIMIT_IDS.every((id) => reached[id] !== null)) break;
    previous = users;
  }
  return reached;
}

/** Among steady limits at or past 100 %, the one reached at the fewest users (then the most used). */
export function firstLimitHit(limits: LimitUse[], reachedAt: Record<LimitId, number | null>): LimitId | null {
  const hit = limits.filter((l) => l.steady && l.utilisation >= 1);
  if (hit.length === 0) return null;
  hit.sort((a, b) => (reachedAt[a.id] ?? Infinity) - (reachedAt[b.id] ?? Infinity) || b.utilisation - a.utilisation);
  return hit[0]!.id;
}

export function evaluateScale(
  p: Profile,
  u: Units,
  q: QuotaValues,
  users: number,
  reachedAt: Record<LimitId, number | null>,
): ScaleReport {
  const peak = traffic(p, u, q, users, 'peak');
  const average = traffic(p, u, q, users, 'average');
  const limits = limitUses(p, peak, q);
  const cost = monthlyCost(p, u, average);
  const steady = limits.filter((l) => l.steady);
  const nearestLimit = steady.reduce((a, b) => (b.utilisation > a.utilisation ? b : a)).id;
  return {
    users,
    peak,
    average,
    limits,
    firstLimitHit: firstLimitHit(limits, reachedAt),
    nearestLimit,
    cost,
    recommendations: recommendations(p, limits, peak, cost, q),
  };
}

export function runModel(p: Profile, u: Units, q: QuotaValues, scales: readonly number[]): Report {
  const reachedAt = usersAtWhichReached(p, u, q);
  return { profile: p, units: u, quotas: q, scales: scales.map((n) => evaluateScale(p, u, q, n, reachedAt)), reachedAt };
}

/** Cost per user per month over a log range of users (for the chart). */
export function costCurve(
  p: Profile,
  u: Units,
  q: QuotaValues,
  from: number,
  to: number,
  pointsPerDecade = 8,
): { users: number; perUser: number; perUserWithoutCognito: number }[] {
  const points: { users: number; perUser: number; perUserWithoutCognito: number }[] = [];
  const steps = Math.round(Math.log10(to / from) * pointsPerDecade);
  for (let k = 0; k <= steps; k++) {
    const users = Math.round(from * 10 ** (k / pointsPerDecade));
    const cost = monthlyCost(p, u, traffic(p, u, q, users, 'average'));
    points.push({ users, perUser: cost.perUser, perUserWithoutCognito: (cost.total - cost.byService.cognito) / users });
  }
  return points;
}
