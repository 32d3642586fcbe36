import path from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { buildWeb } from '../web/build.js';
import { CHANGE_FEED, LOCAL, TABLES } from '../lib/definitions.js';
import type { RuntimeConfig } from '../lambdas/contract.js';
import { createJwtVerifier } from '../lambdas/auth/jwt-verifier.js';
import { startDynamoDbLocal } from './dynamodb/dynamodb-local.js';
import { createDynamoDbSupervisor } from './dynamodb/supervisor.js';
import { ensureTables } from './dynamodb/tables.js';
import { startHttpApi } from './gateway/http/http-api.js';
import { startWebSocketApi } from './gateway/websocket/websocket-api.js';
import { invoke } from './lambda/runtime.js';
import { createTokenIssuer, type TokenIssuer } from './auth/token-issuer.js';
import { startStreamPoller } from './streams/stream-poller.js';
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
  /** GET: stream poller, WebSocket/@connections and DynamoDB Local counters as JSON. */
  statsUrl: string;
  readyMs: number;
}

export interface LocalRuntime {
  info: LocalRuntimeInfo;
  /** Stops every component, DynamoDB Local last (`$disconnect` still needs it). */
  stop(): Promise<void>;
}

const pad = (name: string) => name.padEnd(12);

/**
 * Starts the whole product offline. Components start in dependency order:
 * web server and DynamoDB Local (in parallel), token issuer, handler
 * environment, HTTP and WebSocket APIs, and last the stream poller, so every
 * write after `start` resolves is broadcast.
 */
export async function start(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const startedAt = Date.now();
  const { log } = options;
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
    const [dynamo, web, webBuild] = await Promise.all([
      startDynamoDbLocal({
        dataDir: options.inMemory ? null : path.join(options.stateDir, 'dynamodb'),
        onUnexpectedExit: supervisor.onUnexpectedExit,
      }),
      startWebServer({
        port: options.ports.web,
        webRoot: path.join(options.projectRoot, 'web/dist'),
        routes: {
          '/config.json': (_req, res) =>
            config ? sendJson(res, 200, config) : sendJson(res, 503, { message: 'starting' }),
          '/auth/token': (req, res) => issuer!.handleTokenRequest(req, res),
          '/auth/.well-known/jwks.json': (req, res) => issuer!.handleJwksRequest(req, res),
          // Counters of the emulated AWS parts (fault tests and benchmarks read them; not an AWS API).
          '/_local/stats': (_req, res) => (stats ? sendJson(res, 200, stats()) : sendJson(res, 503, { message: 'starting' })),
        },
        onError: (err) => log(`[web] ${String(err)}`),
      }),
      buildWeb(),
    ]);
    supervisor.attach(dynamo);
    // Stops run in reverse: the supervisor stands down before DynamoDB Local is stopped on purpose.
    stops.push(() => dynamo.stop(), () => supervisor.stop(), () => web.close());
    log(`✔ ${pad('DynamoDB')} ${dynamo.endpoint} (${options.inMemory ? 'in memory' : path.relative(options.projectRoot, dynamo.dataDir!)}, ready in ${dynamo.startupMs} ms)`);
    log(`✔ ${pad('Web client')} built web/dist (${(webBuild.initialJs.gzipBytes / 1024).toFixed(1)} KB gzipped JS)`);

    const tablesClient = new DynamoDBClient({
      ...dynamo.clientConfig,
      requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
    });
    stops.push(async () => tablesClient.destroy());
    const tables = await ensureTables(tablesClient);
    if (!tables.tasks.LatestStreamArn) throw new Error('the tasks table has no stream');
    // Asked again when the stream disappears (an in-memory DynamoDB Local restarted and the table was recreated).
    const resolveStreamArn = async (): Promise<string> => {
      const { Table } = await tablesClient.send(new DescribeTableCommand({ TableName: TABLES.tasks.localName }));
      if (!Table?.LatestStreamArn) throw new Error('the tasks table has no stream');
      return Table.LatestStreamArn;
    };
    log(`✔ ${pad('Tables')} ${Object.values(TABLES).map((t) => t.localName).join(', ')} (from lib/definitions.ts)`);

    const webOrigin = new URL(web.url).origin;
    const issuerUrl = `${webOrigin}/auth`;
    issuer = await createTokenIssuer({
      issuer: issuerUrl,
      audience: LOCAL.audience,
      keyFile: path.join(options.stateDir, 'signing-key.json'),
    });
    const { jwksUri } = issuer;
    log(`✔ ${pad('Tokens')} POST ${issuerUrl}/token  (JWKS ${jwksUri})`);

    // The same variables CDK sets on the deployed functions (lib/definitions.ts ENV).
    Object.assign(process.env, {
      AWS_REGION: LOCAL.region,
      AWS_ACCESS_KEY_ID: dynamo.clientConfig.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: dynamo.clientConfig.credentials.secretAccessKey,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      TASKS_TABLE: TABLES.tasks.localName,
      CONNECTIONS_TABLE: TABLES.connections.localName,
      CHANGES_TABLE: TABLES.changes.localName,
      CHANGE_RETENTION_SECONDS: String(options.changeRetentionSeconds ?? CHANGE_FEED.defaultRetentionDays * 86_400),
      JWT_ISSUER: issuerUrl,
      JWT_AUDIENCE: LOCAL.audience,
      JWKS_URI: jwksUri,
    });

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

    const wsApi = await startWebSocketApi({
      port: options.ports.ws,
      invoke,
      ...(options.wsIdleTimeoutMs ? { idleTimeoutMs: options.wsIdleTimeoutMs } : {}),
      ...(options.wsMaxDurationMs ? { maxDurationMs: options.wsMaxDurationMs } : {}),
      ...(options.faultPostErrorRate || options.faultPostDropRate
        ? { faults: { postErrorRate: options.faultPostErrorRate ?? 0, postDropRate: options.faultPostDropRate ?? 0 } }
        : {}),
    });
    process.env.WS_MANAGEMENT_ENDPOINT = wsApi.managementEndpoint;
    // Closed before DynamoDB Local so every $disconnect can delete its row.
    stops.push(() => wsApi.close());
    log(`✔ ${pad('WebSocket')} ${wsApi.url}  (@connections at ${wsApi.managementEndpoint})`);

    const failureFile = path.join(options.stateDir, 'stream-failures.jsonl');
    const poller = await startStreamPoller({
      streamArn: resolveStreamArn,
      endpoint: dynamo.endpoint,
      invoke: (event) => invoke('broadcaster', event),
      failureFile,
      mapping: {
        ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
        ...(options.retryAttempts !== undefined ? { retryAttempts: options.retryAttempts } : {}),
      },
    });
    stops.push(() => poller.stop());
    stats = () => ({
      streams: poller.stats(),
      websocket: wsApi.stats(),
      dynamodb: { pid: dynamo.pid ?? null, running: dynamo.running, restarts: supervisor.restarts },
    });
    log(`✔ ${pad('Streams')} tasks → broadcaster  (on-failure: ${options.inMemory ? failureFile : path.relative(options.projectRoot, failureFile)})`);

    config = {
      apiUrl: httpApi.url,
      wsUrl: wsApi.url,
      auth: { mode: 'local', tokenUrl: `${issuerUrl}/token` },
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    };
    const readyMs = Date.now() - startedAt;
    log(`\nReady in ${(readyMs / 1000).toFixed(1)} s. Dashboard: ${web.url}\n`);

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
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
