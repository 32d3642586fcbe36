import { FUNCTIONS, type FunctionName } from '../lib/definitions.js';
import type { FanoutTrial, RampStep } from './protocol.js';
import type { Summary } from './stats.js';
import type { SyncFigures } from './sync.js';

type Params = Record<string, unknown>;

export interface LatencyFigures extends Summary {
  deliveries: number;
  expected_deliveries: number;
  lost: number;
  duplicates: number;
  arrived_before_response: number;
  writes: number;
  write_errors: number;
  achieved_writes_per_s: number;
  write_round_trip: Summary;
  /** p99 of the same run on a `--runtime inprocess` stack (handlers in the emulator's process): the baseline. */
  inprocess_p99_ms?: number;
  parameters: Params;
}

export interface FanoutFigures {
  last_ms: number;
  first_ms: number;
  trials: FanoutTrial[];
  open_ms: number;
  /** Median CPU time of the stack process per trial (@connections emulator and socket writes; in-process also the broadcaster). */
  stack_cpu_ms: number;
  /** CPU time of the broadcaster's worker process per invocation (isolated runtime). */
  broadcaster_cpu_ms?: number;
  /** The same fan-out on a `--runtime inprocess` stack: the baseline. */
  inprocess_last_ms?: number;
  inprocess_first_ms?: number;
  inprocess_stack_cpu_ms?: number;
  inprocess_trials?: FanoutTrial[];
  parameters: Params;
}

export interface CostByConnections {
  c1: number;
  c10: number;
  c100: number;
}

export interface TargetResult {
  key: string;
  value: number | boolean | null;
  target: string;
  ok: boolean | null;
}

/** The shape of bench/results/latest.json. */
export interface Results {
  meta: {
    date: string;
    commit: string;
    node: string;
    cpus: number;
    loadAverageAtStart: number[];
    ulimitNoFile: number;
    scenarios: string[];
    totalSeconds: number;
    /** Each scenario's duration and the 1-minute load average before and after it. */
    scenarioRuns: Array<{ name: string; seconds: number; loadAverage1mBefore: number; loadAverage1mAfter: number }>;
    errors: Record<string, string>;
  };
  latency?: { poll250: LatencyFigures; poll10: LatencyFigures };
  fanout?: { c100: FanoutFigures; c1000: FanoutFigures };
  calls?: {
    queries_per_batch: number;
    posts_per_batch: number;
    records_per_batch: number;
    distinct_users: number;
    connections: number;
    batch_item_failures: number;
    broadcaster_ms: number;
    queries_equal_distinct_users: boolean;
    posts_equal_connections: boolean;
    every_socket_got_its_events?: boolean;
    parameters: Params;
  };
  cost?: {
    usd_per_million_updates: CostByConnections;
    usd_per_million_updates_coalescing_off: CostByConnections;
    /** The same with one write request unit per update (before the change feed), for comparison. */
    usd_per_million_updates_without_feed?: CostByConnections;
    lines_usd_per_million: Record<string, unknown>;
    batches: Record<string, unknown>;
    parameters: Params;
  };
  /** `<function>_bytes` and `<function>_import_ms` for every function in FUNCTIONS, plus details. */
  bundle?: Record<`${FunctionName}_bytes` | `${FunctionName}_import_ms`, number> & { details: Params; parameters: Params };
  capacity?: {
    idle_5000_rss_mb: number | null;
    idle_5000_java_rss_mb: number | null;
    baseline_rss_mb: number;
    baseline_java_rss_mb: number | null;
    idle_opened: number;
    idle_open_failures: number;
    idle_open_s: number;
    rss_after_ramp_mb: number;
    /** Sum of the Lambda worker processes' RSS with the idle sockets open (reported apart from the gateway's). */
    idle_5000_worker_rss_mb?: number | null;
    idle_5000_workers?: number;
    baseline_worker_rss_mb?: number;
    writes_per_s_no_loss: number;
    ramp: RampStep[];
    parameters: Params;
  };
  web?: {
    initial_js_gzip_bytes: number;
    initial_js_bytes: number;
    budget_gzip_bytes: number;
    /** Reload to list visible with 10,000 cached tasks (IndexedDB), Chromium; see bench/web-reload.ts. */
    reload_10k_ms?: number;
    /** Reload to the viewport filled with rows and the next frame (10,000 cached tasks). */
    render_10k_ms?: number;
    /** Enter in the title field to the new row in the DOM, with 10,000 tasks. */
    create_visible_10k_ms?: number;
    /** Long tasks (> 50 ms) while scrolling through 10,000 tasks. */
    scroll_longtasks_10k?: number;
    /** The slowest keystroke of a search over 10,000 tasks (input → next frame). */
    search_10k_ms?: number;
    parameters: Params;
  };
  /** Catch-up with 10,000 tasks and one change: the full list against the change feed (bench/sync.ts). */
  sync?: SyncFigures;
  /** npm start's live reload of one handler (issue 10). */
  reload?: {
    /** Save → the first request served by the new code, median. */
    handler_ms: number;
    /** The runtime's own figure: first file event → a warm worker of the new code ready. */
    runtime_ms: number;
    /** First file event → rebuilt bundle written. */
    build_ms: number;
    trials: Array<Record<string, unknown>>;
    parameters: Params;
  };
  targets?: TargetResult[];
}

const get = (results: Results, key: string): unknown =>
  key.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), results);

const numberAt = (results: Results, key: string): number | null => {
  const v = get(results, key);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

interface Target {
  key: string;
  text: string;
  evaluate(results: Results): TargetResult;
}

function atMost(key: string, limit: number, text: string): Target {
  return {
    key,
    text,
    evaluate(results) {
      const value = numberAt(results, key);
      return { key, value, target: text, ok: value === null ? null : value <= limit };
    },
  };
}

function holds(key: string, text: string): Target {
  return {
    key,
    text,
    evaluate(results) {
      const v = get(results, key);
      const value = typeof v === 'boolean' ? v : null;
      return { key, value, target: text, ok: value };
    },
  };
}

const BUNDLE_MAX_BYTES = 150 * 1024;
const fns = Object.keys(FUNCTIONS) as FunctionName[];

/** Issue 5's targets, and the assertions the call counts must satisfy. */
export const TARGETS: Target[] = [
  atMost('latency.poll10.p99_ms', 50, '≤ 50 ms'),
  atMost('latency.poll250.p99_ms', 300, '≤ 300 ms'),
  atMost('latency.poll10.lost', 0, '0'),
  atMost('latency.poll250.lost', 0, '0'),
  atMost('fanout.c1000.last_ms', 500, '≤ 500 ms'),
  holds('calls.queries_equal_distinct_users', '= users'),
  holds('calls.posts_equal_connections', '= connections'),
  ...fns.flatMap((fn) => [
    atMost(`bundle.${fn}_bytes`, BUNDLE_MAX_BYTES, '≤ 150 KB'),
    atMost(`bundle.${fn}_import_ms`, 60, '≤ 60 ms'),
  ]),
  atMost('capacity.idle_5000_rss_mb', 199.99, '< 200 MB'),
  // Issue 9: catch-up in proportion to what changed.
  atMost('sync.catchup_10k.requests', 1, '1'),
  atMost('sync.catchup_10k.bytes', 2048, '≤ 2 KB'),
  atMost('sync.catchup_10k.read_units', 2, '≤ 2 RU'),
  atMost('sync.catchup_10k.ms', 50, '≤ 50 ms'),
  atMost('web.reload_10k_ms', 500, '≤ 500 ms'),
  // Issue 11: the dashboard as a daily todo app with 10,000 tasks.
  atMost('web.render_10k_ms', 500, '≤ 500 ms'),
  atMost('web.create_visible_10k_ms', 50, '≤ 50 ms'),
  atMost('web.scroll_longtasks_10k', 0, '0'),
  atMost('web.search_10k_ms', 50, '≤ 50 ms'),
  atMost('cost.usd_per_million_updates.c10', 3.13, '≤ $3.13 (+30 %)'),
  // Issue 10: the isolated local Lambda runtime.
  atMost('reload.handler_ms', 500, '≤ 500 ms'),
];

type Unit = 'ms' | 'bytes' | 'MB' | 'usd' | 'count' | 'rate' | 'bool';

function format(value: unknown, unit: Unit): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value !== 'number') return String(value);
  switch (unit) {
    case 'ms':
      return `${value.toFixed(1)} ms`;
    case 'bytes':
      return `${(value / 1024).toFixed(1)} KB`;
    case 'MB':
      return `${value.toFixed(1)} MB`;
    case 'usd':
      return `$${value.toFixed(2)}`;
    case 'rate':
      return `${value.toFixed(0)} /s`;
    default:
      return value.toLocaleString('en-US');
  }
}

interface Row {
  key: string;
  unit: Unit;
  note?: (r: Results) => string;
}

interface Section {
  title: string;
  params: (r: Results) => string;
  rows: Row[];
}

const ms = (key: string, note?: Row['note']): Row => ({ key, unit: 'ms', ...(note ? { note } : {}) });

function latencySection(poll: 'poll250' | 'poll10', title: string): Section {
  return {
    title,
    params: (r) => {
      const l = r.latency?.[poll];
      return l
        ? `20 users × 5 sockets = 100, ${l.writes} writes at 20/s (achieved ${l.achieved_writes_per_s}/s), ${l.deliveries.toLocaleString('en-US')} of ${l.expected_deliveries.toLocaleString('en-US')} deliveries, ${l.lost} lost, ${l.duplicates} duplicates; write response → arrival at each socket`
        : 'not run';
    },
    rows: [
      ms(`latency.${poll}.p50_ms`),
      ms(`latency.${poll}.p95_ms`),
      ms(`latency.${poll}.p99_ms`),
      ms(`latency.${poll}.max_ms`),
      ms(`latency.${poll}.write_round_trip.p50_ms`, () => 'write round trip, for context'),
      ...(poll === 'poll250'
        ? [ms('latency.poll250.inprocess_p99_ms', () => 'baseline: handlers in the emulator process (--runtime inprocess)')]
        : []),
    ],
  };
}

const SECTIONS: Section[] = [
  latencySection('poll250', '1a. Propagation latency, stream polled every 250 ms (AWS rate)'),
  latencySection('poll10', '1b. Propagation latency, stream polled every 10 ms (processing overhead)'),
  {
    title: '2. Fan-out to one user',
    params: () => 'one user, 100 and 1,000 open sockets, 10 ms polling; write response → last socket; median of 5 writes',
    rows: [
      ms('fanout.c100.last_ms'),
      ms('fanout.c1000.first_ms'),
      ms('fanout.c1000.last_ms', (r) =>
        r.fanout
          ? `stack process CPU ${r.fanout.c1000.stack_cpu_ms} ms per trial` +
            (r.fanout.c1000.broadcaster_cpu_ms !== undefined
              ? `, broadcaster worker ${r.fanout.c1000.broadcaster_cpu_ms} ms`
              : '')
          : '',
      ),
      ms('fanout.c1000.inprocess_last_ms', (r) =>
        r.fanout?.c1000.inprocess_stack_cpu_ms !== undefined
          ? `baseline (--runtime inprocess): stack process CPU ${r.fanout.c1000.inprocess_stack_cpu_ms} ms per trial`
          : '',
      ),
    ],
  },
  {
    title: '3. AWS calls per stream batch (real broadcaster, counted with SDK middleware)',
    params: (r) =>
      r.calls
        ? `${r.calls.records_per_batch} records, ${r.calls.distinct_users} users × 3 real sockets = ${r.calls.connections} connections`
        : 'not run',
    rows: [
      { key: 'calls.records_per_batch', unit: 'count' },
      { key: 'calls.queries_per_batch', unit: 'count' },
      { key: 'calls.posts_per_batch', unit: 'count' },
      { key: 'calls.queries_equal_distinct_users', unit: 'bool' },
      { key: 'calls.posts_equal_connections', unit: 'bool' },
    ],
  },
  {
    title: '4. Cost per million updates, change feed included (us-east-1 list prices; coalescing on / off)',
    params: () =>
      'batches of 100 updates from 5 users × 20, each user with c connections; see cost.parameters for every assumption',
    rows: (['c1', 'c10', 'c100'] as const).map((c) => ({
      key: `cost.usd_per_million_updates.${c}`,
      unit: 'usd' as Unit,
      note: (r: Results) =>
        `off: ${format(r.cost?.usd_per_million_updates_coalescing_off[c], 'usd')}; without the feed's write: ${format(r.cost?.usd_per_million_updates_without_feed?.[c], 'usd')}`,
    })),
  },
  {
    title: '5. Lambda bundles (esbuild as CDK deploys them: minified ESM, AWS SDK bundled)',
    params: () => 'bytes of index.mjs; import = median of 10 fresh node processes (ESM loader pre-warmed)',
    rows: fns.flatMap((fn) => [
      { key: `bundle.${fn}_bytes`, unit: 'bytes' as Unit, note: (r: Results) => sdkExternalNote(r, fn) },
      { key: `bundle.${fn}_import_ms`, unit: 'ms' as Unit, note: (r: Results) => importNote(r, fn) },
    ]),
  },
  {
    title: '6. Local capacity',
    params: (r) =>
      r.capacity
        ? `${r.capacity.idle_opened.toLocaleString('en-US')} idle sockets over 50 users (opened in ${r.capacity.idle_open_s} s); ramp ${r.capacity.ramp.map((s) => s.targetPerSecond).join('/')} writes/s offered, 3 s each, 2 receivers`
        : 'not run',
    rows: [
      { key: 'capacity.baseline_rss_mb', unit: 'MB', note: () => 'stack process, no sockets' },
      { key: 'capacity.idle_5000_rss_mb', unit: 'MB', note: () => 'stack process (gateway emulator + handlers)' },
      { key: 'capacity.idle_5000_java_rss_mb', unit: 'MB', note: () => 'DynamoDB Local JVM, separate process' },
      {
        key: 'capacity.idle_5000_worker_rss_mb',
        unit: 'MB',
        note: (r) =>
          `${r.capacity?.idle_5000_workers ?? '?'} Lambda worker processes, summed (${r.capacity?.baseline_worker_rss_mb ?? '?'} MB before the sockets)`,
      },
      { key: 'capacity.writes_per_s_no_loss', unit: 'rate', note: rampNote },
    ],
  },
  {
    title: '7. Web bundle',
    params: () => 'buildWeb(): entry chunk + static imports, gzip -9',
    rows: [{ key: 'web.initial_js_gzip_bytes', unit: 'bytes', note: () => 'budget 40.0 KB' }],
  },
  {
    title: '8. Catch-up with 10,000 tasks and one change (full list vs change feed)',
    params: () =>
      'one user, 10,000 tasks, pages of 100; then one PUT; ms = median of 5; read units = DynamoDB ConsumedCapacity of the same handler code',
    rows: [
      { key: 'sync.full_10k.requests', unit: 'count' },
      { key: 'sync.full_10k.bytes', unit: 'bytes' },
      ms('sync.full_10k.ms'),
      { key: 'sync.full_10k.read_units', unit: 'count' },
      { key: 'sync.catchup_10k.requests', unit: 'count' },
      {
        key: 'sync.catchup_10k.bytes',
        unit: 'bytes',
        note: (r: Results) => `${r.sync?.catchup_10k.changes ?? '?'} change(s) answered`,
      },
      ms('sync.catchup_10k.ms'),
      { key: 'sync.catchup_10k.read_units', unit: 'count' },
      ms('web.reload_10k_ms', () => 'Chromium: reload → first row in the DOM, from IndexedDB'),
      ms('web.render_10k_ms', () => 'reload → rows fill the viewport, next frame'),
      ms('web.create_visible_10k_ms', () => 'Enter → new row in the DOM (median of 5)'),
      {
        key: 'web.scroll_longtasks_10k',
        unit: 'count',
        note: () => 'long tasks (> 50 ms) scrolling top → end, a viewport per frame',
      },
      ms('web.search_10k_ms', () => 'slowest keystroke of "task 01234": input → next frame'),
    ],
  },
  {
    title: '9. Local Lambda runtime (isolated worker processes)',
    params: () =>
      'npm start with its watch, on a scratch copy of the project; a line appended to lambdas/tasks-api.ts; median of 5',
    rows: [
      ms('reload.handler_ms', () => 'save → first request served by the new code'),
      ms('reload.build_ms', () => 'file event → bundle rebuilt (incremental esbuild)'),
      ms('reload.runtime_ms', () => 'file event → a warm worker of the new code'),
    ],
  },
];

interface BundleDetails {
  bytes_with_aws_sdk_external?: number;
  import_ms_with_aws_sdk_external?: number;
  import_ms_with_source_maps?: number;
}

const bundleDetails = (r: Results, fn: FunctionName): BundleDetails | undefined =>
  (r.bundle?.details as Record<string, BundleDetails> | undefined)?.[fn];

function sdkExternalNote(r: Results, fn: FunctionName): string {
  const d = bundleDetails(r, fn);
  return d?.bytes_with_aws_sdk_external !== undefined
    ? `${format(d.bytes_with_aws_sdk_external, 'bytes')} with @aws-sdk external`
    : '';
}

function importNote(r: Results, fn: FunctionName): string {
  const d = bundleDetails(r, fn);
  if (d?.import_ms_with_source_maps === undefined) return '';
  return `${format(d.import_ms_with_source_maps, 'ms')} with --enable-source-maps; ${format(d.import_ms_with_aws_sdk_external, 'ms')} with @aws-sdk external`;
}

function rampNote(r: Results): string {
  const steps = r.capacity?.ramp ?? [];
  const last = steps.at(-1);
  if (!last) return '';
  if (!last.noLoss) return `at ${last.targetPerSecond}/s: ${last.lost} lost, ${last.writeErrors} write errors`;
  if (last.saturated)
    return `no loss at any step; writes saturate at ${last.achievedPerSecond}/s (offered ${last.targetPerSecond}/s)`;
  return `no loss up to ${last.targetPerSecond}/s, the ramp's end`;
}

/** The human-readable table (also pasted into docs/performance.md). */
export function printTable(results: Results): string {
  const targets = new Map(TARGETS.map((t) => [t.key, t.evaluate(results)]));
  const width = { key: 44, value: 12, target: 14 };
  const lines: string[] = [];
  const m = results.meta;
  lines.push(
    `npm run bench — ${m.date}, commit ${m.commit}, node ${m.node}, ${m.cpus} cores, load average at start ${m.loadAverageAtStart.join(' ')}, ${m.totalSeconds} s total`,
  );
  lines.push('');
  lines.push(`${'figure'.padEnd(width.key)} ${'value'.padStart(width.value)}  ${'target'.padEnd(width.target)} ok  note`);
  lines.push('─'.repeat(110));
  for (const section of SECTIONS) {
    lines.push(`${section.title}`);
    lines.push(`  (${section.params(results)})`);
    for (const row of section.rows) {
      const value = get(results, row.key);
      const t = targets.get(row.key);
      const ok = t ? (t.ok === null ? '?' : t.ok ? '✓' : '✗') : ' ';
      lines.push(
        `  ${row.key.padEnd(width.key - 2)} ${format(value, row.unit).padStart(width.value)}  ${(t?.target ?? '').padEnd(width.target)} ${ok}   ${row.note?.(results) ?? ''}`.trimEnd(),
      );
    }
  }
  const missed = [...targets.values()].filter((t) => t.ok === false);
  const unknown = [...targets.values()].filter((t) => t.ok === null);
  lines.push('─'.repeat(110));
  lines.push(
    `targets: ${[...targets.values()].filter((t) => t.ok).length} met, ${missed.length} missed${missed.length ? ` (${missed.map((t) => t.key).join(', ')})` : ''}${unknown.length ? `, ${unknown.length} not measured` : ''}`,
  );
  lines.push(
    `load average (1 min) before → after each scenario: ${m.scenarioRuns
      .map((r) => `${r.name} ${r.loadAverage1mBefore} → ${r.loadAverage1mAfter}`)
      .join('; ')}`,
  );
  const errors = Object.entries(results.meta.errors);
  for (const [name, message] of errors) lines.push(`error in ${name}: ${message.split('\n')[0]}`);
  return lines.join('\n');
}
