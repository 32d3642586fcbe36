/**
 * The single source of truth that both the CDK stack (lib/) and the offline
 * runtime (local/) read: tables, functions, routes, event source mapping and
 * the AWS limits the emulator reproduces. Change a value here and both the
 * deployed product and `npm start` change with it.
 *
 * This module must stay free of aws-cdk-lib and of Node-only imports so the
 * local runtime can load it without pulling in CDK.
 */

export type AttributeType = 'S' | 'N';

export interface KeyDefinition {
  readonly name: string;
  readonly type: AttributeType;
}

export interface TableDefinition {
  /** Construct id in CDK and the table name used by the local runtime. */
  readonly id: string;
  readonly localName: string;
  readonly partitionKey: KeyDefinition;
  readonly sortKey: KeyDefinition;
  /** DynamoDB Streams view type; absent means no stream. */
  readonly stream?: 'NEW_AND_OLD_IMAGES';
  /** TTL attribute (epoch seconds); absent means no TTL. */
  readonly timeToLiveAttribute?: string;
}

export const TABLES = {
  tasks: {
    id: 'TasksTable',
    localName: 'tasks',
    partitionKey: { name: 'userId', type: 'S' },
    sortKey: { name: 'taskId', type: 'S' },
    stream: 'NEW_AND_OLD_IMAGES',
    /** Tombstones of deleted tasks expire here (delete time + CHANGE_FEED retention). */
    timeToLiveAttribute: 'expiresAt',
  },
  /**
   * The change feed's entries: one small item per task write, written before
   * the task item, read with strongly consistent Queries (docs/design.md,
   * "Change feed"). No stream: nothing is broadcast from it.
   */
  changes: {
    id: 'ChangesTable',
    localName: 'changes',
    partitionKey: { name: 'userId', type: 'S' },
    sortKey: { name: 'changeKey', type: 'S' },
    timeToLiveAttribute: 'expiresAt',
  },
  connections: {
    id: 'ConnectionsTable',
    localName: 'connections',
    partitionKey: { name: 'userId', type: 'S' },
    sortKey: { name: 'connectionId', type: 'S' },
    timeToLiveAttribute: 'expiresAt',
  },
} as const satisfies Record<string, TableDefinition>;

/** Names of the environment variables the handlers read (validated in lambdas/env.ts). */
export const ENV = {
  tasksTable: 'TASKS_TABLE',
  connectionsTable: 'CONNECTIONS_TABLE',
  changesTable: 'CHANGES_TABLE',
  /** Seconds tombstones and change entries are kept; older sync tokens get 410 RESYNC_REQUIRED. */
  changeRetentionSeconds: 'CHANGE_RETENTION_SECONDS',
  /** Expected `iss` of every JWT (Cognito user pool URL, or the local issuer). */
  jwtIssuer: 'JWT_ISSUER',
  /** Expected audience: `aud` (ID token) or `client_id` (access token), like the HTTP API JWT authorizer. */
  jwtAudience: 'JWT_AUDIENCE',
  /** JWKS URL; defaults to `${JWT_ISSUER}/.well-known/jwks.json` (Cognito's location). */
  jwksUri: 'JWKS_URI',
  /** `@connections` endpoint, `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`. */
  wsManagementEndpoint: 'WS_MANAGEMENT_ENDPOINT',
  /** Only set by the local runtime: DynamoDB Local's URL. Unset on AWS. */
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  serviceName: 'POWERTOOLS_SERVICE_NAME',
} as const;

export type FunctionName =
  | 'tasksApi'
  | 'wsAuthorizer'
  | 'wsConnect'
  | 'wsDisconnect'
  | 'wsDefault'
  | 'broadcaster';

export interface FunctionDefinition {
  /** Path of the handler file from the project root; the export is always `handler`. */
  readonly entry: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Which of the ENV variables this function needs. */
  readonly env: readonly (keyof typeof ENV)[];
}

export const FUNCTIONS: Record<FunctionName, FunctionDefinition> = {
  tasksApi: {
    entry: 'lambdas/tasks-api.ts',
    memoryMb: 512,
    timeoutSeconds: 10,
    env: ['tasksTable', 'changesTable', 'changeRetentionSeconds'],
  },
  wsAuthorizer: {
    entry: 'lambdas/ws-authorizer.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    env: ['jwtIssuer', 'jwtAudience', 'jwksUri'],
  },
  wsConnect: {
    entry: 'lambdas/ws-connect.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    env: ['connectionsTable'],
  },
  wsDisconnect: {
    entry: 'lambdas/ws-disconnect.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    env: ['connectionsTable'],
  },
  wsDefault: {
    entry: 'lambdas/ws-default.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    // `ping` with `since` reads the change feed to answer `behind`.
    env: ['changesTable', 'changeRetentionSeconds'],
  },
  broadcaster: {
    entry: 'lambdas/broadcaster.ts',
    memoryMb: 512,
    timeoutSeconds: 30,
    env: ['connectionsTable', 'wsManagementEndpoint'],
  },
};

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRoute {
  readonly method: HttpMethod;
  /** API Gateway route path, with `{param}` placeholders. */
  readonly path: string;
  readonly fn: FunctionName;
}

/** HTTP API routes; all behind the JWT authorizer, payload format 2.0. */
export const HTTP_ROUTES: readonly HttpRoute[] = [
  { method: 'GET', path: '/tasks', fn: 'tasksApi' },
  { method: 'GET', path: '/tasks/changes', fn: 'tasksApi' },
  { method: 'POST', path: '/tasks', fn: 'tasksApi' },
  { method: 'GET', path: '/tasks/{id}', fn: 'tasksApi' },
  { method: 'PUT', path: '/tasks/{id}', fn: 'tasksApi' },
  { method: 'PATCH', path: '/tasks/{id}/complete', fn: 'tasksApi' },
  { method: 'DELETE', path: '/tasks/{id}', fn: 'tasksApi' },
];

export const HTTP_CORS = {
  allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as HttpMethod[] | string[],
  allowHeaders: ['authorization', 'content-type', 'if-match'],
  exposeHeaders: ['etag'],
  maxAgeSeconds: 600,
};

export const WS_ROUTES = {
  $connect: 'wsConnect',
  $disconnect: 'wsDisconnect',
  $default: 'wsDefault',
} as const satisfies Record<string, FunctionName>;

export const WS_AUTHORIZER = {
  fn: 'wsAuthorizer' as FunctionName,
  /** API Gateway identity source: the handshake is refused (401) when it is missing. */
  identitySource: 'route.request.querystring.token',
  queryParameter: 'token',
};

/** `$request.body.action`: the WebSocket API's route selection expression. */
export const WS_ROUTE_SELECTION_EXPRESSION = '$request.body.action';

/**
 * Event source mapping of the broadcaster on the tasks stream. The local
 * stream poller applies the same values.
 */
export const STREAM_MAPPING = {
  batchSize: 100,
  /** 0: invoke as soon as records arrive; latency matters more than batching here. */
  maxBatchingWindowSeconds: 0,
  /** Attempts after the first failure before the batch goes to the on-failure destination. */
  retryAttempts: 3,
  bisectBatchOnError: true,
  reportBatchItemFailures: true,
  maxRecordAgeSeconds: 3600,
  parallelizationFactor: 1,
  startingPosition: 'LATEST',
  /** AWS polls each shard up to four times a second when there are no records. */
  pollIntervalMs: 250,
} as const;

/** API Gateway and product limits the handlers and the emulator both apply. */
export const LIMITS = {
  /** Contract: a request body over this is 413. */
  httpBodyMaxBytes: 16_384,
  /** API Gateway WebSocket frame limit (128 KB); larger frames close the socket with 1009. */
  wsMessageMaxBytes: 128 * 1024,
  /** API Gateway WebSocket idle timeout (10 minutes). */
  wsIdleTimeoutSeconds: 600,
  /** API Gateway WebSocket maximum connection duration (2 hours). */
  wsMaxConnectionSeconds: 7200,
  /** Connection rows expire this long after connect: 2 h plus a margin. */
  connectionTtlSeconds: 7200 + 900,
  /** Largest coalesced BATCH frame the broadcaster sends. */
  batchFrameMaxBytes: 32 * 1024,
  /** How many `@connections` posts the broadcaster runs at once. */
  postConcurrency: 32,
  listDefaultLimit: 100,
  listMaxLimit: 100,
  titleMaxChars: 200,
  descriptionMaxChars: 2000,
} as const;

/**
 * The change feed (docs/design.md, "Change feed"). A sync token means "every
 * change stamped before t is reflected"; a changes request that starts at R
 * answers max(t, R - safety window).
 */
export const CHANGE_FEED = {
  /**
   * How long after its stamp (the tasks function's clock when the request
   * started) a task write can still commit: the function's timeout, after
   * which Lambda stops it and no further SDK attempt starts, plus a margin for
   * a request DynamoDB received just before and for clock skew between hosts.
   */
  safetyWindowSeconds: FUNCTIONS.tasksApi.timeoutSeconds + 5,
  /** Default retention of tombstones and change entries (CDK context `tombstoneRetentionDays`). */
  defaultRetentionDays: 30,
  /** Shortest retention accepted: a token is already one safety window old when it is issued. */
  minRetentionSeconds: FUNCTIONS.tasksApi.timeoutSeconds + 10,
  changesDefaultLimit: 1000,
  changesMaxLimit: 1000,
} as const;

/** Local runtime defaults (ports are PORT, PORT+1, PORT+2 unless given). */
export const LOCAL = {
  defaultPort: 3000,
  region: 'us-east-1',
  /** Audience of locally issued tokens; the local config's JWT_AUDIENCE. */
  audience: 'local-dashboard',
  stage: 'local',
} as const;
