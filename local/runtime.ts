import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { buildWeb } from '../web/build.js';
import { CHANGE_FEED, LOCAL, PRESENCE_MAPPING, QUEUES, STREAM_MAPPING, TABLES, type FunctionName } from '../lib/definitions.js';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import type { RuntimeConfig } from '../lambdas/contract.js';
import { createJwtVerifier } from '../lambdas/auth/jwt-verifier.js';
import { startDynamoDbLocal } from './dynamodb/dynamodb-local.js';
import { createDynamoDbSupervisor } from './dynamodb/supervisor.js';
import { ensureTables } from './dynamodb/tables.js';
import { startHttpApi } from './gateway/http/http-api.js';
import { newApiId } from './gateway/shared/aws-format.js';
import { startWebSocketApi } from './gateway/websocket/websocket-api.js';
import { connectionsCheck } from './iam/connections-check.js';
import { CredentialRegistry } from './iam/credentials.js';
import { createIamRecorder, startDynamoDbProxy, type DynamoDbProxy } from './iam/dynamodb-proxy.js';
import { mappingProblem, sendCheck } from './iam/event-source-mapping.js';
import { authorize, type Denial } from './iam/policy.js';
import { createLambdaRuntime, DEFAULT_OUTPUT, type EnvironmentValues, type LambdaRuntime } from './lambda/lambda-runtime.js';
import { createEmfCollector } from './ops/emf-collector.js';
import { OPS_PAGE_HTML } from './ops/ops-page.js';
import { invoke as invokeInProcess } from './lambda/runtime.js';
import { watchSources } from './lambda/watch.js';
import { createTokenIssuer, type TokenIssuer } from './auth/token-issuer.js';
import type { OnFailureRecord } from './streams/on-failure-destination.js';
import { startStreamPoller, type StreamMappingSettings } from './streams/stream-poller.js';
import { sendJson, startWebServer } from './web/web-server.js';

export interface LocalRuntimeOptions {
  projectRoot: string;
  /** Where data, keys and the on-failure destination live (`.local/`, or a scratch folder with inMemory). */
  stateDir: string;
  /** Keep no data: DynamoDB Local in memory. */
  inMemory: boolean;
  /** 0 = a free port. */
  ports: { web: number; http: number; ws: number };
  pollIntervalMs?: number;
  wsIdleTimeoutMs?: number;
  wsMaxDurationMs?: number;
  retryAttempts?: number;
  /** Fault injection for tests: this fraction of @connections POSTs fails (429/500) without delivering. Default: 0. */
  faultPostErrorRate?: number;
  /** Fault injection for tests: this fraction of @connections POSTs is answered 200 and never delivered. Default: 0. */
  faultPostDropRate?: number;
  /** Written into config.json as `heartbeatMs` (tests shorten the dashboard's heartbeat). Default: the dashboard's own. */
  heartbeatMs?: number;
  /** Tombstone and change-entry retention. Default: CHANGE_FEED.defaultRetentionDays, as deployed. */
  changeRetentionSeconds?: number;
  /**
   * 'isolated' (default): each function in its own worker processes, from its
   * esbuild bundle, with its own environment and IAM checks. 'inprocess': the
   * handlers in this process sharing one environment, no IAM; kept only as
   * the benchmark's baseline.
   */
  runtime?: 'isolated' | 'inprocess';
  /** Rebuild and reload functions when lambdas/ or lib/definitions.ts change (isolated only). Default: false. */
  watch?: boolean;
  /**
   * Build the dashboard into web/dist at start. Default: true. Tests that start a second stack
   * beside a running one pass false, so web/dist is never rewritten under the first one.
   */
  buildWeb?: boolean;
  /** Most concurrent workers per function (isolated only). Default: 4. */
  maxWorkersPerFunction?: number;
  log: (line: string) => void;
}

/** What a running local stack tells its users (and tests, through `--ready-json`). */
export interface LocalRuntimeInfo {
  webUrl: string;
  apiUrl: string;
  wsUrl: string;
  tokenUrl: string;
  managementEndpoint: string;
  dynamodbEndpoint: string;
  /** DynamoDB Local's Java process at start (fault tests kill it; it is restarted on the same port). */
  dynamodbPid: number;
  failureFile: string;
  /** GET: stream poller, WebSocket/@connections, DynamoDB Local, Lambda worker and IAM counters as JSON. */
  statsUrl: string;
  readyMs: number;
  runtime: 'isolated' | 'inprocess';
}

export interface LocalRuntime {
  info: LocalRuntimeInfo;
  /** Stops every component, DynamoDB Local last (`$disconnect` still needs it). */
  stop(): Promise<void>;
}

const pad = (name: string) => name.padEnd(12);

/** Logs each distinct refusal at most once per 5 s (a poller retrying a refused call would flood the console). */
function denialLogger(log: (line: string) => void): (denial: Denial) => void {
  const lastLogged = new Map<string, number>();
  return (denial) => {
    const now = Date.now();
    if (now - (lastLogged.get(denial.message) ?? 0) < 5_000) return;
    lastLogged.set(denial.message, now);
    log(`✖ ${pad('IAM')} AccessDeniedException: ${denial.message}`);
  };
}

/**
 * Starts the whole product offline. Components start in dependency order:
 * web server, DynamoDB Local and the function bundles (in parallel), the IAM
 * proxy, token issuer, HTTP and WebSocket APIs, and last the stream poller
 * and one warm worker per function, so every write after `start` resolves is
 * broadcast and the first request is served warm.
 */
export async function start(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const startedAt = Date.now();
  const { log } = options;
  const mode = options.runtime ?? 'isolated';
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };

  try {
    // Late-bound: the web server must listen before the issuer knows its URL.
    let config: RuntimeConfig | undefined;
    let issuer: TokenIssuer | undefined;
    let stats: (() => unknown) | undefined;

    // An in-memory DynamoDB Local comes back empty: recreate the tables (the poller then follows the new stream).
    const supervisor = createDynamoDbSupervisor({
      afterRestart: async () => {
        const client = new DynamoDBClient(dynamo.clientConfig);
        try {
          await ensureTables(client);
        } finally {
          client.destroy();
        }
      },
      log,
    });
    // Isolated functions: each one's own credentials, environment, bundle and workers.
    const credentials = new CredentialRegistry();
    const recorder = createIamRecorder(denialLogger(log));
    const environment: EnvironmentValues = {};
    let proxy: DynamoDbProxy | undefined;
    let dynamodbEndpoint: string | undefined;
    let lambdas: LambdaRuntime | undefined;
    // The handlers' EMF lines feed the operations page (/_local/ops); everything else is printed as before.
    const ops = createEmfCollector();
    if (mode === 'isolated') {
      lambdas = await createLambdaRuntime({
        output: (fn, line, stream) => {
          if (stream === 'stdout' && ops.ingest(line)) return;
          DEFAULT_OUTPUT(fn, line, stream);
        },
        projectRoot: options.projectRoot,
        outRoot: path.join(options.stateDir, 'lambda'),
        environmentValues: () => environment,
        credentials,
        dynamodbUpstream: () => dynamodbEndpoint!,
        recorder,
        logLevel: process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO',
        incremental: options.watch ?? false,
        ...(options.maxWorkersPerFunction ? { maxWorkersPerFunction: options.maxWorkersPerFunction } : {}),
        log,
      });
      const started = lambdas;
      stops.push(() => started.stop());
    }
    const invoke = (fn: FunctionName, event: unknown) => (lambdas ? lambdas.invoke(fn, event) : invokeInProcess(fn, event));

    const [dynamo, web, webBuild] = await Promise.all([
      startDynamoDbLocal({
        dataDir: options.inMemory ? null : path.join(options.stateDir, 'dynamodb'),
        onUnexpectedExit: supervisor.onUnexpectedExit,
      }),
      startWebServer({
        port: options.ports.web,
        webRoot: path.join(options.projectRoot, 'web/dist'),
        routes: {
          '/config.json': (_req, res) => (config ? sendJson(res, 200, config) : sendJson(res, 503, { message: 'starting' })),
          '/auth/token': (req, res) => issuer!.handleTokenRequest(req, res),
          '/auth/.well-known/jwks.json': (req, res) => issuer!.handleJwksRequest(req, res),
          // Counters of the emulated AWS parts (fault tests and benchmarks read them; not an AWS API).
          '/_local/stats': (_req, res) => (stats ? sendJson(res, 200, stats()) : sendJson(res, 503, { message: 'starting' })),
          // The live operations page: the handlers' metrics and the emulators' counters, drawn (not an AWS API).
          '/_local/ops': (_req, res) => {
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
            res.end(OPS_PAGE_HTML);
          },
          '/_local/ops.json': (_req, res) =>
            stats ? sendJson(res, 200, { ops: ops.snapshot(), stats: stats() }) : sendJson(res, 503, { message: 'starting' }),
        },
        onError: (err) => log(`[web] ${String(err)}`),
      }),
      options.buildWeb === false ? undefined : buildWeb(),
      lambdas?.build(),
    ]);
    supervisor.attach(dynamo);
    dynamodbEndpoint = dynamo.endpoint;
    // Stops run in reverse: the supervisor stands down before DynamoDB Local is stopped on purpose.
    stops.push(
      () => dynamo.stop(),
      () => supervisor.stop(),
      () => web.close(),
    );
    log(
      `✔ ${pad('DynamoDB')} ${dynamo.endpoint} (${options.inMemory ? 'in memory' : path.relative(options.projectRoot, dynamo.dataDir!)}, ready in ${dynamo.startupMs} ms)`,
    );
    log(
      webBuild
        ? `✔ ${pad('Web client')} built web/dist (${(webBuild.initialJs.gzipBytes / 1024).toFixed(1)} KB gzipped JS)`
        : `✔ ${pad('Web client')} web/dist as already built (--no-web-build)`,
    );

    const tablesClient = new DynamoDBClient({
      ...dynamo.clientConfig,
      requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
    });
    stops.push(async () => tablesClient.destroy());
    const tables = await ensureTables(tablesClient);
    if (!tables.tasks.LatestStreamArn) throw new Error('the tasks table has no stream');
    // Asked again when the stream disappears (an in-memory DynamoDB Local restarted and the table was recreated).
    const resolveStreamArn = async (table: keyof typeof TABLES): Promise<string> => {
      const { Table } = await tablesClient.send(new DescribeTableCommand({ TableName: TABLES[table].localName }));
      if (!Table?.LatestStreamArn) throw new Error(`the ${table} table has no stream`);
      return Table.LatestStreamArn;
    };
    log(
      `✔ ${pad('Tables')} ${Object.values(TABLES)
        .map((t) => t.localName)
        .join(', ')} (from lib/definitions.ts)`,
    );

    if (lambdas) {
      // Each function's worker checks its own calls; this check is the stream poller's (the mapping's).
      const checked = lambdas;
      proxy = await startDynamoDbProxy({
        upstream: dynamo.endpoint,
        credentials,
        permissionsOf: (fn) => checked.permissionsOf(fn),
        recorder,
      });
      const started = proxy;
      stops.push(() => started.close());
      log(
        `✔ ${pad('IAM')} every DynamoDB, Streams and @connections call of the functions checked against FUNCTIONS[fn].permissions`,
      );
    }

    const webOrigin = new URL(web.url).origin;
    const issuerUrl = `${webOrigin}/auth`;
    issuer = await createTokenIssuer({
      issuer: issuerUrl,
      audience: LOCAL.audience,
      keyFile: path.join(options.stateDir, 'signing-key.json'),
    });
    const { jwksUri } = issuer;
    log(`✔ ${pad('Tokens')} POST ${issuerUrl}/token  (JWKS ${jwksUri})`);

    // The values of the variables CDK sets on the deployed functions (lib/definitions.ts ENV); each
    // isolated function gets only its own FUNCTIONS[fn].env ones.
    Object.assign(environment, {
      tasksTable: TABLES.tasks.localName,
      connectionsTable: TABLES.connections.localName,
      changesTable: TABLES.changes.localName,
      changeRetentionSeconds: String(options.changeRetentionSeconds ?? CHANGE_FEED.defaultRetentionDays * 86_400),
      jwtIssuer: issuerUrl,
      jwtAudience: LOCAL.audience,
      jwksUri,
    } satisfies EnvironmentValues);
    if (!lambdas) {
      // In-process baseline: one process.env shared by every handler.
      Object.assign(process.env, {
        AWS_REGION: LOCAL.region,
        AWS_ACCESS_KEY_ID: dynamo.clientConfig.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: dynamo.clientConfig.credentials.secretAccessKey,
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        TASKS_TABLE: environment.tasksTable,
        CONNECTIONS_TABLE: environment.connectionsTable,
        CHANGES_TABLE: environment.changesTable,
        CHANGE_RETENTION_SECONDS: environment.changeRetentionSeconds,
        JWT_ISSUER: issuerUrl,
        JWT_AUDIENCE: LOCAL.audience,
        JWKS_URI: jwksUri,
      });
    }

    const verifier = createJwtVerifier({ issuer: issuerUrl, audience: LOCAL.audience, jwksUri });
    const localOrigins = [webOrigin, webOrigin.replace('127.0.0.1', 'localhost')];
    const httpApi = await startHttpApi({
      port: options.ports.http,
      verifier,
      invoke,
      // The deployed API allows the CloudFront origin; locally the dashboard's.
      cors: { allowOrigins: localOrigins },
    });
    stops.push(() => httpApi.close());
    log(`✔ ${pad('HTTP API')} ${httpApi.url}  (JWT authorizer, CORS for ${webOrigin})`);

    const apiId = newApiId();
    const wsApi = await startWebSocketApi({
      port: options.ports.ws,
      apiId,
      invoke,
      ...(lambdas
        ? {
            authorizeManagement: connectionsCheck({
              apiId,
              credentials,
              permissionsOf: (fn) => lambdas.permissionsOf(fn),
              recorder,
            }),
          }
        : {}),
      ...(options.wsIdleTimeoutMs ? { idleTimeoutMs: options.wsIdleTimeoutMs } : {}),
      ...(options.wsMaxDurationMs ? { maxDurationMs: options.wsMaxDurationMs } : {}),
      ...(options.faultPostErrorRate || options.faultPostDropRate
        ? { faults: { postErrorRate: options.faultPostErrorRate ?? 0, postDropRate: options.faultPostDropRate ?? 0 } }
        : {}),
    });
    environment.wsManagementEndpoint = wsApi.managementEndpoint;
    if (!lambdas) process.env.WS_MANAGEMENT_ENDPOINT = wsApi.managementEndpoint;
    // Closed before DynamoDB Local so every $disconnect can delete its row.
    stops.push(() => wsApi.close());
    log(`✔ ${pad('WebSocket')} ${wsApi.url}  (@connections at ${wsApi.managementEndpoint})`);

    const failureFile = path.join(options.stateDir, QUEUES[STREAM_MAPPING.onFailure].localFile);
    /**
     * One event source mapping of lib/definitions.ts: a poller that acts as the mapping, which AWS
     * runs with the function's role. It signs its DynamoDB Streams calls (and its sends to the
     * on-failure destination, if it has one) as the mapping, checked against that role.
     */
    const startMapping = async (
      mapping: StreamMappingSettings & { fn: FunctionName; table: keyof typeof TABLES; onFailure?: keyof typeof QUEUES },
      overrides: Partial<StreamMappingSettings>,
    ) => {
      const { fn: _fn, table: _table, onFailure: _onFailure, ...settings } = mapping;
      const mappingCredentials = credentials.forEventSourceMapping(mapping.fn);
      const mappingPrincipal = credentials.principalOf(mappingCredentials.accessKeyId)!;
      let streamsClient: DynamoDBStreamsClient | undefined;
      if (lambdas) {
        const problem = mappingProblem(
          (fn) => lambdas.permissionsOf(fn),
          mappingPrincipal,
          tables[mapping.table].LatestStreamArn!,
          TABLES[mapping.table].localName,
          mapping.onFailure,
        );
        if (problem) throw new Error(`The stream event source mapping of ${mapping.fn} cannot be created: ${problem}`);
        streamsClient = new DynamoDBStreamsClient({
          endpoint: proxy!.endpoint,
          region: LOCAL.region,
          credentials: mappingCredentials,
          maxAttempts: 1,
          requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
        });
        const client = streamsClient;
        stops.push(async () => client.destroy());
      }
      const { onFailure } = mapping;
      const sendToDestination = (record: OnFailureRecord) => {
        if (!onFailure) return;
        const denial = lambdas
          ? authorize((fn) => lambdas.permissionsOf(fn), mappingPrincipal, [sendCheck(onFailure)])
          : undefined;
        if (denial) {
          // As on AWS: the mapping cannot deliver the record to its destination, and it is lost.
          recorder.denied(denial);
          return;
        }
        mkdirSync(path.dirname(failureFile), { recursive: true });
        appendFileSync(failureFile, `${JSON.stringify(record)}\n`, 'utf8');
      };
      const started = await startStreamPoller({
        streamArn: () => resolveStreamArn(mapping.table),
        ...(streamsClient ? { streamsClient } : { endpoint: dynamo.endpoint }),
        invoke: (event) => invoke(mapping.fn, event) as Promise<DynamoDBBatchResponse | void>,
        failureFile: null,
        onFailureRecord: sendToDestination,
        functionName: mapping.fn,
        mapping: { ...settings, ...overrides },
      });
      stops.push(() => started.stop());
      return started;
    };
    const poller = await startMapping(STREAM_MAPPING, {
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
      ...(options.retryAttempts !== undefined ? { retryAttempts: options.retryAttempts } : {}),
    });
    const presencePoller = await startMapping(PRESENCE_MAPPING, {
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    });
    stats = () => ({
      streams: poller.stats(),
      presenceStream: presencePoller.stats(),
      websocket: wsApi.stats(),
      dynamodb: { pid: dynamo.pid ?? null, running: dynamo.running, restarts: supervisor.restarts },
      lambda: lambdas ? { ...lambdas.stats(), workerPids: lambdas.workerPids() } : { mode: 'inprocess' },
      iam: recorder.stats(),
    });
    log(
      `✔ ${pad('Streams')} tasks → broadcaster  (on-failure: ${options.inMemory ? failureFile : path.relative(options.projectRoot, failureFile)}); connections → presence`,
    );

    if (lambdas) {
      // One warm worker per function, so the first request is not a cold start.
      const warmStarted = Date.now();
      await lambdas.prewarm();
      log(
        `✔ ${pad('Lambda')} one warm worker per function in ${Date.now() - warmStarted} ms (isolated processes, up to ${options.maxWorkersPerFunction ?? 4} each)`,
      );
      if (options.watch) {
        const watched = lambdas;
        const watcher = watchSources({
          dirs: [path.join(options.projectRoot, 'lambdas')],
          files: [path.join(options.projectRoot, 'lib/definitions.ts')],
          onChange: (files, changedAt) =>
            void watched.reload(files, changedAt).catch((error: unknown) => log(`✖ reload failed: ${String(error)}`)),
          onError: (error) => log(`✖ watch: ${error.message}`),
        });
        stops.push(async () => watcher.close());
        log(`✔ ${pad('Watch')} lambdas/ and lib/definitions.ts: a change rebuilds and reloads the functions it affects`);
      }
    } else {
      log(`! ${pad('Lambda')} in-process mode (benchmark baseline): shared environment, TypeScript sources, no IAM checks`);
    }

    config = {
      apiUrl: httpApi.url,
      wsUrl: wsApi.url,
      auth: { mode: 'local', tokenUrl: `${issuerUrl}/token` },
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    };
    const readyMs = Date.now() - startedAt;
    log(`\nReady in ${(readyMs / 1000).toFixed(1)} s. Dashboard: ${web.url}  Operations: ${webOrigin}/_local/ops\n`);

    return {
      info: {
        webUrl: web.url,
        apiUrl: httpApi.url,
        wsUrl: wsApi.url,
        tokenUrl: config.auth.mode === 'local' ? config.auth.tokenUrl : '',
        managementEndpoint: wsApi.managementEndpoint,
        dynamodbEndpoint: dynamo.endpoint,
        dynamodbPid: dynamo.pid ?? 0,
        failureFile,
        statsUrl: `${webOrigin}/_local/stats`,
        readyMs,
        runtime: mode,
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
