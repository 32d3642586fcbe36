import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { build as esbuild } from 'esbuild';
import {
  commonEnvironment,
  environmentFor,
  FUNCTIONS,
  LOCAL,
  type ENV,
  type FunctionDefinition,
  type FunctionName,
  type Permission,
} from '../../lib/definitions.js';
import * as startDefinitions from '../../lib/definitions.js';
import type { CredentialRegistry } from '../iam/credentials.js';
import type { IamRecorder } from '../iam/dynamodb-proxy.js';
import { BundleError, createBundler } from './bundler.js';
import { createDefinitionsLoader } from './definitions-loader.js';
import { FunctionPool, type PoolStats, type WorkerSpec } from './worker-pool.js';

export type EnvironmentValues = Partial<Record<keyof typeof ENV, string>>;

export interface LambdaRuntimeOptions {
  projectRoot: string;
  /** Bundles, the bootstrap and reloaded definitions go here (`<stateDir>/lambda`). */
  outRoot: string;
  /** The functions to run. Default: FUNCTIONS of lib/definitions.ts, reloaded on reload() (tests pass altered or partial copies). */
  functions?: Partial<Record<FunctionName, FunctionDefinition>>;
  /**
   * Keep esbuild's incremental state between builds, so a rebuild after a
   * change takes a fraction of a full build. Costs memory in esbuild's
   * process (some 400 MB for the six functions); without it (npm start
   * --no-watch) the state is dropped after the first build. Default: true.
   */
  incremental?: boolean;
  /** Local values of the ENV variables (read when a worker starts: some exist only once the stack is up). */
  environmentValues: () => EnvironmentValues;
  credentials: CredentialRegistry;
  /**
   * DynamoDB Local's endpoint (read when a worker starts). Each worker runs
   * its function's IAM check in front of it and points the function's SDK
   * at that check.
   */
  dynamodbUpstream: () => string;
  /** Counts the workers' IAM checks and sees every refusal. Default: none. */
  recorder?: IamRecorder;
  /** POWERTOOLS_LOG_LEVEL of every function. */
  logLevel: string;
  /** Most concurrent invocations (workers) per function. Default 4. */
  maxWorkersPerFunction?: number;
  /** Idle workers beyond one per function stop after this long. Default 300 000 ms. */
  idleTimeoutMs?: number;
  log: (line: string) => void;
  /** A line a function wrote. Default: this process's stdout/stderr, prefixed `[fn] `. */
  output?: (fn: FunctionName, line: string, stream: 'stdout' | 'stderr') => void;
}

export interface ReloadRecord {
  /** Changed files, relative to the project root. */
  files: string[];
  /** Functions now serving rebuilt code. */
  functions: FunctionName[];
  /** Functions whose build failed (they keep serving their previous code). */
  failed: FunctionName[];
  /** Epoch ms: the first change seen, the builds done, a warm worker of each reloaded function ready. */
  changedAt: number;
  builtAt: number;
  servingAt: number;
  ms: number;
}

export interface LambdaRuntimeStats {
  mode: 'isolated';
  functions: Record<
    string,
    PoolStats & { generation: number | null; bundleBytes: number | null; buildError: string | null; pids: number[] }
  >;
  reloads: number;
  lastReload: ReloadRecord | null;
}

export interface LambdaRuntime {
  invoke(fn: FunctionName, event: unknown): Promise<unknown>;
  /** The permissions in force for `fn` (the IAM checks read them on every call). */
  permissionsOf(fn: FunctionName): readonly Permission[];
  /** Builds every function's bundle, in parallel. A failed build is logged; that function fails its invocations until fixed. */
  build(): Promise<void>;
  /** Starts one warm worker per function, in parallel. */
  prewarm(): Promise<void>;
  /** After `files` (absolute) changed: rebuild what they affect, reload lib/definitions.ts if it is one of them. */
  reload(files: string[], changedAt?: number): Promise<ReloadRecord | undefined>;
  stats(): LambdaRuntimeStats;
  /** Every worker process alive now (benchmarks sum their memory). */
  workerPids(): number[];
  stop(): Promise<void>;
}

/** What Lambda sets in every execution environment besides the function's own variables. */
function lambdaEnvironment(
  fn: FunctionName,
  def: FunctionDefinition,
  taskRoot: string,
  runtimeDir: string,
): Record<string, string> {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    AWS_REGION: LOCAL.region,
    AWS_DEFAULT_REGION: LOCAL.region,
    AWS_LAMBDA_FUNCTION_NAME: fn,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(def.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]${Math.random().toString(16).slice(2, 18)}`,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    _HANDLER: 'index.handler',
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: runtimeDir,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  };
}

/** A function's output line, prefixed with its name, on the runtime's own stdout or stderr. */
export const DEFAULT_OUTPUT = (fn: FunctionName, line: string, stream: 'stdout' | 'stderr') =>
  (stream === 'stdout' ? process.stdout : process.stderr).write(`[${fn}] ${line}\n`);

/** What makes two definitions of a function need different environments (permissions do not: IAM applies them live). */
const environmentShape = (def: FunctionDefinition | undefined) =>
  def ? JSON.stringify([def.entry, def.memoryMb, def.timeoutSeconds, def.env]) : '';

/** Parts of lib/definitions.ts the running emulator read once at start; a change needs a restart. */
const RESTART_KEYS = [
  'TABLES',
  'QUEUES',
  'ENV',
  'HTTP_ROUTES',
  'HTTP_CORS',
  'WS_ROUTES',
  'WS_AUTHORIZER',
  'STREAM_MAPPING',
  'LIMITS',
  'CHANGE_FEED',
  'LOCAL',
] as const;

/**
 * Runs each function as Lambda does, in its own worker processes (a pool per
 * function, local/lambda/worker-pool.ts) loading the esbuild bundle built
 * with the options CDK deploys with, with exactly its own environment plus
 * what Lambda sets, its own credentials (so the IAM checks know who calls),
 * its timeout and its memory as heap limit.
 */
export async function createLambdaRuntime(options: LambdaRuntimeOptions): Promise<LambdaRuntime> {
  let definitions = (options.functions ?? FUNCTIONS) as Record<FunctionName, FunctionDefinition>;
  const names = Object.keys(definitions) as FunctionName[];
  const runtimeDir = path.join(options.outRoot, 'runtime');
  const bootstrapFile = path.join(runtimeDir, 'bootstrap.mjs');
  // Bundles of an earlier start (generations count from 1 again) are never loaded again.
  await rm(options.outRoot, { recursive: true, force: true });
  await mkdir(runtimeDir, { recursive: true });
  await esbuild({
    entryPoints: [path.join(import.meta.dirname, 'bootstrap.ts')],
    outfile: bootstrapFile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
  });

  const bundler = createBundler({
    projectRoot: options.projectRoot,
    outRoot: options.outRoot,
    entries: Object.fromEntries(names.map((fn) => [fn, definitions[fn].entry])),
  });
  const loader = options.functions
    ? undefined
    : createDefinitionsLoader(options.projectRoot, path.join(options.outRoot, 'definitions'));
  const buildErrors = new Map<FunctionName, string>();
  const output = options.output ?? DEFAULT_OUTPUT;
  const noConfigFile = path.join(options.outRoot, 'no-aws-config');

  const specOf = (fn: FunctionName): WorkerSpec => {
    const version = bundler.current(fn);
    if (!version) {
      throw new BundleError(`${fn} has no bundle: ${buildErrors.get(fn) ?? 'not built yet'}`);
    }
    const def = definitions[fn];
    const credentials = options.credentials.forFunction(fn);
    const principal = options.credentials.principalOf(credentials.accessKeyId)!;
    return {
      taskRoot: version.dir,
      memoryMb: def.memoryMb,
      timeoutSeconds: def.timeoutSeconds,
      iam: {
        upstream: options.dynamodbUpstream(),
        accessKeyId: credentials.accessKeyId,
        principalArn: principal.arn,
        permissions: def.permissions,
      },
      env: {
        // The function's own variables, exactly as CDK sets them (lib/definitions.ts) ...
        ...environmentFor(fn, options.environmentValues(), def.env),
        ...commonEnvironment(fn, options.logLevel),
        // ... what Lambda sets, with the function's own credentials ...
        ...lambdaEnvironment(fn, def, version.dir, runtimeDir),
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
        // ... and, locally only, no shared config or credentials files (the bootstrap adds
        // AWS_ENDPOINT_URL_DYNAMODB(_STREAMS), the SDK's standard variables, pointing at its IAM check).
        AWS_CONFIG_FILE: noConfigFile,
        AWS_SHARED_CREDENTIALS_FILE: noConfigFile,
        // The SDK warns about Node < 22 at every cold start; Lambda runs nodejs22.x.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    };
  };

  const pools = new Map<FunctionName, FunctionPool>(
    names.map((fn) => [
      fn,
      new FunctionPool({
        fn,
        bootstrapFile,
        spec: () => specOf(fn),
        maxWorkers: options.maxWorkersPerFunction ?? 4,
        idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
        output: (line, stream) => output(fn, line, stream),
        onIam: (allowed, denial) => {
          for (let i = 0; i < allowed; i++) options.recorder?.allowed();
          if (denial) options.recorder?.denied(denial);
        },
      }),
    ]),
  );
  const poolOf = (fn: FunctionName): FunctionPool => {
    const pool = pools.get(fn);
    if (!pool) throw new Error(`No function ${fn} in the definitions`);
    return pool;
  };

  const buildOne = async (fn: FunctionName): Promise<boolean> => {
    try {
      await bundler.build(fn);
      buildErrors.delete(fn);
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      buildErrors.set(fn, message);
      options.log(`✖ ${fn}: build failed${bundler.current(fn) ? ', still serving the previous code' : ''}:\n${message}`);
      return false;
    }
  };

  let reloads = 0;
  let lastReload: ReloadRecord | null = null;
  let reloading: Promise<unknown> = Promise.resolve();
  const relative = (file: string) => path.relative(options.projectRoot, file);

  async function reloadNow(files: string[], changedAt: number): Promise<ReloadRecord | undefined> {
    const rebuild = new Set<FunctionName>();
    const notes: string[] = [];
    if (loader && files.includes(loader.file)) {
      try {
        const fresh = await loader.load();
        // Compared with what the emulator started with (the gateway and poller read these once).
        for (const key of RESTART_KEYS) {
          if (JSON.stringify(fresh[key]) !== JSON.stringify(startDefinitions[key])) notes.push(key);
        }
        const next = { ...definitions };
        for (const fn of names) {
          const def = fresh.FUNCTIONS[fn];
          if (!def) continue;
          if (environmentShape(def) !== environmentShape(definitions[fn])) rebuild.add(fn);
          if (JSON.stringify(def.permissions) !== JSON.stringify(definitions[fn].permissions)) {
            notes.push(`${fn} permissions (in force now)`);
            poolOf(fn).setPermissions(def.permissions);
          }
          next[fn] = def;
          await bundler.setEntry(fn, def.entry);
        }
        const added = Object.keys(fresh.FUNCTIONS).filter((fn) => !names.includes(fn as FunctionName));
        if (added.length > 0) notes.push(`new function(s) ${added.join(', ')} (restart to run them)`);
        definitions = next;
      } catch (error) {
        options.log(
          `✖ lib/definitions.ts could not be loaded, keeping the previous definitions:\n${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    for (const file of files) for (const fn of bundler.affectedBy(file)) rebuild.add(fn as FunctionName);
    // A function whose last build failed may now build: its inputs are unknown (or were those of an older version).
    for (const fn of buildErrors.keys()) rebuild.add(fn);
    if (rebuild.size === 0 && notes.length === 0) return undefined;

    const built = await Promise.all([...rebuild].map(async (fn) => ({ fn, ok: await buildOne(fn) })));
    const builtAt = Date.now();
    const reloaded = built.filter((b) => b.ok).map((b) => b.fn);
    for (const fn of reloaded) poolOf(fn).retire();
    // The next invocation is served warm by the new code.
    await Promise.all(reloaded.map((fn) => poolOf(fn).prewarm()));
    const servingAt = Date.now();
    const record: ReloadRecord = {
      files: files.map(relative),
      functions: reloaded,
      failed: built.filter((b) => !b.ok).map((b) => b.fn),
      changedAt,
      builtAt,
      servingAt,
      ms: servingAt - changedAt,
    };
    reloads++;
    lastReload = record;
    const what = reloaded.length > 0 ? `reloaded ${reloaded.join(', ')}` : 'nothing reloaded';
    const restart = notes.filter((n) => (RESTART_KEYS as readonly string[]).includes(n));
    const other = notes.filter((n) => !restart.includes(n));
    options.log(
      `↻ ${what} in ${record.ms} ms (${record.files.join(', ')})` +
        (other.length > 0 ? `; ${other.join('; ')}` : '') +
        (restart.length > 0 ? `; ${restart.join(', ')} changed: restart npm start to apply` : ''),
    );
    return record;
  }

  return {
    invoke: (fn, event) => poolOf(fn).invoke(event),
    permissionsOf: (fn) => definitions[fn]?.permissions ?? [],
    async build() {
      const started = performance.now();
      const results = await Promise.all(names.map(buildOne));
      const ok = results.filter(Boolean).length;
      if (options.incremental === false) await bundler.dispose();
      const bytes = names.reduce((sum, fn) => sum + (bundler.current(fn)?.bytes ?? 0), 0);
      options.log(
        `${ok === names.length ? '✔' : '✖'} ${'Functions'.padEnd(12)} ${ok} of ${names.length} bundles built in ${Math.round(performance.now() - started)} ms (esbuild, lib/bundling.ts; ${(bytes / 1024 / names.length).toFixed(0)} KB each on average)`,
      );
    },
    async prewarm() {
      const errors = await Promise.all(names.map(async (fn) => [fn, await poolOf(fn).prewarm()] as const));
      for (const [fn, error] of errors) {
        if (error) options.log(`✖ ${fn}: init failed: ${error.name}: ${error.message}`);
      }
    },
    reload(files, changedAt = Date.now()) {
      const next = reloading.then(() => reloadNow(files, changedAt));
      reloading = next.catch(() => undefined);
      return next;
    },
    stats: () => ({
      mode: 'isolated',
      functions: Object.fromEntries(
        names.map((fn) => {
          const version = bundler.current(fn);
          return [
            fn,
            {
              ...poolOf(fn).stats(),
              generation: version?.generation ?? null,
              bundleBytes: version?.bytes ?? null,
              buildError: buildErrors.get(fn) ?? null,
              pids: poolOf(fn).pids(),
            },
          ];
        }),
      ),
      reloads,
      lastReload,
    }),
    workerPids: () => [...pools.values()].flatMap((pool) => pool.pids()),
    async stop() {
      await reloading;
      await Promise.all([...pools.values()].map((pool) => pool.stop()));
      await bundler.dispose();
      await loader?.dispose();
    },
  };
}
