import { DEFAULT_PROFILE, DEFAULT_SCALES, PROFILE_NOTES, type Profile } from './profile.js';
import { DEFAULT_QUOTA_VALUES, isQuotaId, QUOTAS, type QuotaValues } from './quotas.js';
import { MAX_USERS } from './model.js';

/** Command-line options of `npm run capacity`; bad input is a UsageError (exit code 2). */

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Options {
  profile: Profile;
  scales: number[];
  quotas: QuotaValues;
  /** bench results to read units from; null: use the fallbacks only. */
  resultsPath: string | null;
  json: boolean;
  svgPath: string | null;
  help: boolean;
}

export const DEFAULT_RESULTS_PATH = 'bench/results/latest.json';

interface NumberSpec {
  key: keyof Profile;
  /** Lowest accepted value, and whether it is excluded. */
  min: number;
  minExclusive?: boolean;
  max: number;
  maxExclusive?: boolean;
  integer?: boolean;
  why?: string;
}

const IDLE = QUOTAS.wsIdleTimeoutSeconds.value;

const PROFILE_OPTIONS: Record<string, NumberSpec> = {
  'devices-per-user': { key: 'devicesPerUser', min: 1, max: 1000 },
  'changes-per-user-per-day': { key: 'changesPerUserPerDay', min: 0, max: 1e6 },
  'reconnects-per-device-per-day': { key: 'reconnectsPerDevicePerDay', min: 0, max: 1e5 },
  'heartbeat-seconds': {
    key: 'heartbeatSeconds',
    min: 0,
    minExclusive: true,
    max: IDLE,
    maxExclusive: true,
    why: ` (the WebSocket idle timeout is ${IDLE} s)`,
  },
  'hours-connected-per-day': { key: 'hoursConnectedPerDay', min: 0, minExclusive: true, max: 24 },
  'peak-to-average': { key: 'peakToAverage', min: 1, max: 24 },
  'tasks-per-user': { key: 'tasksPerUser', min: 0, max: 1e7 },
  'token-refresh-minutes': { key: 'tokenRefreshMinutes', min: 0, minExclusive: true, max: 1440 },
  'user-burst-writes-per-second': { key: 'userBurstWritesPerSecond', min: 0, max: 1e6 },
  'parallelization-factor': {
    key: 'parallelizationFactor',
    min: 1,
    max: QUOTAS.esmParallelizationFactorMax.value,
    integer: true,
  },
  'presence-parallelization-factor': {
    key: 'presenceParallelizationFactor',
    min: 1,
    max: QUOTAS.esmParallelizationFactorMax.value,
    integer: true,
  },
  'log-bytes-per-invocation': { key: 'logBytesPerInvocation', min: 0, max: 1e6 },
};

const SUFFIX: Record<string, number> = { k: 1e3, K: 1e3, M: 1e6, G: 1e9 };

/** "10000", "10_000", "1e4", "10k", "1.5M" → a number; anything else → NaN. */
export function parseNumber(text: string): number {
  const m = /^([0-9][0-9_]*(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)([kKMG]?)$/.exec(text.trim());
  if (!m) return NaN;
  return Number(m[1]!.replace(/_/g, '')) * (m[2] ? SUFFIX[m[2]]! : 1);
}

function range(spec: Pick<NumberSpec, 'min' | 'minExclusive' | 'max' | 'maxExclusive' | 'integer'>): string {
  const lo = `${spec.minExclusive ? 'greater than' : 'at least'} ${spec.min}`;
  const hi = `${spec.maxExclusive ? 'below' : 'at most'} ${spec.max.toLocaleString('en-US')}`;
  return `${spec.integer ? 'an integer' : 'a number'} ${lo} and ${hi}`;
}

function checkNumber(option: string, text: string, spec: NumberSpec): number {
  const value = parseNumber(text);
  const ok =
    Number.isFinite(value) &&
    (spec.minExclusive ? value > spec.min : value >= spec.min) &&
    (spec.maxExclusive ? value < spec.max : value <= spec.max) &&
    (!spec.integer || Number.isInteger(value));
  if (!ok) throw new UsageError(`--${option} must be ${range(spec)}${spec.why ?? ''}, got "${text}"`);
  return value;
}

function parseUsers(text: string): number[] {
  const parts = text.split(',');
  return parts.map((part) => {
    const n = parseNumber(part);
    if (!Number.isInteger(n) || n < 1 || n > MAX_USERS) {
      throw new UsageError(
        `--users must be a whole number of users from 1 to ${MAX_USERS.toLocaleString('en-US')} (or a comma-separated list), got "${part}"`,
      );
    }
    return n;
  });
}

function parseQuota(text: string, quotas: QuotaValues): void {
  const m = /^([A-Za-z0-9]+)=(.+)$/.exec(text);
  if (!m) throw new UsageError(`--quota must be id=value (for example wsNewConnectionsPerSecond=2000), got "${text}"`);
  const [, id, raw] = m;
  if (!isQuotaId(id!)) throw new UsageError(`--quota: unknown quota "${id}"; known: ${Object.keys(QUOTAS).join(', ')}`);
  const value = parseNumber(raw!);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--quota ${id} must be a number greater than 0, got "${raw}"`);
  quotas[id] = value;
}

export function parseArgs(argv: readonly string[]): Options {
  const options: Options = {
    profile: { ...DEFAULT_PROFILE },
    scales: [...DEFAULT_SCALES],
    quotas: { ...DEFAULT_QUOTA_VALUES },
    resultsPath: DEFAULT_RESULTS_PATH,
    json: false,
    svgPath: null,
    help: false,
  };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    if (!arg.startsWith('--')) throw new UsageError(`Unexpected argument "${arg}"; options start with --`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      i++;
      return next;
    };
    if (name !== 'quota') {
      if (seen.has(name)) throw new UsageError(`--${name} given twice`);
      seen.add(name);
    }
    if (name === 'help' || name === 'json') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
    } else if (name === 'users') {
      options.scales = parseUsers(value());
    } else if (name === 'quota') {
      parseQuota(value(), options.quotas);
    } else if (name === 'results') {
      const path = value();
      options.resultsPath = path === 'none' ? null : path;
    } else if (name === 'svg') {
      options.svgPath = value();
    } else if (name in PROFILE_OPTIONS) {
      const spec = PROFILE_OPTIONS[name]!;
      options.profile[spec.key] = checkNumber(name, value(), spec);
    } else {
      throw new UsageError(`Unknown option --${name}; see --help`);
    }
  }
  return options;
}

export function helpText(): string {
  const profileLines = Object.entries(PROFILE_OPTIONS).map(([option, spec]) => {
    const key = spec.key;
    return `  --${option.padEnd(31)} default ${String(DEFAULT_PROFILE[key]).padEnd(6)} ${PROFILE_NOTES[key]}`;
  });
  return [
    'Usage: npm run capacity -- [options]',
    '',
    'Which AWS limit is reached first, the monthly cost by service and what to change, at each number of users.',
    '',
    `  --users N[,N...]                  default ${DEFAULT_SCALES.join(',')} (10k, 1.5M, 1e6 and 10_000 are accepted)`,
    ...profileLines,
    '  --quota id=value                  an account\u2019s own quota (repeatable), e.g. wsNewConnectionsPerSecond=2000',
    `  --results PATH|none               benchmark results to take the per-operation units from (default ${DEFAULT_RESULTS_PATH})`,
    '  --json                            print the whole report as JSON',
    '  --svg PATH                        also write the cost-per-user chart (SVG) to PATH',
    '  --help',
    '',
    'Exit codes: 0 done, 2 bad arguments or unreadable results file.',
    `Quota ids: ${Object.keys(QUOTAS).join(', ')}`,
  ].join('\n');
}
