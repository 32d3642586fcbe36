import { readFile, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_BUNDLING } from '../../lib/bundling.js';
import { FUNCTIONS, type FunctionDefinition, type FunctionName } from '../../lib/definitions.js';
import { CredentialRegistry } from '../../local/iam/credentials.js';
import { LambdaFunctionError, LambdaTimeoutError } from '../../local/lambda/errors.js';
import { createLambdaRuntime, type LambdaRuntime, type LambdaRuntimeOptions } from '../../local/lambda/lambda-runtime.js';
import { watchSources } from '../../local/lambda/watch.js';

const projectRoot = path.resolve(import.meta.dirname, '../..');
const scratch: string[] = [];
const tempDir = async (prefix: string) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

const probe = (overrides: Partial<FunctionDefinition> = {}): FunctionDefinition => ({
  entry: 'test/fixtures/lambda/probe.ts',
  memoryMb: 128,
  timeoutSeconds: 5,
  env: ['connectionsTable'],
  permissions: [],
  ...overrides,
});

/** Every local ENV value, so a function that gets only its own shows it was given only its own. */
const ALL_VALUES = {
  tasksTable: 'tasks',
  connectionsTable: 'connections',
  changesTable: 'changes',
  changeRetentionSeconds: '2592000',
  jwtIssuer: 'http://127.0.0.1:1/auth',
  jwtAudience: 'local-dashboard',
  jwksUri: 'http://127.0.0.1:1/auth/.well-known/jwks.json',
  wsManagementEndpoint: 'http://127.0.0.1:1/local',
};

async function runtimeWith(
  functions: Partial<Record<FunctionName, FunctionDefinition>>,
  overrides: Partial<LambdaRuntimeOptions> = {},
): Promise<LambdaRuntime> {
  const runtime = await createLambdaRuntime({
    projectRoot,
    outRoot: await tempDir('lambda-runtime-'),
    functions,
    environmentValues: () => ALL_VALUES,
    credentials: new CredentialRegistry(),
    dynamodbUpstream: () => 'http://127.0.0.1:9',
    logLevel: 'WARN',
    maxWorkersPerFunction: 3,
    incremental: false,
    log: () => undefined,
    output: () => undefined,
    ...overrides,
  });
  await runtime.build();
  return runtime;
}

type EnvReport = {
  env: Record<string, string>;
  cwd: string;
  functionName: string;
  memoryLimitInMB: string;
  remainingMs: number;
  timeZoneOffset: number;
};
type CountReport = { pid: number; invocations: number };

describe('isolated functions', () => {
  let runtime: LambdaRuntime;
  beforeAll(async () => {
    process.env.LOCAL_RUNTIME_TEST_LEAK = 'the parent process environment';
    runtime = await runtimeWith({
      wsConnect: probe(),
      tasksApi: probe({ timeoutSeconds: 20 }),
      wsDefault: probe({ timeoutSeconds: 1 }),
      wsDisconnect: probe({ memoryMb: 64 }),
    });
  }, 60_000);
  afterAll(async () => {
    delete process.env.LOCAL_RUNTIME_TEST_LEAK;
    await runtime?.stop();
  });

  it('gives a function exactly its own variables and the ones Lambda sets, nothing of another function or of the emulator', async () => {
    const report = (await runtime.invoke('wsConnect', { action: 'env' })) as EnvReport;
    expect(Object.keys(report.env).sort()).toEqual(
      [
        // FUNCTIONS.wsConnect.env of the probe's definition, and what CDK adds to every function
        'CONNECTIONS_TABLE',
        'POWERTOOLS_SERVICE_NAME',
        'POWERTOOLS_LOG_LEVEL',
        'NODE_OPTIONS',
        // what Lambda sets
        'AWS_REGION',
        'AWS_DEFAULT_REGION',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_SESSION_TOKEN',
        'AWS_LAMBDA_FUNCTION_NAME',
        'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
        'AWS_LAMBDA_FUNCTION_VERSION',
        'AWS_LAMBDA_INITIALIZATION_TYPE',
        'AWS_LAMBDA_LOG_GROUP_NAME',
        'AWS_LAMBDA_LOG_STREAM_NAME',
        'AWS_EXECUTION_ENV',
        '_HANDLER',
        'LAMBDA_TASK_ROOT',
        'LAMBDA_RUNTIME_DIR',
        'TZ',
        'LANG',
        'PATH',
        // local only: where the SDK finds the emulated services, and no shared AWS config files
        'AWS_ENDPOINT_URL_DYNAMODB',
        'AWS_ENDPOINT_URL_DYNAMODB_STREAMS',
        'AWS_CONFIG_FILE',
        'AWS_SHARED_CREDENTIALS_FILE',
        'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
      ].sort(),
    );
    expect(report.env).toMatchObject({
      CONNECTIONS_TABLE: 'connections',
      POWERTOOLS_SERVICE_NAME: 'wsConnect',
      NODE_OPTIONS: '--enable-source-maps',
      AWS_LAMBDA_FUNCTION_NAME: 'wsConnect',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
      AWS_ACCESS_KEY_ID: 'ASIALOCALWSCONNECT',
      _HANDLER: 'index.handler',
      TZ: ':UTC',
    });
    expect(report).toMatchObject({
      cwd: report.env.LAMBDA_TASK_ROOT,
      functionName: 'wsConnect',
      memoryLimitInMB: '128',
      timeZoneOffset: 0,
    });
    expect(report.remainingMs).toBeGreaterThan(0);
    expect(report.remainingMs).toBeLessThanOrEqual(5_000);
  });

  it('runs the esbuild bundle built with the options CDK deploys with, not the TypeScript source', async () => {
    const { env } = (await runtime.invoke('wsConnect', { action: 'env' })) as EnvReport;
    const bundle = await readFile(path.join(env.LAMBDA_TASK_ROOT!, 'index.mjs'), 'utf8');
    expect(bundle.startsWith(LAMBDA_BUNDLING.banner)).toBe(true);
    expect(bundle).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    expect(bundle).not.toContain('ProbeEvent');
  });

  it('never shares a module instance between concurrent invocations, reuses warm workers and counts cold starts', async () => {
    const dir = await tempDir('lambda-barrier-');
    const concurrent = (await Promise.all(
      [1, 2, 3].map(() => runtime.invoke('tasksApi', { action: 'barrier', dir, count: 3 })),
    )) as CountReport[];
    expect(new Set(concurrent.map((r) => r.pid)).size).toBe(3);
    const afterBurst = runtime.stats().functions.tasksApi!;
    expect(afterBurst.workers).toBe(3);

    const sequential: CountReport[] = [];
    for (let i = 0; i < 4; i++) sequential.push((await runtime.invoke('tasksApi', { action: 'count' })) as CountReport);
    expect(sequential.every((r) => concurrent.some((c) => c.pid === r.pid))).toBe(true);
    // A warm worker keeps its module state: the most recently used one served all four.
    expect(new Set(sequential.map((r) => r.pid)).size).toBe(1);
    expect(sequential.map((r) => r.invocations)).toEqual(
      [1, 2, 3, 4].map((n) => n + concurrent.find((c) => c.pid === sequential[0]!.pid)!.invocations),
    );

    // Beyond maxWorkers (3), invocations wait for a worker instead of sharing one.
    const burst = (await Promise.all(
      [1, 2, 3, 4, 5].map(() => runtime.invoke('tasksApi', { action: 'count', ms: 100 })),
    )) as CountReport[];
    expect(new Set(burst.map((r) => r.pid)).size).toBeLessThanOrEqual(3);
    const stats = runtime.stats().functions.tasksApi!;
    expect(stats.coldStarts).toBe(3);
    expect(stats).toMatchObject({ workers: 3, maxWorkers: 3, busy: 0, queued: 0 });
  });

  it('fails an invocation past its timeout as Lambda does and serves the next one from a fresh worker', async () => {
    const first = (await runtime.invoke('wsDefault', { action: 'count' })) as CountReport;
    const error = await runtime.invoke('wsDefault', { action: 'sleep', ms: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LambdaTimeoutError);
    expect((error as Error).message).toBe('Task timed out after 1.00 seconds');
    const next = (await runtime.invoke('wsDefault', { action: 'count' })) as CountReport;
    expect(next.pid).not.toBe(first.pid);
    expect(next.invocations).toBe(1);
    expect(runtime.stats().functions.wsDefault).toMatchObject({ timeouts: 1 });
  });

  it('limits the heap to the memory size: running out fails the invocation as Runtime.OutOfMemory', async () => {
    const error = await runtime.invoke('wsDisconnect', { action: 'allocate' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LambdaFunctionError);
    expect((error as LambdaFunctionError).errorType).toBe('Runtime.OutOfMemory');
    expect(await runtime.invoke('wsDisconnect', { action: 'sleep', ms: 0 })).toBe('slept');
  });

  it("passes the handler's error back with its name and message, and survives a runtime exit", async () => {
    await expect(runtime.invoke('wsConnect', { action: 'throw' })).rejects.toMatchObject({ name: 'ProbeError', message: 'boom' });
    await expect(runtime.invoke('wsConnect', { action: 'exit' })).rejects.toMatchObject({
      name: 'Runtime.ExitError',
      message: 'Runtime exited with error: exit status 3',
    });
    expect(await runtime.invoke('wsConnect', { action: 'sleep', ms: 0 })).toBe('slept');
  });
});

describe('a wrong environment definition fails locally', () => {
  let runtime: LambdaRuntime;
  afterAll(async () => {
    await runtime?.stop();
  });

  it('fails the real ws-connect bundle at init when its definition does not give it CONNECTIONS_TABLE', async () => {
    runtime = await runtimeWith({ wsConnect: { ...FUNCTIONS.wsConnect, env: [] } });
    const error = await runtime.invoke('wsConnect', { requestContext: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LambdaFunctionError);
    expect((error as Error).message).toBe('Missing environment variable(s): CONNECTIONS_TABLE');
    expect(runtime.stats().functions.wsConnect).toMatchObject({ initErrors: 1 });
  }, 60_000);
});

describe('reload', () => {
  it('serves a changed handler after reload, and keeps serving the previous code when the change does not build', async () => {
    const root = await tempDir('lambda-reload-');
    const file = path.join(root, 'handler.ts');
    const version = (n: string) => `export const handler = async () => ${n};\n`;
    await writeFile(file, version("'v1'"));
    const lines: string[] = [];
    const runtime = await runtimeWith(
      { wsConnect: probe({ entry: 'handler.ts', env: [] }) },
      { projectRoot: root, incremental: true, log: (line) => lines.push(line) },
    );
    try {
      expect(await runtime.invoke('wsConnect', {})).toBe('v1');

      await writeFile(file, version("'v2'"));
      const reloaded = await runtime.reload([file]);
      expect(reloaded).toMatchObject({ functions: ['wsConnect'], failed: [], files: ['handler.ts'] });
      expect(await runtime.invoke('wsConnect', {})).toBe('v2');
      expect(lines.at(-1)).toMatch(/^↻ reloaded wsConnect in \d+ ms \(handler\.ts\)$/);

      await writeFile(file, 'export const handler = async () => {;\n');
      const broken = await runtime.reload([file]);
      expect(broken).toMatchObject({ functions: [], failed: ['wsConnect'] });
      expect(lines.some((line) => line.startsWith('✖ wsConnect: build failed, still serving the previous code:'))).toBe(true);
      expect(await runtime.invoke('wsConnect', {})).toBe('v2');
      expect(runtime.stats().functions.wsConnect!.buildError).toMatch(/^handler\.ts:\d+:\d+: /);
    } finally {
      await runtime.stop();
    }
  }, 60_000);

  it('reports a file changed under a watched directory, with its absolute path', async () => {
    const root = await tempDir('lambda-watch-');
    await mkdir(path.join(root, 'nested'));
    const seen: string[][] = [];
    let notify: () => void = () => undefined;
    const changed = new Promise<void>((resolve) => (notify = resolve));
    const watcher = watchSources({
      dirs: [root],
      files: [],
      onChange: (files) => {
        seen.push(files);
        notify();
      },
    });
    try {
      const file = path.join(root, 'nested', 'a.ts');
      await writeFile(file, 'export {};\n');
      await writeFile(file, 'export const a = 1;\n');
      await changed;
      expect(seen[0]).toEqual([file]);
    } finally {
      watcher.close();
    }
  });
});
