import type { IamAction } from '../../lib/definitions.js';
import { tableArn, type AccessCheck, type RequestResource } from './policy.js';

/**
 * What one DynamoDB or DynamoDB Streams JSON request needs IAM to allow,
 * from its `X-Amz-Target` (`DynamoDB_20120810.PutItem`,
 * `DynamoDBStreams_20120810.GetRecords`) and body: one check per table, index
 * or stream it names, with the action AWS authorizes for it (a transaction's
 * Put needs dynamodb:PutItem on its table, and so on).
 */
export function dynamoDbChecks(target: string, body: unknown): AccessCheck[] {
  const dot = target.indexOf('.');
  const service = target.slice(0, dot);
  const operation = target.slice(dot + 1);
  const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const action = `dynamodb:${operation}` as IamAction;
  if (service.startsWith('DynamoDBStreams')) return streamChecks(action, operation, input);

  switch (operation) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys(asRecord(input.RequestItems)).map((name) => ({ action, resource: table(name) }));
    case 'TransactGetItems':
      return items(input.TransactItems).map((item) => ({
        action: 'dynamodb:GetItem',
        resource: table(asRecord(item.Get).TableName),
      }));
    case 'TransactWriteItems':
      return items(input.TransactItems).flatMap((item) => {
        const checks: AccessCheck[] = [];
        const add = (key: string, itemAction: IamAction) => {
          if (item[key] !== undefined) checks.push({ action: itemAction, resource: table(asRecord(item[key]).TableName) });
        };
        add('Put', 'dynamodb:PutItem');
        add('Update', 'dynamodb:UpdateItem');
        add('Delete', 'dynamodb:DeleteItem');
        add('ConditionCheck', 'dynamodb:ConditionCheckItem');
        return checks;
      });
    case 'ExecuteStatement':
      return [partiQl(input.Statement)];
    case 'BatchExecuteStatement':
      return items(input.Statements).map((s) => partiQl(s.Statement));
    case 'ExecuteTransaction':
      return items(input.TransactStatements).map((s) => partiQl(s.Statement));
    case 'ListTables':
    case 'DescribeLimits':
    case 'DescribeEndpoints':
    case 'ListBackups':
    case 'ListGlobalTables':
    case 'ListExports':
    case 'ListImports':
      return [{ action, resource: ANY }];
    default: {
      if (typeof input.TableName !== 'string') return [{ action, resource: ANY }];
      const index =
        typeof input.IndexName === 'string' && (operation === 'Query' || operation === 'Scan') ? input.IndexName : undefined;
      return [{ action, resource: table(input.TableName, index) }];
    }
  }
}

const ANY: RequestResource = { kind: 'any', arn: '*' };

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function items(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.map(asRecord) : [];
}

/** A TableName, which may also be the table's ARN. */
function table(name: unknown, index?: string): RequestResource {
  if (typeof name !== 'string' || name === '') return ANY;
  const fromArn = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)/.exec(name)?.[1];
  const tableName = fromArn ?? name;
  const arn = tableArn(tableName);
  return index === undefined
    ? { kind: 'table', table: tableName, arn }
    : { kind: 'table', table: tableName, index, arn: `${arn}/index/${index}` };
}

/** `arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`. */
function stream(streamArn: unknown): RequestResource {
  if (typeof streamArn !== 'string') return ANY;
  const name = /:table\/([^/]+)\/stream\//.exec(streamArn)?.[1];
  return name ? { kind: 'stream', table: name, arn: streamArn } : ANY;
}

function streamChecks(action: IamAction, operation: string, input: Record<string, unknown>): AccessCheck[] {
  switch (operation) {
    case 'DescribeStream':
    case 'GetShardIterator':
      return [{ action, resource: stream(input.StreamArn) }];
    case 'GetRecords': {
      // DynamoDB Local's iterators start with the stream ARN: `<streamArn>|<n>|<opaque>`.
      const iterator = typeof input.ShardIterator === 'string' ? input.ShardIterator : '';
      return [{ action, resource: stream(iterator.split('|')[0]) }];
    }
    default:
      // ListStreams: no resource-level permissions.
      return [{ action, resource: ANY }];
  }
}

/** PartiQL: the verb gives the action, the first quoted or bare name after FROM/INTO/UPDATE the table. */
function partiQl(statement: unknown): AccessCheck {
  const text = typeof statement === 'string' ? statement.trim() : '';
  const verb = /^(\w+)/.exec(text)?.[1]?.toUpperCase();
  const actions: Record<string, IamAction> = {
    SELECT: 'dynamodb:PartiQLSelect',
    INSERT: 'dynamodb:PartiQLInsert',
    UPDATE: 'dynamodb:PartiQLUpdate',
    DELETE: 'dynamodb:PartiQLDelete',
  };
  const action = actions[verb ?? ''] ?? 'dynamodb:PartiQLSelect';
  const name = /\b(?:FROM|INTO|UPDATE)\s+(?:"([^"]+)"|([A-Za-z0-9_.-]+))/i.exec(text);
  const tableName = name?.[1] ?? name?.[2];
  // `FROM "t"."index"` reads an index.
  const index = tableName ? /\b(?:FROM)\s+"[^"]+"\."([^"]+)"/i.exec(text)?.[1] : undefined;
  return { action, resource: tableName ? table(tableName, index) : ANY };
}
