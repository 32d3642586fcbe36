import { SERVICE_NAMES, SERVICES } from './cost.js';
import { LIMIT_NAMES, type LimitId } from './limits.js';
import type { Report } from './model.js';
import { DEFAULT_QUOTA_VALUES, QUOTAS, QUOTAS_RECORDED, type QuotaId } from './quotas.js';

/** The report as a readable text table (what `npm run capacity` prints). */

export function formatUsers(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return n.toLocaleString('en-US');
}

/** Approximate user counts: 198,001 → ~198k, 4,242,227 → ~4.2M. */
export function approxUsers(n: number | null): string {
  if (n === null) return 'not below 1G';
  if (n < 1e3) return `~${n}`;
  if (n < 1e6) return `~${Number((n / 1e3).toPrecision(3))}k`;
  if (n < 1e9) return `~${Number((n / 1e6).toPrecision(2))}M`;
  return `~${Number((n / 1e9).toPrecision(2))}G`;
}

export function formatPercent(f: number): string {
  const p = f * 100;
  if (p < 10) return `${p.toFixed(1)} %`;
  return `${Math.round(p).toLocaleString('en-US')} %`;
}

export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd < 1) return `$${usd.toFixed(4)}`;
  if (usd < 100) return `$${usd.toFixed(2)}`;
  return `$${Math.round(usd).toLocaleString('en-US')}`;
}

const count = (n: number) => (n < 10 ? n.toFixed(2) : Math.round(n).toLocaleString('en-US'));

/** Columns are right-aligned (numbers) except the first and those listed in `left`. */
function table(header: string[], rows: string[][], left: number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || left.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatProfile(r: Report): string {
  const p = r.profile;
  return [
    `${p.devicesPerUser} devices/user`,
    `${p.changesPerUserPerDay} changes/user/day`,
    `${p.hoursConnectedPerDay} h connected/day`,
    `${p.reconnectsPerDevicePerDay} reconnects/device/day`,
    `heartbeat ${p.heartbeatSeconds} s`,
    `peak/average ${p.peakToAverage}`,
    `${p.tasksPerUser} tasks/user`,
    `token refresh every ${p.tokenRefreshMinutes} min`,
    `user burst ${p.userBurstWritesPerSecond} writes/s`,
    `parallelizationFactor ${p.parallelizationFactor}`,
    `presence parallelizationFactor ${p.presenceParallelizationFactor}`,
  ].join(' · ');
}

export function formatReport(r: Report): string {
  const scales = r.scales;
  const head = (first: string) => [first, ...scales.map((s) => formatUsers(s.users))];
  const out: string[] = [];

  out.push('Capacity model: which AWS limit is reached first, and the monthly bill (us-east-1)');
  out.push(`Profile: ${formatProfile(r)}`);
  const changed = (Object.keys(r.quotas) as QuotaId[]).filter((id) => r.quotas[id] !== DEFAULT_QUOTA_VALUES[id]);
  out.push(
    `Quotas: AWS defaults recorded ${QUOTAS_RECORDED} (capacity/quotas.ts)${
      changed.length ? `; overridden: ${changed.map((id) => `${id}=${r.quotas[id]}`).join(', ')}` : ''
    }. Prices: list prices (bench/pricing.ts, capacity/prices.ts).`,
  );
  out.push('');

  out.push(
    table(head('Peak hour, per second'), [
      ['open sockets (not per second)', ...scales.map((s) => count(s.peak.sockets))],
      ['task changes', ...scales.map((s) => count(s.peak.rate.changes))],
      ['WebSocket connects', ...scales.map((s) => count(s.peak.rate.connects))],
      ['pings', ...scales.map((s) => count(s.peak.rate.pings))],
      ['@connections posts', ...scales.map((s) => count(s.peak.rate.posts))],
      ['  of which PRESENCE', ...scales.map((s) => count(s.peak.rate.presencePosts))],
      ['HTTP requests', ...scales.map((s) => count(s.peak.rate.httpRequests))],
      ['token refreshes', ...scales.map((s) => count(s.peak.rate.tokenRefreshes))],
    ]),
  );
  out.push('');

  const ids = scales[0]?.limits.map((l) => l.id) ?? [];
  const rows = ids.map((id) => {
    const name = LIMIT_NAMES[id] + (scales[0]!.limits.find((l) => l.id === id)!.steady ? '' : ' *');
    return [
      name,
      ...scales.map((s) => formatPercent(s.limits.find((l) => l.id === id)!.utilisation)),
      approxUsers(r.reachedAt[id]),
    ];
  });
  const first = (id: LimitId | null) => (id ? LIMIT_NAMES[id] : 'none');
  out.push(table([...head('Utilisation at the peak hour'), 'reaches 100 % at'], rows));
  out.push(`First limit hit: ${scales.map((s) => `${formatUsers(s.users)} → ${first(s.firstLimitHit)}`).join('; ')}`);
  out.push('* only a surge from cold (deploy, failover, reconnect storm) exceeds it; not counted as "first limit hit".');
  out.push('');

  out.push(
    table(head('Monthly cost (USD)'), [
      ...SERVICES.map((svc) => [SERVICE_NAMES[svc], ...scales.map((s) => formatUsd(s.cost.byService[svc]))]),
      ['Total', ...scales.map((s) => formatUsd(s.cost.total))],
      ['Per user per month', ...scales.map((s) => formatUsd(s.cost.perUser))],
    ]),
  );
  out.push('');

  out.push('What to change');
  for (const s of scales) {
    const nearest = s.limits.find((l) => l.id === s.nearestLimit)!;
    const recs = s.recommendations;
    const blocking = recs.filter((x) => x.urgency !== 'cost');
    out.push(
      `- ${formatUsers(s.users)} users: ${
        blocking.length === 0
          ? `no limit change needed (none at 70 % or more); nearest: ${nearest.name} at ${formatPercent(nearest.utilisation)}.`
          : ''
      }`.trimEnd(),
    );
    for (const rec of recs) out.push(`    [${rec.urgency}] ${rec.text}`);
  }
  out.push('');

  out.push('Per-operation units (capacity/units.ts)');
  out.push(
    table(
      ['unit', 'value', 'source'],
      Object.entries(r.units).map(([k, f]) => [k, Number(f.value.toFixed(3)).toString(), f.source]),
      [2],
    ),
  );
  return out.join('\n');
}

/** The quota table as Markdown, for docs/capacity.md. */
export function quotaMarkdown(): string {
  const rows = (Object.entries(QUOTAS) as [QuotaId, (typeof QUOTAS)[QuotaId]][]).map(
    ([id, quota]) =>
      `| \`${id}\` | ${quota.name} | ${quota.value.toLocaleString('en-US')} ${quota.unit} | ${
        quota.adjustable ? 'default, adjustable' : 'fixed'
      } | [source](${quota.source}), ${quota.recorded} | ${quota.note ?? ''} |`,
  );
  return ['| id | quota | value | | source, recorded | note |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
