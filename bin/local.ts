/**
 * `npm start`: the whole product offline on one machine. DynamoDB Local, the
 * API Gateway emulator (HTTP + WebSocket + @connections), the stream poller
 * invoking the broadcaster, the local token issuer and the dashboard, all on
 * loopback, all running the same handler bundles CDK deploys, each function
 * in its own worker processes with its own environment and IAM permissions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CHANGE_FEED } from '../lib/definitions.js';
import { checkPrerequisites } from '../local/prerequisites.js';

const HELP = `Usage: npm start -- [options]

  --in-memory               keep nothing: no data in .local/, a fresh database every start
  --data-dir <path>         keep data, keys and the on-failure file in <path> instead of .local/
  --port <n>                dashboard port (default: $PORT or 3000; API on n+1, WebSocket on n+2; 0 = free ports)
  --poll-interval-ms <n>    stream polling interval (default 250, AWS's rate)
  --ws-idle-timeout-ms <n>  WebSocket idle timeout (default 600000, as API Gateway)
  --ws-max-duration-ms <n>  WebSocket maximum connection duration (default 7200000, as API Gateway)
  --retry-attempts <n>      stream event source mapping retry attempts (default from lib/definitions.ts)
  --fault-post-error-rate <r>  fault tests only: fail this fraction (0–1) of @connections POSTs with 429/500
  --fault-post-drop-rate <r>   fault tests only: answer this fraction (0–1) of @connections POSTs 200 and never deliver them
  --heartbeat-ms <n>        dashboard heartbeat period, written into config.json (default: the dashboard's own)
  --tombstone-retention-seconds <n>  keep tombstones and change entries this long (default 30 days, as deployed)
  --no-watch                do not rebuild and reload functions when lambdas/ or lib/definitions.ts change
  --no-web-build            serve web/dist as it is (tests starting a second stack beside a running one)
  --max-workers <n>         most concurrent workers (execution environments) per function (default 4)
  --runtime inprocess       benchmarks only: the old in-process mode (shared environment, no IAM checks)
  --verbose                 handler logs at INFO instead of WARN
  --ready-json              print one machine-readable "READY {...}" line when ready (tests, benchmarks)
  -h, --help                this text
`;

const { values: args } = parseArgs({
  options: {
    'in-memory': { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    port: { type: 'string' },
    'poll-interval-ms': { type: 'string' },
    'ws-idle-timeout-ms': { type: 'string' },
    'ws-max-duration-ms': { type: 'string' },
    'retry-attempts': { type: 'string' },
    'fault-post-error-rate': { type: 'string' },
    'fault-post-drop-rate': { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    'tombstone-retention-seconds': { type: 'string' },
    'no-watch': { type: 'boolean', default: false },
    'no-web-build': { type: 'boolean', default: false },
    'max-workers': { type: 'string' },
    runtime: { type: 'string', default: 'isolated' },
    verbose: { type: 'boolean', default: false },
    'ready-json': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function intArg(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`✖ --${name} must be an integer ≥ ${min}, got "${value}"`);
    process.exit(2);
  }
  return n;
}

function rateArg(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    console.error(`✖ --${name} must be a number from 0 to 1, got "${value}"`);
    process.exit(2);
  }
  return n;
}

if (args.runtime !== 'isolated' && args.runtime !== 'inprocess') {
  console.error(`✖ --runtime must be isolated or inprocess, got "${args.runtime}"`);
  process.exit(2);
}

if (args['in-memory'] && args['data-dir'] !== undefined) {
  console.error('✖ --in-memory and --data-dir exclude each other');
  process.exit(2);
}

const problems = checkPrerequisites();
if (problems.length > 0) {
  for (const problem of problems) console.error(`✖ ${problem}`);
  process.exit(1);
}

// Handlers log through Powertools; keep the console readable unless asked.
process.env.POWERTOOLS_LOG_LEVEL ??= args.verbose ? 'INFO' : 'WARN';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const basePort = intArg('port', args.port ?? process.env.PORT, 0) ?? 3000;
const projectRoot = path.resolve(import.meta.dirname, '..');
const inMemory = args['in-memory'];
// --in-memory keeps nothing: its scratch folder (failure destination, keys) goes away at exit.
const stateDir = inMemory
  ? mkdtempSync(path.join(os.tmpdir(), 'task-sync-'))
  : path.resolve(args['data-dir'] ?? path.join(projectRoot, '.local'));

const { start } = await import('../local/runtime.js');

let stopping = false;
try {
  await mkdir(stateDir, { recursive: true });
  const runtime = await start({
    projectRoot,
    stateDir,
    inMemory,
    ports: basePort === 0 ? { web: 0, http: 0, ws: 0 } : { web: basePort, http: basePort + 1, ws: basePort + 2 },
    pollIntervalMs: intArg('poll-interval-ms', args['poll-interval-ms'], 1),
    wsIdleTimeoutMs: intArg('ws-idle-timeout-ms', args['ws-idle-timeout-ms'], 1),
    wsMaxDurationMs: intArg('ws-max-duration-ms', args['ws-max-duration-ms'], 1),
    retryAttempts: intArg('retry-attempts', args['retry-attempts'], 0),
    faultPostErrorRate: rateArg('fault-post-error-rate', args['fault-post-error-rate']),
    faultPostDropRate: rateArg('fault-post-drop-rate', args['fault-post-drop-rate']),
    heartbeatMs: intArg('heartbeat-ms', args['heartbeat-ms'], 100),
    changeRetentionSeconds: intArg(
      'tombstone-retention-seconds',
      args['tombstone-retention-seconds'],
      CHANGE_FEED.minRetentionSeconds,
    ),
    runtime: args.runtime,
    watch: !args['no-watch'],
    buildWeb: !args['no-web-build'],
    maxWorkersPerFunction: intArg('max-workers', args['max-workers'], 1),
    log: (line) => process.stdout.write(`${line}\n`),
  });

  if (args['ready-json']) process.stdout.write(`READY ${JSON.stringify({ ...runtime.info, pid: process.pid })}\n`);

  const shutdown = async (signal: string) => {
    if (stopping) {
      console.error('Forced exit.');
      process.exit(130);
    }
    stopping = true;
    process.stdout.write(`\n${signal}: stopping (Ctrl-C again to force)…\n`);
    await runtime.stop();
    if (inMemory) rmSync(stateDir, { recursive: true, force: true });
    process.stdout.write('Stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
} catch (err) {
  console.error(`✖ ${err instanceof Error ? err.message : String(err)}`);
  if (inMemory) rmSync(stateDir, { recursive: true, force: true });
  process.exit(1);
}
