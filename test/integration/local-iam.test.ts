import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ulid } from 'ulid';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DescribeTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  FUNCTIONS,
  LOCAL,
  TABLES,
  type FunctionDefinition,
  type FunctionName,
  type IamAction,
  type Permission,
} from '../../lib/definitions.js';
import { startWebSocketApi, type WebSocketApi } from '../../local/gateway/websocket/websocket-api.js';
import { connectionsCheck } from '../../local/iam/connections-check.js';
import { CredentialRegistry } from '../../local/iam/credentials.js';
import { createIamRecorder, startDynamoDbProxy, type DynamoDbProxy, type IamRecorder } from '../../local/iam/dynamodb-proxy.js';
import { createLambdaRuntime, type LambdaRuntime } from '../../local/lambda/lambda-runtime.js';
import { httpEvent } from '../unit/fixtures/http-events.js';
import '../support/stack-info.js';
import { WebSocket } from 'ws';

const stack = inject('stack');
const projectRoot = path.resolve(import.meta.dirname, '../..');

/** FUNCTIONS with one action removed from `fn`'s permissions: the wrong definition under test. */
function without(
  fn: FunctionName,
  action: IamAction,
  resource: (p: Permission) => boolean,
): Record<FunctionName, FunctionDefinition> {
  const permissions = FUNCTIONS[fn].permissions.map((p) =>
    resource(p) ? { ...p, actions: p.actions.filter((a) => a !== action) } : p,
  );
  return { ...FUNCTIONS, [fn]: { ...FUNCTIONS[fn], permissions } };
}
const onTable = (table: string) => (p: Permission) =>
  typeof p.resource === 'object' && 'table' in p.resource && p.resource.table === table;
const from = (definitions: Record<FunctionName, FunctionDefinition>) => (fn: FunctionName) => definitions[fn].permissions;

const admin = new DynamoDBClient({
  endpoint: stack.dynamodbEndpoint,
  region: LOCAL.region,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

describe('IAM checks of DynamoDB calls (a real SDK call through the checking proxy)', () => {
  const credentials = new CredentialRegistry();
  let real: DynamoDbProxy;
  let wrong: DynamoDbProxy;
  let wrongRecorder: IamRecorder;
  const clientOf = (proxy: DynamoDbProxy, fn: FunctionName, mapping = false) => ({
    endpoint: proxy.endpoint,
    region: LOCAL.region,
    credentials: mapping ? credentials.forEventSourceMapping(fn) : credentials.forFunction(fn),
    maxAttempts: 1,
  });

  beforeAll(async () => {
    wrongRecorder = createIamRecorder();
    real = await startDynamoDbProxy({
      upstream: stack.dynamodbEndpoint,
      credentials,
      permissionsOf: from(FUNCTIONS),
      recorder: createIamRecorder(),
    });
    wrong = await startDynamoDbProxy({
      upstream: stack.dynamodbEndpoint,
      credentials,
      permissionsOf: from(without('tasksApi', 'dynamodb:PutItem', onTable('changes'))),
      recorder: wrongRecorder,
    });
  });
  afterAll(async () => {
    await real?.close();
    await wrong?.close();
  });

  it('refuses tasksApi a PutItem on changes once the definition lacks it, with AccessDeniedException naming action and resource, and writes nothing', async () => {
    const item = { userId: { S: `iam-${ulid()}` }, changeKey: { S: `0000000000001#${ulid()}` } };
    const refused = new DynamoDBClient(clientOf(wrong, 'tasksApi'));
    const error = await refused
      .send(new PutItemCommand({ TableName: TABLES.changes.localName, Item: item }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'AccessDeniedException',
      message:
        'User: arn:aws:sts::000000000000:assumed-role/tasksApi-role/tasksApi is not authorized to perform: dynamodb:PutItem ' +
        'on resource: arn:aws:dynamodb:us-east-1:000000000000:table/changes because no identity-based policy allows the dynamodb:PutItem action',
      $metadata: { httpStatusCode: 400 },
    });
    expect((await admin.send(new GetItemCommand({ TableName: TABLES.changes.localName, Key: item }))).Item).toBeUndefined();
    expect(wrongRecorder.stats()).toMatchObject({ denied: 1 });
    // The rest of its definition still holds.
    await refused.send(
      new QueryCommand({
        TableName: TABLES.changes.localName,
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': item.userId },
      }),
    );

    // The real definition allows it: the same call through the proxy that checks FUNCTIONS.
    await new DynamoDBClient(clientOf(real, 'tasksApi')).send(
      new PutItemCommand({ TableName: TABLES.changes.localName, Item: item }),
    );
    expect((await admin.send(new GetItemCommand({ TableName: TABLES.changes.localName, Key: item }))).Item).toEqual(item);
  });

  it("refuses a function another function's table and management calls, and an unknown or missing key", async () => {
    const wsDefault = new DynamoDBClient(clientOf(real, 'wsDefault'));
    await expect(wsDefault.send(new DescribeTableCommand({ TableName: TABLES.tasks.localName }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('dynamodb:DescribeTable on resource: arn:aws:dynamodb:us-east-1:000000000000:table/tasks'),
    });
    const stranger = new DynamoDBClient({
      ...clientOf(real, 'wsDefault'),
      credentials: { accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x' },
    });
    await expect(stranger.send(new DescribeTableCommand({ TableName: TABLES.tasks.localName }))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
  });

  it('checks the stream poller as the event source mapping: GetRecords is refused once the role lacks it', async () => {
    const { Table } = await admin.send(new DescribeTableCommand({ TableName: TABLES.tasks.localName }));
    const streamArn = Table!.LatestStreamArn!;
    const read = async (proxy: DynamoDbProxy) => {
      const streams = new DynamoDBStreamsClient(clientOf(proxy, 'broadcaster', true));
      const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: StreamDescription!.Shards!.at(-1)!.ShardId!,
          ShardIteratorType: 'LATEST',
        }),
      );
      return streams.send(new GetRecordsCommand({ ShardIterator: ShardIterator!, Limit: 1 }));
    };
    await read(real);
    const noGetRecords = await startDynamoDbProxy({
      upstream: stack.dynamodbEndpoint,
      credentials,
      permissionsOf: from(
        without('broadcaster', 'dynamodb:GetRecords', (p) => typeof p.resource === 'object' && 'stream' in p.resource),
      ),
      recorder: createIamRecorder(),
    });
    try {
      await expect(read(noGetRecords)).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: `User: arn:aws:sts::000000000000:assumed-role/broadcaster-role/event-source-mapping is not authorized to perform: dynamodb:GetRecords on resource: ${streamArn} because no identity-based policy allows the dynamodb:GetRecords action`,
      });
    } finally {
      await noGetRecords.close();
    }
  });
});

describe('IAM checks of @connections calls', () => {
  const credentials = new CredentialRegistry();
  const connectionIds: string[] = [];
  let api: WebSocketApi;
  let definitions = FUNCTIONS;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    api = await startWebSocketApi({
      port: 0,
      apiId: 'iamtest123',
      authorizer: null,
      routes: { $connect: 'wsConnect' },
      invoke: async (_fn, event) => {
        connectionIds.push((event as { requestContext: { connectionId: string } }).requestContext.connectionId);
        return { statusCode: 200 };
      },
      authorizeManagement: connectionsCheck({
        apiId: 'iamtest123',
        credentials,
        permissionsOf: (fn) => definitions[fn].permissions,
        recorder: createIamRecorder(),
      }),
    });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await api?.close();
  });

  it('lets the broadcaster post, and refuses it once its definition lacks execute-api:ManageConnections', async () => {
    const socket = new WebSocket(api.url);
    sockets.push(socket);
    const received = new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const post = (fn: FunctionName) =>
      new ApiGatewayManagementApiClient({
        endpoint: api.managementEndpoint,
        region: LOCAL.region,
        credentials: credentials.forFunction(fn),
        maxAttempts: 1,
      }).send(new PostToConnectionCommand({ ConnectionId: connectionIds[0]!, Data: Buffer.from('{"type":"PONG"}') }));

    await post('broadcaster');
    expect(await received).toBe('{"type":"PONG"}');
    await expect(post('tasksApi')).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
      message: `User: arn:aws:sts::000000000000:assumed-role/tasksApi-role/tasksApi is not authorized to perform: execute-api:ManageConnections on resource: arn:aws:execute-api:us-east-1:000000000000:iamtest123/local/POST/@connections/${connectionIds[0]} because no identity-based policy allows the execute-api:ManageConnections action`,
    });

    definitions = without('broadcaster', 'execute-api:ManageConnections', () => true);
    await expect(post('broadcaster')).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
    });
  });
});

describe('the real handler bundle under a wrong definition', () => {
  let runtime: LambdaRuntime;
  let outRoot: string;
  const recorder = createIamRecorder();

  beforeAll(async () => {
    outRoot = await mkdtemp(path.join(os.tmpdir(), 'iam-handler-'));
    const wrong = without('tasksApi', 'dynamodb:PutItem', onTable('changes'));
    runtime = await createLambdaRuntime({
      projectRoot,
      outRoot,
      functions: { tasksApi: wrong.tasksApi },
      environmentValues: () => ({
        tasksTable: TABLES.tasks.localName,
        changesTable: TABLES.changes.localName,
        changeRetentionSeconds: '2592000',
      }),
      credentials: new CredentialRegistry(),
      dynamodbUpstream: () => stack.dynamodbEndpoint,
      recorder,
      logLevel: 'CRITICAL',
      incremental: false,
      log: () => undefined,
      output: () => undefined,
    });
    await runtime.build();
  }, 60_000);
  afterAll(async () => {
    await runtime?.stop();
    if (outRoot) await rm(outRoot, { recursive: true, force: true });
  });

  it("fails tasksApi's create with a 500 because its change-entry write is refused, and reads still work", async () => {
    const sub = `iam-${ulid()}`;
    const created = (await runtime.invoke(
      'tasksApi',
      httpEvent({ routeKey: 'POST /tasks', body: { title: 'refused' }, sub }),
    )) as {
      statusCode: number;
    };
    expect(created.statusCode).toBe(500);
    expect(recorder.stats().recentDenials.map((d) => `${d.principal} ${d.action} ${d.resource}`)).toEqual([
      'arn:aws:sts::000000000000:assumed-role/tasksApi-role/tasksApi dynamodb:PutItem arn:aws:dynamodb:us-east-1:000000000000:table/changes',
    ]);
    const listed = (await runtime.invoke('tasksApi', httpEvent({ routeKey: 'GET /tasks', sub }))) as {
      statusCode: number;
      body: string;
    };
    expect(listed.statusCode).toBe(200);
    expect(JSON.parse(listed.body).tasks).toEqual([]);
    expect(recorder.stats().allowed).toBeGreaterThan(0);
  });
});
