import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseArgs, parseNumber, UsageError } from '../../capacity/args.js';
import { costPerUserSvg } from '../../capacity/chart.js';
import { main, type Io } from '../../capacity/cli.js';
import { approxUsers, formatPercent, formatUsd, formatUsers } from '../../capacity/format.js';
import type { Report } from '../../capacity/model.js';
import { DEFAULT_PROFILE, DEFAULT_SCALES } from '../../capacity/profile.js';

function fakeIo(files: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const written: Record<string, string> = {};
  const io: Io = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    readFile: (p) => {
      if (!(p in files)) throw new Error(`ENOENT: no such file, open '${p}'`);
      return files[p]!;
    },
    writeFile: (p, t) => {
      written[p] = t;
    },
  };
  return { io, out: () => out.join(''), err: () => err.join(''), written };
}

const run = (args: string[], files?: Record<string, string>) => {
  const f = fakeIo(files);
  return { code: main(args, f.io), ...f };
};

describe('capacity CLI arguments', () => {
  it('defaults to the documented profile at 10k, 100k, 1M and 10M users', () => {
    const o = parseArgs([]);
    expect(o.profile).toEqual(DEFAULT_PROFILE);
    expect(o.scales).toEqual([...DEFAULT_SCALES]);
    expect(o.resultsPath).toBe('bench/results/latest.json');
  });

  it('reads every option, in both --name value and --name=value forms', () => {
    const o = parseArgs([
      '--',
      '--users',
      '10k,2.5M',
      '--devices-per-user=3',
      '--changes-per-user-per-day',
      '50',
      '--reconnects-per-device-per-day',
      '4',
      '--heartbeat-seconds',
      '540',
      '--hours-connected-per-day',
      '12',
      '--peak-to-average',
      '2',
      '--parallelization-factor',
      '4',
      '--quota',
      'wsNewConnectionsPerSecond=2000',
      '--quota=apiGatewayAccountRps=20k',
      '--results',
      'none',
      '--json',
      '--svg',
      'out.svg',
    ]);
    expect(o.scales).toEqual([10_000, 2_500_000]);
    expect(o.profile).toMatchObject({
      devicesPerUser: 3,
      changesPerUserPerDay: 50,
      reconnectsPerDevicePerDay: 4,
      heartbeatSeconds: 540,
      hoursConnectedPerDay: 12,
      peakToAverage: 2,
      parallelizationFactor: 4,
    });
    expect(o.quotas.wsNewConnectionsPerSecond).toBe(2000);
    expect(o.quotas.apiGatewayAccountRps).toBe(20_000);
    expect(o.resultsPath).toBeNull();
    expect(o.json).toBe(true);
    expect(o.svgPath).toBe('out.svg');
  });

  it('parses plain, underscored, exponent and suffixed numbers only', () => {
    expect(parseNumber('10000')).toBe(10_000);
    expect(parseNumber('10_000')).toBe(10_000);
    expect(parseNumber('1e6')).toBe(1_000_000);
    expect(parseNumber('1.5M')).toBe(1_500_000);
    expect(parseNumber('2G')).toBe(2e9);
    for (const bad of ['', 'abc', '-5', '1,000', '0x10', '10 k', 'NaN', 'Infinity', '5m'])
      expect(parseNumber(bad), bad).toBeNaN();
  });

  it.each([
    [['--users', 'abc'], /--users must be a whole number/],
    [['--users', '0'], /--users must be a whole number/],
    [['--users', '1.5'], /--users must be a whole number/],
    [['--users', '10k,'], /--users must be a whole number/],
    [['--users', '2G'], /--users must be a whole number of users from 1 to 1,000,000,000/],
    [['--devices-per-user', '0'], /--devices-per-user must be a number at least 1/],
    [['--changes-per-user-per-day', '-1'], /--changes-per-user-per-day must be a number at least 0/],
    [['--heartbeat-seconds', '600'], /below 600 \(the WebSocket idle timeout is 600 s\), got "600"/],
    [['--heartbeat-seconds', '0'], /--heartbeat-seconds must be a number greater than 0/],
    [['--hours-connected-per-day', '25'], /at most 24/],
    [['--peak-to-average', '0.5'], /--peak-to-average must be a number at least 1/],
    [['--parallelization-factor', '11'], /an integer at least 1 and at most 10/],
    [['--parallelization-factor', '1.5'], /an integer/],
    [['--users'], /--users needs a value/],
    [['--users', '--json'], /--users needs a value/],
    [['--json=yes'], /--json takes no value/],
    [['--users', '10', '--users', '20'], /--users given twice/],
    [['--frobnicate', '1'], /Unknown option --frobnicate/],
    [['10000'], /Unexpected argument "10000"/],
    [['--quota', 'nope=1'], /unknown quota "nope"/],
    [['--quota', 'wsNewConnectionsPerSecond'], /--quota must be id=value/],
    [['--quota', 'wsNewConnectionsPerSecond=0'], /greater than 0/],
  ])('refuses %j', (args, message) => {
    expect(() => parseArgs(args)).toThrow(UsageError);
    expect(() => parseArgs(args)).toThrow(message);
  });
});

describe('capacity CLI', () => {
  it('prints the table: utilisation, first limit hit, cost by service, what to change', () => {
    const r = run(['--results', 'none']);
    expect(r.code).toBe(0);
    expect(r.err()).toBe('');
    const text = r.out();
    for (const heading of [
      'Utilisation at the peak hour',
      'First limit hit:',
      'Monthly cost (USD)',
      'Per user per month',
      'What to change',
    ]) {
      expect(text).toContain(heading);
    }
    expect(text).toMatch(/10k\s+100k\s+1M\s+10M/);
    expect(text).toContain('1M → Cognito UserAuthentication');
  });

  it('--json prints the whole report', () => {
    const r = run(['--results', 'none', '--json', '--users', '1M']);
    const report = JSON.parse(r.out()) as Report;
    expect(report.scales.map((s) => s.users)).toEqual([1_000_000]);
    expect(report.scales[0]!.firstLimitHit).toBe('cognitoAuth');
    expect(report.scales[0]!.cost.total).toBeGreaterThan(0);
    expect(Object.keys(report.scales[0]!.cost.byService)).toEqual([
      'lambda',
      'apiGatewayHttp',
      'apiGatewayWebSocket',
      'dynamodb',
      'cognito',
      'cloudwatchLogs',
      'cloudfrontS3',
    ]);
  });

  it('takes the units from the results file', () => {
    const json = JSON.stringify({ latency: { poll10: { write_round_trip: { p50_ms: 12.5 } } } });
    const r = run(['--json', '--results', 'r.json'], { 'r.json': json });
    expect((JSON.parse(r.out()) as Report).units.tasksApiMs).toEqual({
      value: 12.5,
      source: 'bench: latency.poll10.write_round_trip.p50_ms (an upper bound for the handler)',
    });
  });

  it('exits 2 with a clear message on bad arguments or an unreadable results file', () => {
    const bad = run(['--users', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.out()).toBe('');
    expect(bad.err()).toBe(
      'capacity: --users must be a whole number of users from 1 to 1,000,000,000 (or a comma-separated list), got "lots"\n',
    );

    const missing = run(['--results', 'nowhere.json']);
    expect(missing.code).toBe(2);
    expect(missing.err()).toMatch(/Cannot read nowhere\.json .*--results none/);

    const garbage = run(['--results', 'r.json'], { 'r.json': '{not json' });
    expect(garbage.code).toBe(2);
    expect(garbage.err()).toContain('r.json is not JSON');
  });

  it('--help prints the options and their defaults', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out()).toContain('--heartbeat-seconds');
    expect(r.out()).toContain('default 270');
  });

  it('--svg writes the chart', () => {
    const r = run(['--results', 'none', '--users', '10k,1M', '--svg', 'chart.svg']);
    expect(r.code).toBe(0);
    const svg = r.written['chart.svg']!;
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('10k: $');
    expect(svg).toContain('1M: $');
  });

  it('as a process: npm run capacity exits 2 on a bad number', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'capacity/cli.ts', '--devices-per-user', 'two'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.status).toBe(2);
    expect(child.stderr).toContain('--devices-per-user must be a number at least 1 and at most 1,000, got "two"');
  });
});

describe('capacity output helpers', () => {
  it('formats users, percentages and dollars', () => {
    expect(DEFAULT_SCALES.map(formatUsers)).toEqual(['10k', '100k', '1M', '10M']);
    expect(formatUsers(2_500_000)).toBe('2.5M');
    expect(formatUsers(1234)).toBe('1,234');
    expect(approxUsers(198_001)).toBe('~198k');
    expect(approxUsers(4_242_227)).toBe('~4.2M');
    expect(approxUsers(null)).toBe('not below 1G');
    expect(formatPercent(0.0512)).toBe('5.1 %');
    expect(formatPercent(12.34)).toBe('1,234 %');
    expect(formatUsd(0.04385)).toBe('$0.0439');
    expect(formatUsd(43.895)).toBe('$43.90');
    expect(formatUsd(43_895.2)).toBe('$43,895');
  });

  it('draws a log-x chart whose points go left to right', () => {
    const points = [1e3, 1e4, 1e5, 1e6].map((users, i) => ({ users, perUser: 0.03 + i * 0.005, perUserWithoutCognito: 0.03 }));
    const svg = costPerUserSvg(points, { title: 'a <title> & more', marks: [{ users: 1e4, perUser: 0.035, label: '10k' }] });
    expect(svg).toContain('a &lt;title&gt; &amp; more');
    const line = /<polyline fill="none" stroke="#2563eb"[^>]*points="([^"]+)"/.exec(svg)![1]!;
    const xs = line.split(' ').map((p) => Number(p.split(',')[0]));
    expect(xs).toHaveLength(4);
    // equal ratios of users are equal distances on a log axis
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[3]! - xs[2]!, 6);
    expect(() => costPerUserSvg(points.slice(0, 1), { title: '', marks: [] })).toThrow('at least two points');
  });
});
