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
  readonly stream?: 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY';
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
    /** Presence: a row put ($connect) or deleted ($disconnect, 410, TTL) tells the user's devices the new count. The keys name the user. */
    stream: 'KEYS_ONLY',
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

export type FunctionName = 'tasksApi' | 'wsAuthorizer' | 'wsConnect' | 'wsDisconnect' | 'wsDefault' | 'broadcaster' | 'presence';

/**
 * Queues of the stack. The only one is the stream event source mapping's
 * on-failure destination (an SQS queue when deployed; the local runtime
 * appends to `.local/<localFile>` instead).
 */
export const QUEUES = {
  broadcastFailures: {
    /** Construct id in CDK. */
    id: 'BroadcastFailures',
    localFile: 'stream-failures.jsonl',
  },
} as const;

export type TableKey = keyof typeof TABLES;
export type QueueKey = keyof typeof QUEUES;

/** `@connections` methods: POST sends a frame, GET describes a connection, DELETE closes it. */
export type ManageConnectionsMethod = 'POST' | 'GET' | 'DELETE';

/**
 * One resource of this stack, named by its definition rather than by ARN so
 * that CDK (lib/constructs/task-function.ts) and the local runtime
 * (local/iam/) each resolve it to their own ARN:
 *
 * - `{ table }`: the table itself (`…:table/<name>`), not its indexes;
 * - `{ table, index }`: one index (`…:table/<name>/index/<index>`), `'*'` for all;
 * - `{ stream }`: the table's stream (`…:table/<name>/stream/*`);
 * - `{ connections }`: `@connections/*` of the WebSocket API's stage, one method;
 * - `{ queue }`: a queue of QUEUES;
 * - `'*'`: every resource, only for actions without resource-level permissions
 *   (dynamodb:ListStreams).
 */
export type PermissionResource =
  | { readonly table: TableKey; readonly index?: string }
  | { readonly stream: TableKey }
  | { readonly connections: ManageConnectionsMethod }
  | { readonly queue: QueueKey }
  | '*';

export type IamAction = `dynamodb:${string}` | 'execute-api:ManageConnections' | `sqs:${string}`;

/** Allow `actions` on `resource`. Nothing else is ever allowed: IAM denies by default. */
export interface Permission {
  readonly actions: readonly IamAction[];
  readonly resource: PermissionResource;
  /**
   * Who uses it: the handler (default) or the stream event source mapping,
   * which AWS runs with the function's role (reading the stream, sending to
   * the on-failure destination). Both are on the same role; locally the
   * stream poller acts as the mapping and is checked against this role too.
   */
  readonly usedBy?: 'handler' | 'eventSourceMapping';
}

export interface FunctionDefinition {
  /** Path of the handler file from the project root; the export is always `handler`. */
  readonly entry: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Which of the ENV variables this function needs. */
  readonly env: readonly (keyof typeof ENV)[];
  /**
   * Everything the function's role may do besides writing its own log group.
   * CDK grants exactly these; `npm start` refuses any other AWS call with
   * AccessDeniedException (local/iam/). Least privilege: only what the
   * handler code calls.
   */
  readonly permissions: readonly Permission[];
}

export const FUNCTIONS: Record<FunctionName, FunctionDefinition> = {
  tasksApi: {
    entry: 'lambdas/tasks-api.ts',
    memoryMb: 512,
    timeoutSeconds: 10,
    env: ['tasksTable', 'changesTable', 'changeRetentionSeconds'],
    permissions: [
      // lambdas/tasks: no Scan, no DeleteItem (a delete leaves a tombstone; TTL removes it), no batch
      // writes or transactions, no table management. BatchGetItem serves the change feed.
      {
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
        resource: { table: 'tasks' },
      },
      // lambdas/tasks/change-log.ts: record and read change entries.
      { actions: ['dynamodb:PutItem', 'dynamodb:Query'], resource: { table: 'changes' } },
    ],
  },
  wsAuthorizer: {
    entry: 'lambdas/ws-authorizer.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    env: ['jwtIssuer', 'jwtAudience', 'jwksUri'],
    // Verifies JWTs against the issuer's JWKS over HTTPS: no AWS call at all.
    permissions: [],
  },
  wsConnect: {
    entry: 'lambdas/ws-connect.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    env: ['connectionsTable'],
    permissions: [{ actions: ['dynamodb:PutItem'], resource: { table: 'connections' } }],
  },
  wsDisconnect: {
    entry: 'lambdas/ws-disconnect.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    env: ['connectionsTable'],
    permissions: [{ actions: ['dynamodb:DeleteItem'], resource: { table: 'connections' } }],
  },
  wsDefault: {
    entry: 'lambdas/ws-default.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    // `ping` with `since` reads the change feed to answer `behind`; `hello` counts the user's
    // devices; a message after the token's expiry closes the connection through @connections.
    env: ['changesTable', 'changeRetentionSeconds', 'connectionsTable', 'wsManagementEndpoint'],
    permissions: [
      // The heartbeat's `behind` is one Query (Limit 1, COUNT) on the changes table.
      { actions: ['dynamodb:Query'], resource: { table: 'changes' } },
      // `hello`: AUTH_SUCCESS `devices` is one Query of the user's connections.
      { actions: ['dynamodb:Query'], resource: { table: 'connections' } },
      // TOKEN_EXPIRED: the ERROR frame, then the close (the route response cannot close a connection).
      { actions: ['execute-api:ManageConnections'], resource: { connections: 'POST' } },
      { actions: ['execute-api:ManageConnections'], resource: { connections: 'DELETE' } },
    ],
  },
  broadcaster: {
    entry: 'lambdas/broadcaster.ts',
    memoryMb: 512,
    timeoutSeconds: 30,
    env: ['connectionsTable', 'wsManagementEndpoint'],
    permissions: [
      // One Query per distinct user per batch; DeleteItem when @connections answers 410 Gone.
      { actions: ['dynamodb:Query', 'dynamodb:DeleteItem'], resource: { table: 'connections' } },
      // It only posts; a 410 is handled in the table, not by DELETE @connections.
      { actions: ['execute-api:ManageConnections'], resource: { connections: 'POST' } },
      // The event source mapping reads the tasks stream with this role (the actions Lambda requires).
      {
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resource: { stream: 'tasks' },
        usedBy: 'eventSourceMapping',
      },
      // ListStreams has no resource-level permissions (Service Authorization Reference).
      { actions: ['dynamodb:ListStreams'], resource: '*', usedBy: 'eventSourceMapping' },
      // ...and sends batches it gives up on to its on-failure destination with this role too.
      {
        actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resource: { queue: 'broadcastFailures' },
        usedBy: 'eventSourceMapping',
      },
    ],
  },
  presence: {
    entry: 'lambdas/presence.ts',
    memoryMb: 256,
    timeoutSeconds: 10,
    env: ['connectionsTable', 'wsManagementEndpoint'],
    permissions: [
      // One Query per distinct user per batch: the count, and where to send it.
      { actions: ['dynamodb:Query'], resource: { table: 'connections' } },
      // It only posts PRESENCE; rows of gone connections are the broadcaster's, $disconnect's and TTL's to remove.
      { actions: ['execute-api:ManageConnections'], resource: { connections: 'POST' } },
      {
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resource: { stream: 'connections' },
        usedBy: 'eventSourceMapping',
      },
      { actions: ['dynamodb:ListStreams'], resource: '*', usedBy: 'eventSourceMapping' },
    ],
  },
};

/**
 * The environment CDK gives function `fn` from its FUNCTIONS[fn].env names:
 * every name it needs must have a value, and it gets nothing else, so a
 * handler never sees a variable another function needs. The local runtime
 * builds each worker's environment with the same function (passing the
 * `names` of the definition it runs, which a reload may have changed).
 */
export function environmentFor(
  fn: FunctionName,
  values: Partial<Record<keyof typeof ENV, string>>,
  names: readonly (keyof typeof ENV)[] = FUNCTIONS[fn].env,
): Record<string, string> {
  const env: Record<string, string> = {};
  const missing: string[] = [];
  for (const key of names) {
    const value = values[key];
    if (value === undefined || value === '') missing.push(ENV[key]);
    else env[ENV[key]] = value;
  }
  if (missing.length > 0) {
    throw new Error(`Function ${fn} needs ${missing.join(', ')} but no value was given`);
  }
  return env;
}

/** Variables CDK sets on every function besides its FUNCTIONS[fn].env ones (and the local runtime too). */
export function commonEnvironment(fn: FunctionName, logLevel: string): Record<string, string> {
  return {
    [ENV.serviceName]: fn,
    [ENV.logLevel]: logLevel,
    // Stack traces point at the TypeScript sources through the bundled source map.
    NODE_OPTIONS: '--enable-source-maps',
  };
}

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
  /** The function it invokes; the mapping reads the stream and sends failures with that function's role. */
  fn: 'broadcaster',
  /** The table whose stream it reads. */
  table: 'tasks',
  /** Its on-failure destination. */
  onFailure: 'broadcastFailures',
} as const;

/**
 * Event source mapping of the presence function on the connections stream
 * (docs/design.md, "Presence"). A PRESENCE frame is a recount, so a batch is
 * worth little once a newer connect or disconnect has happened: few retries,
 * a short record age, and no on-failure destination (a lost batch leaves a
 * count stale until the user's next connect or disconnect).
 */
export const PRESENCE_MAPPING = {
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  retryAttempts: 2,
  bisectBatchOnError: false,
  reportBatchItemFailures: true,
  maxRecordAgeSeconds: 60,
  parallelizationFactor: 1,
  startingPosition: 'LATEST',
  pollIntervalMs: STREAM_MAPPING.pollIntervalMs,
  fn: 'presence',
  table: 'connections',
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
  /**
   * How long a connection may still be in its handshake after `$connect`
   * stored its row (the authorizer and `$connect` run before it opens, each
   * within its timeout). API Gateway answers 410 to posts until it opens, so
   * the broadcaster only deletes rows older than this on a 410.
   */
  connectGraceSeconds: FUNCTIONS.wsAuthorizer.timeoutSeconds + FUNCTIONS.wsConnect.timeoutSeconds,
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

/**
 * CloudWatch metrics the handlers emit (Powertools Metrics, embedded metric
 * format: log lines, no API calls), read by the CDK dashboard and alarms and
 * by the local operations page. Every metric has the single dimension
 * `service` (the function): never a user or connection id.
 */
export const METRICS = {
  namespace: 'TaskSync',
  /** Broadcaster: post time minus the event's `at` (the task's updatedAt), one value per event per connection. */
  propagationLag: 'PropagationLag',
  /** Broadcaster: connections that got their frames / answered 410 / failed after the SDK's retries. */
  postsDelivered: 'PostsDelivered',
  postsGone: 'PostsGone',
  postsFailed: 'PostsFailed',
  /** Broadcaster, one value per stream batch. */
  recordsPerBatch: 'RecordsPerBatch',
  usersPerBatch: 'UsersPerBatch',
  /** Broadcaster: frames posted to one connection for one batch (coalescing at work when far below records). */
  framesPerConnection: 'FramesPerConnection',
  /** Tasks API: successful creates, updates, completions and deletes. */
  taskWrites: 'TaskWrites',
  /** Tasks API: 412 (stale If-Match) and 409 (create conflicts, deleted ids). */
  preconditionFailed: 'PreconditionFailed',
  conflicts: 'Conflicts',
  /** Tasks API change feed: entries answered and pages served. */
  changeFeedEntries: 'ChangeFeedEntries',
  changeFeedPages: 'ChangeFeedPages',
  /** Tasks API: 410 RESYNC_REQUIRED answers (a client must list everything again). */
  resyncRequired: 'ResyncRequired',
  /** WebSocket authorizer: handshakes refused. */
  authorizerRefusals: 'AuthorizerRefusals',
  /** Every function: Powertools' cold start count. */
  coldStart: 'ColdStart',
  /** The `service` dimension of each instrumented function. */
  services: { tasksApi: 'tasks-api', broadcaster: 'broadcaster', wsAuthorizer: 'ws-authorizer' },
} as const;
