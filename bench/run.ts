/**
 * `npm run bench`: measures the product on the real local stack and writes
 * bench/results/latest.json. Never part of `npm test`.
 *
 * Three stacks are started in turn (bin/local.ts --in-memory --no-watch, as
 * tests start it): polling every 250 ms (AWS's rate), every 10 ms (processing
 * overhead only; also used for fan-out and the call counts) and a fresh
 * default one for capacity, so its memory figure is not inflated by earlier
 * scenarios. Latency at 250 ms and fan-out are measured once more on a stack
 * with `--runtime inprocess` (the handlers in the emulator's process), the
 * baseline the isolated runtime is compared with; `reload` runs a watching
 * stack from a scratch copy of the project and edits a handler there. The
 * load generator (HTTP writers + WebSocket receivers) is a separate child
 * process; the broadcaster call counts run the real broadcaster code in this
 * process.
 *
 *   npm run bench                      every scenario, writes bench/results/latest.json
 *   npm run bench -- --only calls,web  some scenarios, writes bench/results/partial.tmp
 */
import { execFileSync } from 'node:child_process';
import { appendFile, cp, mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { FUNCTIONS, LIMITS, type FunctionName } from '../lib/definitions.js';
import { startLocalStack, type RunningStack } from '../test/support/local-stack.js';
import { buildWeb } from '../web/build.js';
import { broadcastOnce, type BroadcastRun } from './broadcaster-calls.js';
import { measureBundles } from './bundles.js';
import { LoadGenerator } from './load-generator-client.js';
import { cpuMs, rssMb, stackMemory, waitForQuiet } from './process-memory.js';
import { PRICE_SOURCES, usdPerMillionUpdates, type CostLines } from './pricing.js';
import type { Endpoints, FanoutResult, LatencyResult, OpenResult, RampResult, ReceivedResult } from './protocol.js';
import { printTable, TARGETS, type CostByConnections, type Results } from './report.js';
import { round } from './stats.js';
import { measureSync, SYNC_PARAMS } from './sync.js';
import { measureWebReload } from './web-reload.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SCENARIOS = ['bundle', 'web', 'latency', 'fanout', 'calls', 'cost', 'sync', 'capacity', 'reload'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({ options: { only: { type: 'string' } }, strict: true });
const only = new Set((args.only?.split(',') ?? SCENARIOS) as Scenario[]);
for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; known: ${SCENARIOS.join(', ')}`);
const full = only.size === SCENARIOS.length;

const projectRoot = path.resolve(import.meta.dirname, '..');
const runId = Date.now().toString(36);
const startedAt = performance.now();
const elapsed = () => `${((performance.now() - startedAt) / 1000).toFixed(0)} s`;
const log = (line: string) => process.stdout.write(`[bench ${elapsed().padStart(5)}] ${line}\n`);

/** Parameters of every scenario, written next to its figures. */
const PARAMS = {
  latency: {
    users: 20,
    connectionsPerUser: 5,
    writesPerSecond: 20,
    writes: 420,
    /** Written first at the same rate and not measured (workers warm). */
    warmupWrites: 80,
    drainMs: 5_000,
    write: 'POST /tasks (create), users round-robin, open loop',
    measured: "event arrival at each of the user's 5 sockets minus the write's HTTP response, one process, performance.now()",
  },
  fanout: {
    connections: [100, 1000],
    trials: 5,
    openConcurrency: 50,
    pollIntervalMs: 10,
    measured: 'write response → first / last of the sockets to receive the event; median of the trials',
  },
  calls: { users: 5, connectionsPerUser: 3, recordsPerUser: 20, recordsPerBatch: 100 },
  cost: {
    connectionsPerUser: [1, 10, 100],
    users: 5,
    recordsPerUser: 20,
    coalescingOff: 'the same broadcaster with frameMaxBytes 1: every event its own frame (one post per event per connection)',
  },
  reload: {
    trials: 5,
    edit: 'append an `export const benchReload<n> = <n>;` line to lambdas/tasks-api.ts of a scratch copy of the project (the entry keeps its exports, so the bundle changes)',
    measured:
      'file written → the first GET /tasks answered after the stack reports the reload done (stats polled every 5 ms), i.e. save → serving new code; median of the trials',
  },
  capacity: {
    idleConnections: 5_000,
    idleUsers: 50,
    openConcurrency: 100,
    rampRates: [50, 100, 200, 300, 400, 600],
    rampStepSeconds: 3,
    receivers: 2,
    drainMs: 3_000,
    maxInFlight: 256,
  },
} as const;

function ulimitNoFile(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return Number.NaN;
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const endpointsOf = (stack: RunningStack): Endpoints => ({
  apiUrl: stack.info.apiUrl,
  wsUrl: stack.info.wsUrl,
  tokenUrl: stack.info.tokenUrl,
});

async function withStack<T>(label: string, extraArgs: string[], body: (stack: RunningStack) => Promise<T>): Promise<T> {
  const started = performance.now();
  const stack = await startLocalStack(extraArgs, 120_000);
  log(`stack ${label} ready in ${((performance.now() - started) / 1000).toFixed(1)} s (pid ${stack.info.pid})`);
  try {
    return await body(stack);
  } catch (err) {
    process.stderr.write(`--- stack ${label} output ---\n${stack.output().slice(-4000)}\n`);
    throw err;
  } finally {
    const stopping = performance.now();
    await stack.stop();
    log(`stack ${label} stopped in ${((performance.now() - stopping) / 1000).toFixed(1)} s`);
  }
}

const results: Results = {
  meta: {
    date: new Date().toISOString(),
    commit: gitCommit(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverageAtStart: os.loadavg().map((n) => round(n, 2)),
    ulimitNoFile: ulimitNoFile(),
    scenarios: [...only],
    totalSeconds: 0,
    scenarioRuns: [],
    errors: {},
  },
};

/** Runs one scenario, recording its duration and the machine's load around it (other work on it inflates every figure). */
async function scenario(name: string, body: () => Promise<void>): Promise<void> {
  const started = performance.now();
  const loadBefore = round(os.loadavg()[0]!, 2);
  log(`${name}…`);
  try {
    await body();
    log(`${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    results.meta.errors[name] = err instanceof Error ? err.message : String(err);
    log(`${name} FAILED: ${results.meta.errors[name]}`);
  } finally {
    results.meta.scenarioRuns.push({
      name,
      seconds: round((performance.now() - started) / 1000, 1),
      loadAverage1mBefore: loadBefore,
      loadAverage1mAfter: round(os.loadavg()[0]!, 2),
    });
  }
}

// --- scenarios -------------------------------------------------------------

async function bundleScenario(): Promise<void> {
  const runs = 10;
  const measured = await measureBundles(projectRoot, runs);
  const bundle: Record<string, unknown> = {};
  for (const b of measured) {
    bundle[`${b.fn}_bytes`] = b.bytes;
    bundle[`${b.fn}_import_ms`] = b.importMs;
  }
  bundle.details = Object.fromEntries(
    measured.map((b) => [
      b.fn,
      {
        import_ms_with_source_maps: b.importMsWithSourceMaps,
        bytes_with_aws_sdk_external: b.bytesSdkExternal,
        import_ms_with_aws_sdk_external: b.importMsSdkExternal,
        largest_inputs: b.largest,
      },
    ]),
  );
  bundle.parameters = {
    esbuild:
      'the options of lib/constructs/task-function.ts: bundle, minify, format esm, target node22, platform node, mainFields module/main, createRequire banner, linked source map, AWS SDK bundled (bundleAwsSDK: true, nothing external)',
    bytes: 'size of index.mjs (the .map file is not counted)',
    import_ms: `median of ${runs} fresh \`node\` processes: time of \`await import(bundle)\` after an empty module warmed the ESM loader; dummy env, no network at import`,
    import_ms_with_source_maps: 'the same with NODE_OPTIONS=--enable-source-maps (as deployed), median of 3',
    with_aws_sdk_external:
      "for comparison, the same entry with external: ['@aws-sdk/*'] (CDK's default, the runtime's SDK); its import resolves the SDK from node_modules here, median of 3",
  };
  results.bundle = bundle as Results['bundle'];
}

async function webScenario(): Promise<void> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'bench-web-'));
  try {
    const built = await buildWeb({ outDir });
    results.web = {
      initial_js_gzip_bytes: built.initialJs.gzipBytes,
      initial_js_bytes: built.initialJs.bytes,
      budget_gzip_bytes: built.budgetGzipBytes,
      parameters: { build: 'buildWeb() from web/build.ts into a scratch folder; entry chunk + static imports, gzip level 9' },
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

async function latencyScenario(
  gen: LoadGenerator,
  stack: RunningStack,
  pollIntervalMs: number,
  runtime: 'isolated' | 'inprocess' = 'isolated',
): Promise<LatencyResult> {
  const p = PARAMS.latency;
  // Warm-up, not measured: the same open-loop load for a few seconds, so the isolated runtime has
  // started the workers this rate needs (as steady traffic keeps Lambda containers warm); the p99
  // then measures delivery, not a cold start in the middle of the run.
  await gen.run<LatencyResult>({
    cmd: 'latency',
    params: {
      endpoints: endpointsOf(stack),
      label: `bench-${runId}-lat${pollIntervalMs}${runtime === 'inprocess' ? '-inprocess' : ''}-warmup`,
      users: p.users,
      connectionsPerUser: p.connectionsPerUser,
      writesPerSecond: p.writesPerSecond,
      writes: p.warmupWrites,
      drainMs: 1_000,
    },
  });
  const result = await gen.run<LatencyResult>({
    cmd: 'latency',
    params: {
      endpoints: endpointsOf(stack),
      label: `bench-${runId}-lat${pollIntervalMs}${runtime === 'inprocess' ? '-inprocess' : ''}`,
      users: p.users,
      connectionsPerUser: p.connectionsPerUser,
      writesPerSecond: p.writesPerSecond,
      writes: p.writes,
      drainMs: p.drainMs,
    },
  });
  results.latency ??= {} as NonNullable<Results['latency']>;
  results.latency[`poll${pollIntervalMs}` as 'poll10' | 'poll250'] = {
    ...result.delivery,
    deliveries: result.deliveries,
    expected_deliveries: result.expectedDeliveries,
    lost: result.lost,
    duplicates: result.duplicates,
    arrived_before_response: result.arrivedBeforeResponse,
    writes: result.writes,
    write_errors: result.writeErrors,
    achieved_writes_per_s: result.achievedWritesPerSecond,
    write_round_trip: result.writeRoundTrip,
    parameters: { ...p, pollIntervalMs, connections: p.users * p.connectionsPerUser, runtime },
  };
  return result;
}

/** Process ids of one function's workers in an isolated stack (none in-process). */
async function workerPids(stack: RunningStack, fn?: FunctionName): Promise<number[]> {
  const stats = (await (await fetch(stack.info.statsUrl)).json()) as {
    lambda: { workerPids?: number[]; functions?: Record<string, { pids: number[] }> };
  };
  return fn ? (stats.lambda.functions?.[fn]?.pids ?? []) : (stats.lambda.workerPids ?? []);
}

const totalCpuMs = (pids: number[]) =>
  pids.reduce((sum, pid) => {
    try {
      return sum + cpuMs(pid);
    } catch {
      return sum; // the worker ended meanwhile
    }
  }, 0);

async function fanoutScenario(gen: LoadGenerator, stack: RunningStack): Promise<void> {
  const p = PARAMS.fanout;
  results.fanout ??= {} as NonNullable<Results['fanout']>;
  for (const connections of p.connections) {
    await waitForQuiet(stack.info.pid);
    const broadcasterPids = await workerPids(stack, 'broadcaster');
    const broadcasterCpuBefore = totalCpuMs(broadcasterPids);
    const r = await gen.run<FanoutResult>({
      cmd: 'fanout',
      params: {
        endpoints: endpointsOf(stack),
        label: `bench-${runId}-fan`,
        stackPid: stack.info.pid,
        connections,
        trials: p.trials,
        openConcurrency: p.openConcurrency,
      },
    });
    if (r.openFailures > 0) throw new Error(`${r.openFailures} of ${connections} sockets failed to open`);
    const incomplete = r.trials.filter((t) => t.delivered !== connections);
    if (incomplete.length > 0) throw new Error(`fan-out to ${connections}: a trial reached only ${incomplete[0]!.delivered}`);
    // One warm-up write and the trials, each one broadcaster invocation.
    const broadcasterCpuMs = round((totalCpuMs(broadcasterPids) - broadcasterCpuBefore) / (p.trials + 1));
    results.fanout[`c${connections}` as 'c100' | 'c1000'] = {
      last_ms: r.lastMs,
      first_ms: r.firstMs,
      trials: r.trials,
      open_ms: r.openMs,
      stack_cpu_ms: r.stackCpuMs,
      ...(broadcasterPids.length > 0 ? { broadcaster_cpu_ms: broadcasterCpuMs } : {}),
      parameters: {
        connections,
        users: 1,
        trials: p.trials,
        openConcurrency: p.openConcurrency,
        pollIntervalMs: p.pollIntervalMs,
        measured: p.measured,
      },
    };
  }
}

/** The same fan-out to 1,000 sockets on an in-process stack: the baseline of the isolated runtime. */
async function fanoutInProcessScenario(gen: LoadGenerator, stack: RunningStack): Promise<void> {
  const p = PARAMS.fanout;
  await waitForQuiet(stack.info.pid);
  const r = await gen.run<FanoutResult>({
    cmd: 'fanout',
    params: {
      endpoints: endpointsOf(stack),
      label: `bench-${runId}-fan-inprocess`,
      stackPid: stack.info.pid,
      connections: 1000,
      trials: p.trials,
      openConcurrency: p.openConcurrency,
    },
  });
  if (r.openFailures > 0) throw new Error(`${r.openFailures} of 1000 sockets failed to open`);
  const c1000 = results.fanout?.c1000;
  if (!c1000) throw new Error('the isolated fan-out did not run');
  Object.assign(c1000, {
    inprocess_last_ms: r.lastMs,
    inprocess_first_ms: r.firstMs,
    inprocess_stack_cpu_ms: r.stackCpuMs,
    inprocess_trials: r.trials,
  });
}

/**
 * Save → serving of one handler under npm start's watch, on a scratch copy of
 * the project (so no file of the working tree is touched): append a line to
 * lambdas/tasks-api.ts, then wait until the stack reports the reload and
 * time the first request after it.
 */
async function reloadScenario(): Promise<void> {
  const p = PARAMS.reload;
  const copy = await mkdtemp(path.join(os.tmpdir(), 'bench-reload-'));
  try {
    for (const entry of ['bin', 'lib', 'local', 'lambdas', 'web', 'package.json', 'tsconfig.json']) {
      await cp(path.join(projectRoot, entry), path.join(copy, entry), {
        recursive: true,
        filter: (source) => !/[/\\](?:dist|node_modules)$/.test(source),
      });
    }
    await symlink(path.join(projectRoot, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    const stack = await startLocalStack([], 120_000, { watch: true, root: copy });
    try {
      const token = (await (
        await fetch(stack.info.tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: `bench-${runId}-reload` }),
        })
      ).json()) as { token: string };
      const list = async () => {
        const res = await fetch(`${stack.info.apiUrl}/tasks`, { headers: { authorization: `Bearer ${token.token}` } });
        if (res.status !== 200) throw new Error(`GET /tasks answered ${res.status}`);
        await res.arrayBuffer();
      };
      type Reload = { changedAt: number; servingAt: number; ms: number; builtAt: number; functions: string[]; failed: string[] };
      const lastReload = async () =>
        ((await (await fetch(stack.info.statsUrl)).json()) as { lambda: { lastReload: Reload | null } }).lambda.lastReload;
      await list();
      const trials: Array<{ save_to_serving_ms: number; runtime_ms: number; build_ms: number; functions: string[] }> = [];
      for (let i = 1; i <= p.trials; i++) {
        await waitForQuiet(stack.info.pid);
        const savedAt = Date.now();
        await appendFile(path.join(copy, 'lambdas/tasks-api.ts'), `\nexport const benchReload${i} = ${i};\n`);
        const deadline = savedAt + 30_000;
        let record = await lastReload();
        while (!record || record.changedAt < savedAt) {
          if (Date.now() > deadline) throw new Error('no reload reported within 30 s');
          await sleep(5);
          record = await lastReload();
        }
        if (!record.functions.includes('tasksApi'))
          throw new Error(`trial ${i}: tasksApi was not reloaded (${JSON.stringify(record)})`);
        await list();
        trials.push({
          save_to_serving_ms: Date.now() - savedAt,
          runtime_ms: record.ms,
          build_ms: record.builtAt - record.changedAt,
          functions: record.functions,
        });
      }
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      results.reload = {
        handler_ms: median(trials.map((t) => t.save_to_serving_ms)),
        runtime_ms: median(trials.map((t) => t.runtime_ms)),
        build_ms: median(trials.map((t) => t.build_ms)),
        trials,
        parameters: { ...p, function: 'tasksApi' },
      };
      log(
        `reload: save → serving ${results.reload.handler_ms} ms (rebuild ${results.reload.build_ms} ms), median of ${p.trials}`,
      );
    } finally {
      await stack.stop();
    }
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

/** Waits until the load generator's sockets have received what the broadcasts posted. */
async function receivedWhen(
  gen: LoadGenerator,
  done: (r: ReceivedResult) => boolean,
  timeoutMs = 10_000,
): Promise<ReceivedResult> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const received = await gen.run<ReceivedResult>({ cmd: 'received' });
    if (done(received) || performance.now() > deadline) return received;
    await sleep(100);
  }
}

async function callsAndCostScenario(gen: LoadGenerator, stack: RunningStack, tasksApiMs: number | undefined): Promise<void> {
  const target = { dynamodbEndpoint: stack.info.dynamodbEndpoint, managementEndpoint: stack.info.managementEndpoint };
  const callUsers = Array.from({ length: PARAMS.calls.users }, (_, i) => `bench-${runId}-calls-${i}`);
  const costUsers = Object.fromEntries(
    PARAMS.cost.connectionsPerUser.map((c) => [
      c,
      Array.from({ length: PARAMS.cost.users }, (_, i) => `bench-${runId}-cost${c}-${i}`),
    ]),
  ) as Record<number, string[]>;
  const wanted = [
    ...(only.has('calls') ? callUsers.map((username) => ({ username, connections: PARAMS.calls.connectionsPerUser })) : []),
    ...(only.has('cost')
      ? PARAMS.cost.connectionsPerUser.flatMap((c) => costUsers[c]!.map((username) => ({ username, connections: c })))
      : []),
  ];
  const opened = await gen.run<OpenResult>({
    cmd: 'open',
    params: { endpoints: endpointsOf(stack), users: wanted, openConcurrency: 50 },
  });
  if (opened.failures > 0) throw new Error(`${opened.failures} sockets failed to open: ${opened.firstFailure}`);
  const ids = (usernames: string[]) => usernames.map((u) => opened.userIds[u]!);
  const expectEvents = new Map<string, number>();

  if (only.has('calls')) {
    const p = PARAMS.calls;
    const run = await broadcastOnce(target, ids(callUsers), p.recordsPerUser);
    const connections = p.users * p.connectionsPerUser;
    for (const u of callUsers) expectEvents.set(u, p.recordsPerUser);
    const checks = {
      queries_equal_distinct_users: run.queries === p.users,
      posts_equal_connections: run.posts === connections,
    };
    results.calls = {
      queries_per_batch: run.queries,
      posts_per_batch: run.posts,
      records_per_batch: run.records,
      distinct_users: p.users,
      connections,
      batch_item_failures: run.batchItemFailures,
      broadcaster_ms: run.durationMs,
      ...checks,
      parameters: {
        ...p,
        code: "createBroadcaster + createConnectionStore + createNotifier/createManagementClient from lambdas/, in the bench process, against the stack's DynamoDB Local and @connections",
        counting: 'SDK initialize-step middleware on the DynamoDB and ApiGatewayManagementApi clients (calls, not HTTP attempts)',
        connectionsAreReal: 'sockets opened with ws by the load generator; every post reached one',
      },
    };
  }

  if (only.has('cost')) {
    const p = PARAMS.cost;
    const on: Record<string, number> = {};
    const off: Record<string, number> = {};
    const lines: Record<string, { coalescing_on: CostLines; coalescing_off: CostLines }> = {};
    const batches: Record<string, { coalescing_on: BroadcastRun; coalescing_off: BroadcastRun }> = {};
    const withoutFeed: Record<string, number> = {};
    const apiMs = tasksApiMs ?? 25;
    for (const c of p.connectionsPerUser) {
      const users = ids(costUsers[c]!);
      const runOn = await broadcastOnce(target, users, p.recordsPerUser);
      const runOff = await broadcastOnce(target, users, p.recordsPerUser, { frameMaxBytes: 1 });
      for (const u of costUsers[c]!) expectEvents.set(u, 2 * p.recordsPerUser);
      const cost = (run: BroadcastRun) =>
        usdPerMillionUpdates(
          {
            records: run.records,
            readRequestUnits: run.readRequestUnits,
            messageUnits: run.messageUnits,
            broadcasterMs: run.durationMs,
          },
          { tasksApiMs: apiMs, writeRequestUnits: WRITE_REQUEST_UNITS_PER_UPDATE },
        );
      const costOn = cost(runOn);
      const costOff = cost(runOff);
      withoutFeed[`c${c}`] = round(
        usdPerMillionUpdates(
          {
            records: runOn.records,
            readRequestUnits: runOn.readRequestUnits,
            messageUnits: runOn.messageUnits,
            broadcasterMs: runOn.durationMs,
          },
          { tasksApiMs: apiMs, writeRequestUnits: 1 },
        ).total,
        2,
      );
      on[`c${c}`] = round(costOn.total, 2);
      off[`c${c}`] = round(costOff.total, 2);
      lines[`c${c}`] = { coalescing_on: roundLines(costOn), coalescing_off: roundLines(costOff) };
      batches[`c${c}`] = { coalescing_on: runOn, coalescing_off: runOff };
    }
    results.cost = {
      usd_per_million_updates: on as unknown as CostByConnections,
      usd_per_million_updates_coalescing_off: off as unknown as CostByConnections,
      usd_per_million_updates_without_feed: withoutFeed as unknown as CostByConnections,
      lines_usd_per_million: lines,
      batches,
      parameters: {
        ...p,
        batch: `${p.users * p.recordsPerUser} records per stream batch (${p.users} users × ${p.recordsPerUser} updates), each user with c connections; the real broadcaster's calls counted as in "calls"`,
        region: 'us-east-1, list prices (bench/pricing.ts)',
        priceSources: PRICE_SOURCES,
        tasksApiMs: `${apiMs} ms billed per write: the median write round trip through the local HTTP API emulator (poll10 run), an upper bound for the handler alone`,
        tasksApiMemoryMb: FUNCTIONS.tasksApi.memoryMb,
        broadcasterMs:
          'broadcaster duration of each batch measured here against the local stack (AWS @connections round trips are slower; duration is under 1 % of the total)',
        broadcasterMemoryMb: FUNCTIONS.broadcaster.memoryMb,
        writeRequestUnits: `${WRITE_REQUEST_UNITS_PER_UPDATE} per update: the change entry (a Put of ~100 bytes) and the task write (a conditional write of an item under 1 KB); without_feed counts 1`,
        readRequestUnits:
          'as DynamoDB Local reports them for each connections Query (ReturnConsumedCapacity TOTAL, eventually consistent)',
        messages: `each post in ${LIMITS.batchFrameMaxBytes / 1024} KB units; pings and connection minutes are not per update and are left out`,
        coalescingNote:
          'coalescing only saves posts when one user has several updates in the same stream batch (bursts); at one update per batch on and off cost the same',
      },
    };
  }

  const received = await receivedWhen(gen, (r) =>
    [...expectEvents].every(([u, n]) => (r[u] ?? []).length > 0 && r[u]!.every((s) => s.events >= n)),
  );
  const short = [...expectEvents].filter(([u, n]) => !(received[u] ?? []).every((s) => s.events === n));
  if (results.calls) results.calls.every_socket_got_its_events = short.every(([u]) => !callUsers.includes(u));
  if (short.length > 0) {
    log(`warning: sockets of ${short.length} users did not receive exactly the events broadcast (${short[0]![0]})`);
  }
  await gen.run({ cmd: 'closeAll' });
}

/** The change feed's entry and the task write, each under 1 KB (docs/design.md, "Change feed"). */
const WRITE_REQUEST_UNITS_PER_UPDATE = 2;

async function syncScenario(stack: RunningStack): Promise<void> {
  const username = `bench-${runId}-sync`;
  results.sync = await measureSync(
    { apiUrl: stack.info.apiUrl, tokenUrl: stack.info.tokenUrl, dynamodbEndpoint: stack.info.dynamodbEndpoint },
    username,
  );
  log(
    `sync: full list ${results.sync.full_10k.requests} requests, ${results.sync.full_10k.bytes} bytes, ${results.sync.full_10k.ms} ms; catch-up ${results.sync.catchup_10k.requests} request, ${results.sync.catchup_10k.bytes} bytes, ${results.sync.catchup_10k.ms} ms, ${results.sync.catchup_10k.read_units} RU`,
  );
  await scenario('web reload 10k', async () => {
    const reload = await measureWebReload(stack.info.webUrl, username, SYNC_PARAMS.tasks);
    results.web = { ...(results.web ?? ({} as NonNullable<Results['web']>)), ...reload.web };
    results.sync!.web_reload = {
      ...reload,
      parameters: { browser: 'Debian Chromium, headless, playwright-core', measured: 'median of 3 reloads' },
    };
    log(
      `web reload with ${reload.rows_rendered} rows: first row ${reload.reload_10k_ms} ms, all rows ${reload.reload_all_rows_ms} ms`,
    );
  });
}

/**
 * After `delayMs`, saves a screenshot of the stack's /_local/ops page to
 * test/artifacts/screenshots/ops-during-bench.png. Never fails the bench: a
 * missing Chromium is only logged.
 */
async function captureOpsPage(stack: RunningStack, delayMs: number): Promise<void> {
  await sleep(delayMs);
  try {
    const { hasChromium, launchBrowser, screenshotsDir } = await import('../test/support/browser.js');
    if (!hasChromium) {
      log('ops page screenshot skipped: no Chromium');
      return;
    }
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      await page.goto(new URL('/_local/ops', stack.info.webUrl).href);
      await page.waitForFunction(() => Number(document.getElementById('lag-count')?.textContent) > 0, undefined, {
        timeout: 10_000,
      });
      await sleep(2_500); // a few refreshes, so the minute of history has points
      await mkdir(screenshotsDir, { recursive: true });
      const file = path.join(screenshotsDir, 'ops-during-bench.png');
      await page.screenshot({ path: file });
      log(`ops page under load: ${path.relative(projectRoot, file)}`);
    } finally {
      await browser.close();
    }
  } catch (err) {
    log(`ops page screenshot failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const roundLines = (lines: CostLines): CostLines =>
  Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, round(v, 4)])) as CostLines;

async function capacityScenario(gen: LoadGenerator, stack: RunningStack): Promise<void> {
  const p = PARAMS.capacity;
  await waitForQuiet(stack.info.pid);
  const baseline = stackMemory(stack.info.pid);
  const workersRssMb = async () =>
    round(
      (await workerPids(stack)).reduce((sum, pid) => sum + rssMb(pid), 0),
      1,
    );
  const baselineWorkers = await workersRssMb();
  const perUser = p.idleConnections / p.idleUsers;
  const opened = await gen.run<OpenResult>({
    cmd: 'open',
    params: {
      endpoints: endpointsOf(stack),
      users: Array.from({ length: p.idleUsers }, (_, i) => ({ username: `bench-${runId}-idle-${i}`, connections: perUser })),
      openConcurrency: p.openConcurrency,
    },
  });
  await waitForQuiet(stack.info.pid);
  const loaded = stackMemory(stack.info.pid);
  const loadedWorkers = await workersRssMb();
  const workerCount = (await workerPids(stack)).length;
  log(
    `${opened.opened} idle sockets open in ${(opened.ms / 1000).toFixed(1)} s; emulator RSS ${baseline.emulatorMb} → ${loaded.emulatorMb} MB; ` +
      `${workerCount} Lambda workers ${baselineWorkers} → ${loadedWorkers} MB`,
  );

  const ramp = await gen.run<RampResult>({
    cmd: 'ramp',
    params: {
      endpoints: endpointsOf(stack),
      label: `bench-${runId}-cap`,
      rates: [...p.rampRates],
      stepSeconds: p.rampStepSeconds,
      receivers: p.receivers,
      drainMs: p.drainMs,
      maxInFlight: p.maxInFlight,
    },
  });
  const afterRamp = stackMemory(stack.info.pid);
  await gen.run({ cmd: 'closeAll' });

  results.capacity = {
    idle_5000_rss_mb: opened.opened === p.idleConnections ? loaded.emulatorMb : null,
    idle_5000_java_rss_mb: loaded.javaMb,
    idle_5000_worker_rss_mb: opened.opened === p.idleConnections ? loadedWorkers : null,
    idle_5000_workers: workerCount,
    baseline_worker_rss_mb: baselineWorkers,
    baseline_rss_mb: baseline.emulatorMb,
    baseline_java_rss_mb: baseline.javaMb,
    idle_opened: opened.opened,
    idle_open_failures: opened.failures,
    idle_open_s: round(opened.ms / 1000, 1),
    rss_after_ramp_mb: afterRamp.emulatorMb,
    writes_per_s_no_loss: ramp.writesPerSecondNoLoss,
    ramp: ramp.steps,
    parameters: {
      ...p,
      rss: 'VmRSS of the stack process (the READY pid: gateway emulator, IAM proxy, stream poller, token issuer, web server); DynamoDB Local (Java) and the Lambda worker processes (sum of their VmRSS) are reported apart',
      idle: `${p.idleUsers} users × ${perUser} sockets, no traffic, read once the stack process is idle (< 20 % of a core over 500 ms) after the last one opened; a fresh stack (default 250 ms polling)`,
      ramp: `one user with ${p.receivers} receiving sockets (the idle sockets stay open); each step writes for ${p.rampStepSeconds} s open loop; the ramp stops at the first step with a lost delivery or write error, or below 90 % of its target rate (the write path saturated); the figure is the highest achieved rate of a step with no lost delivery and no write error`,
    },
  };
}

// --- main ------------------------------------------------------------------

async function main(): Promise<void> {
  const noFile = results.meta.ulimitNoFile;
  if (only.has('capacity') && noFile < 2 * PARAMS.capacity.idleConnections + 1_000) {
    throw new Error(
      `ulimit -n is ${noFile}; the capacity scenario needs ${2 * PARAMS.capacity.idleConnections + 1_000} (run \`ulimit -n 20000\` first)`,
    );
  }
  log(`load average ${results.meta.loadAverageAtStart.join(' ')} on ${results.meta.cpus} cores; ulimit -n ${noFile}`);
  if (results.meta.loadAverageAtStart[0]! > results.meta.cpus) {
    log(
      `warning: the machine is busy (load ${results.meta.loadAverageAtStart[0]} on ${results.meta.cpus} cores); latency, fan-out and import times will come out high`,
    );
  }

  // CPU-bound and timing-sensitive: run before any stack is up.
  if (only.has('bundle')) await scenario('bundles', bundleScenario);
  if (only.has('web')) await scenario('web', webScenario);

  const gen = LoadGenerator.start();
  try {
    if (only.has('latency')) {
      await scenario('latency poll250', () =>
        withStack('poll250', ['--poll-interval-ms', '250'], async (stack) => void (await latencyScenario(gen, stack, 250))),
      );
      await scenario('latency poll250 inprocess', () =>
        withStack('poll250 inprocess', ['--poll-interval-ms', '250', '--runtime', 'inprocess'], async (stack) => {
          const isolated = results.latency?.poll250;
          const baseline = await latencyScenario(gen, stack, 250, 'inprocess');
          // latencyScenario overwrote poll250 with the baseline's figures: keep the isolated ones, add the baseline's p99.
          if (isolated) results.latency!.poll250 = { ...isolated, inprocess_p99_ms: baseline.delivery.p99_ms };
        }),
      );
    }
    let tasksApiMs: number | undefined;
    if (only.has('latency') || only.has('fanout') || only.has('calls') || only.has('cost')) {
      await scenario('poll10 stack', () =>
        withStack('poll10', ['--poll-interval-ms', '10'], async (stack) => {
          if (only.has('latency')) {
            await scenario('latency poll10', async () => {
              // The operations page while the load runs (issue 14): a picture, taken mid-run.
              const picture = captureOpsPage(stack, 12_000);
              const r = await latencyScenario(gen, stack, 10);
              tasksApiMs = Math.ceil(r.writeRoundTrip.p50_ms);
              await picture;
            });
          }
          if (only.has('fanout')) {
            await scenario('fan-out', () => fanoutScenario(gen, stack));
          }
          if (only.has('calls') || only.has('cost')) {
            // Closing 1,000 sockets leaves a burst of $disconnect calls; let it drain first.
            await waitForQuiet(stack.info.pid);
            await scenario('calls and cost', () => callsAndCostScenario(gen, stack, tasksApiMs));
          }
        }),
      );
    }
    if (only.has('fanout')) {
      await scenario('fan-out inprocess', () =>
        withStack('poll10 inprocess', ['--poll-interval-ms', '10', '--runtime', 'inprocess'], (stack) =>
          fanoutInProcessScenario(gen, stack),
        ),
      );
    }
    if (only.has('sync')) {
      await scenario('sync', () => withStack('sync', [], (stack) => syncScenario(stack)));
    }
    if (only.has('capacity')) {
      await scenario('capacity', () => withStack('capacity', [], (stack) => capacityScenario(gen, stack)));
    }
    if (only.has('reload')) await scenario('reload', reloadScenario);
  } finally {
    await gen.stop();
  }

  results.meta.totalSeconds = round((performance.now() - startedAt) / 1000, 1);
  const table = printTable(results);
  process.stdout.write(`\n${table}\n`);

  await mkdir(path.join(projectRoot, 'bench/results'), { recursive: true });
  const file = path.join(projectRoot, 'bench/results', full ? 'latest.json' : 'partial.tmp');
  results.targets = TARGETS.map((t) => t.evaluate(results));
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${path.relative(projectRoot, file)} in ${results.meta.totalSeconds} s total`);
  if (Object.keys(results.meta.errors).length > 0) process.exitCode = 1;
}

await main();
