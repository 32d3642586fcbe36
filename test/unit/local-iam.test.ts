import { describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionName, type Permission } from '../../lib/definitions.js';
import { accessKeyIdOf, CredentialRegistry } from '../../local/iam/credentials.js';
import { dynamoDbChecks } from '../../local/iam/dynamodb-operations.js';
import { mappingProblem } from '../../local/iam/event-source-mapping.js';
import { authorize, isAllowed, tableArn, type AccessCheck } from '../../local/iam/policy.js';

const STREAM = 'arn:aws:dynamodb:ddblocal:000000000000:table/tasks/stream/2026-12-03T08:32:43.811';
const permissionsOf = (fn: FunctionName) => FUNCTIONS[fn].permissions;
const credentials = new CredentialRegistry();
const principal = (fn: FunctionName) => credentials.principalOf(credentials.forFunction(fn).accessKeyId)!;
const allowed = (fn: FunctionName, target: string, body: unknown) =>
  authorize(permissionsOf, principal(fn), dynamoDbChecks(target, body)) === undefined;

describe('what a DynamoDB request needs IAM to allow', () => {
  it('names the table (or the table in a TableName ARN) with the operation as action', () => {
    expect(dynamoDbChecks('DynamoDB_20120810.PutItem', { TableName: 'changes', Item: {} })).toEqual([
      { action: 'dynamodb:PutItem', resource: { kind: 'table', table: 'changes', arn: tableArn('changes') } },
    ]);
    expect(
      dynamoDbChecks('DynamoDB_20120810.GetItem', { TableName: 'arn:aws:dynamodb:us-east-1:000000000000:table/tasks' }),
    ).toEqual([{ action: 'dynamodb:GetItem', resource: { kind: 'table', table: 'tasks', arn: tableArn('tasks') } }]);
  });

  it('names the index of a Query or Scan with IndexName', () => {
    expect(dynamoDbChecks('DynamoDB_20120810.Query', { TableName: 'tasks', IndexName: 'byTime' })).toEqual([
      {
        action: 'dynamodb:Query',
        resource: { kind: 'table', table: 'tasks', index: 'byTime', arn: `${tableArn('tasks')}/index/byTime` },
      },
    ]);
  });

  it('checks every table of a batch, and each transaction item with its own action', () => {
    expect(
      dynamoDbChecks('DynamoDB_20120810.BatchGetItem', { RequestItems: { tasks: {}, changes: {} } }).map(
        (c) => `${c.action} ${c.resource.arn}`,
      ),
    ).toEqual([`dynamodb:BatchGetItem ${tableArn('tasks')}`, `dynamodb:BatchGetItem ${tableArn('changes')}`]);
    const transact = dynamoDbChecks('DynamoDB_20120810.TransactWriteItems', {
      TransactItems: [
        { Put: { TableName: 'changes' } },
        { Update: { TableName: 'tasks' } },
        { ConditionCheck: { TableName: 'tasks' } },
      ],
    });
    expect(transact.map((c) => `${c.action} ${c.resource.arn}`)).toEqual([
      `dynamodb:PutItem ${tableArn('changes')}`,
      `dynamodb:UpdateItem ${tableArn('tasks')}`,
      `dynamodb:ConditionCheckItem ${tableArn('tasks')}`,
    ]);
  });

  it('names the stream of DescribeStream, GetShardIterator and GetRecords (from the shard iterator) and * for ListStreams', () => {
    expect(dynamoDbChecks('DynamoDBStreams_20120810.GetRecords', { ShardIterator: `${STREAM}|001|c2hhcmQ=` })).toEqual([
      { action: 'dynamodb:GetRecords', resource: { kind: 'stream', table: 'tasks', arn: STREAM } },
    ]);
    expect(dynamoDbChecks('DynamoDBStreams_20120810.DescribeStream', { StreamArn: STREAM })[0]!.resource).toEqual({
      kind: 'stream',
      table: 'tasks',
      arn: STREAM,
    });
    expect(dynamoDbChecks('DynamoDBStreams_20120810.ListStreams', { TableName: 'tasks' })).toEqual([
      { action: 'dynamodb:ListStreams', resource: { kind: 'any', arn: '*' } },
    ]);
  });

  it('reads PartiQL statements as PartiQL actions on the table they name', () => {
    expect(
      dynamoDbChecks('DynamoDB_20120810.ExecuteStatement', { Statement: 'DELETE FROM "connections" WHERE userId = ?' }),
    ).toEqual([
      { action: 'dynamodb:PartiQLDelete', resource: { kind: 'table', table: 'connections', arn: tableArn('connections') } },
    ]);
  });

  it('treats a request naming no table as one on every resource (*), which only a * grant allows', () => {
    expect(dynamoDbChecks('DynamoDB_20120810.ListTables', {})).toEqual([
      { action: 'dynamodb:ListTables', resource: { kind: 'any', arn: '*' } },
    ]);
    expect(dynamoDbChecks('DynamoDB_20120810.PutItem', {})[0]!.resource.kind).toBe('any');
  });
});

describe('the definitions as IAM evaluates them', () => {
  it('allows each function exactly its calls: tasksApi writes change entries, wsDefault only queries them', () => {
    expect(allowed('tasksApi', 'DynamoDB_20120810.PutItem', { TableName: 'changes' })).toBe(true);
    expect(allowed('tasksApi', 'DynamoDB_20120810.BatchGetItem', { RequestItems: { tasks: {} } })).toBe(true);
    expect(allowed('tasksApi', 'DynamoDB_20120810.DeleteItem', { TableName: 'tasks' })).toBe(false);
    expect(allowed('tasksApi', 'DynamoDB_20120810.Scan', { TableName: 'tasks' })).toBe(false);
    expect(allowed('tasksApi', 'DynamoDB_20120810.BatchGetItem', { RequestItems: { tasks: {}, connections: {} } })).toBe(false);
    expect(allowed('wsDefault', 'DynamoDB_20120810.Query', { TableName: 'changes' })).toBe(true);
    expect(allowed('wsDefault', 'DynamoDB_20120810.PutItem', { TableName: 'changes' })).toBe(false);
    expect(allowed('wsConnect', 'DynamoDB_20120810.PutItem', { TableName: 'connections' })).toBe(true);
    expect(allowed('wsConnect', 'DynamoDB_20120810.DeleteItem', { TableName: 'connections' })).toBe(false);
    expect(allowed('wsAuthorizer', 'DynamoDB_20120810.GetItem', { TableName: 'connections' })).toBe(false);
  });

  it('grants a table, not its indexes, unless the permission names the index (or all of them)', () => {
    const check: AccessCheck = {
      action: 'dynamodb:Query',
      resource: { kind: 'table', table: 'tasks', index: 'byTime', arn: '' },
    };
    expect(isAllowed([{ actions: ['dynamodb:Query'], resource: { table: 'tasks' } }], check)).toBe(false);
    expect(isAllowed([{ actions: ['dynamodb:Query'], resource: { table: 'tasks', index: 'byTime' } }], check)).toBe(true);
    expect(isAllowed([{ actions: ['dynamodb:Query'], resource: { table: 'tasks', index: '*' } }], check)).toBe(true);
    expect(isAllowed([{ actions: ['dynamodb:*'], resource: { table: 'tasks', index: '*' } }], check)).toBe(true);
  });

  it('lets the broadcaster post to @connections but not delete connections through it', () => {
    const post: AccessCheck = {
      action: 'execute-api:ManageConnections',
      resource: { kind: 'connections', method: 'POST', arn: '' },
    };
    expect(isAllowed(FUNCTIONS.broadcaster.permissions, post)).toBe(true);
    expect(
      isAllowed(FUNCTIONS.broadcaster.permissions, {
        ...post,
        resource: { ...post.resource, method: 'DELETE' } as AccessCheck['resource'],
      }),
    ).toBe(false);
    expect(isAllowed(FUNCTIONS.tasksApi.permissions, post)).toBe(false);
  });

  it("refuses with AWS's message, naming the role session, the action and the resource", () => {
    const denial = authorize(
      permissionsOf,
      principal('wsDefault'),
      dynamoDbChecks('DynamoDB_20120810.PutItem', { TableName: 'changes' }),
    );
    expect(denial?.message).toBe(
      'User: arn:aws:sts::000000000000:assumed-role/wsDefault-role/wsDefault is not authorized to perform: dynamodb:PutItem ' +
        'on resource: arn:aws:dynamodb:us-east-1:000000000000:table/changes because no identity-based policy allows the dynamodb:PutItem action',
    );
  });

  it('accepts the event source mapping only when the role can read the stream and send to the destination', () => {
    const mapping = credentials.principalOf(credentials.forEventSourceMapping('broadcaster').accessKeyId)!;
    expect(mappingProblem(permissionsOf, mapping, STREAM, 'tasks', 'broadcastFailures')).toBeUndefined();
    const without =
      (drop: string) =>
      (fn: FunctionName): readonly Permission[] =>
        FUNCTIONS[fn].permissions.map((p) => ({ ...p, actions: p.actions.filter((a) => a !== drop) }));
    expect(mappingProblem(without('dynamodb:GetRecords'), mapping, STREAM, 'tasks', 'broadcastFailures')).toMatch(
      /^InvalidParameterValueException: Cannot access stream arn:aws:dynamodb:ddblocal:000000000000:table\/tasks\/stream\/.* GetRecords, GetShardIterator, DescribeStream, and ListStreams/,
    );
    expect(mappingProblem(without('dynamodb:ListStreams'), mapping, STREAM, 'tasks', 'broadcastFailures')).toMatch(
      /Cannot access stream/,
    );
    expect(mappingProblem(without('sqs:SendMessage'), mapping, STREAM, 'tasks', 'broadcastFailures')).toMatch(
      /SendMessage on SQS/,
    );
  });
});

describe('credentials', () => {
  it('gives each function its own key, named after it, and knows who signed a SigV4 header', () => {
    const registry = new CredentialRegistry();
    const tasks = registry.forFunction('tasksApi');
    expect(tasks.accessKeyId).toBe('ASIALOCALTASKSAPI');
    expect(registry.forFunction('tasksApi')).toEqual(tasks);
    expect(registry.forFunction('wsConnect').accessKeyId).not.toBe(tasks.accessKeyId);
    const header = `AWS4-HMAC-SHA256 Credential=${tasks.accessKeyId}/20261203/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc`;
    expect(registry.principalOf(accessKeyIdOf(header)!)).toMatchObject({ kind: 'function', fn: 'tasksApi' });
    expect(registry.principalOf('local')?.kind).toBe('admin');
    expect(registry.principalOf('AKIAUNKNOWN')).toBeUndefined();
    expect(accessKeyIdOf(undefined)).toBeUndefined();
  });
});
