import {
  LOCAL,
  QUEUES,
  TABLES,
  type FunctionName,
  type IamAction,
  type Permission,
  type QueueKey,
  type TableKey,
} from '../../lib/definitions.js';
import { LOCAL_ACCOUNT_ID } from '../gateway/shared/aws-format.js';

/**
 * What a request touches, as the local runtime sees it (local table names,
 * DynamoDB Local's stream ARNs, the emulator's WebSocket stage). `arn` is what
 * an AccessDeniedException names.
 */
export type RequestResource =
  | { kind: 'table'; table: string; index?: string; arn: string }
  | { kind: 'stream'; table: string; arn: string }
  | { kind: 'connections'; method: string; arn: string }
  | { kind: 'queue'; queue: QueueKey; arn: string }
  /** An operation without resource-level permissions (ListTables, ListStreams), or one we cannot attribute. */
  | { kind: 'any'; arn: '*' };

export interface AccessCheck {
  action: IamAction;
  resource: RequestResource;
}

/** Who signed a request: a function's role, the event source mapping (with its function's role), or the developer. */
export type Principal =
  | { kind: 'function'; fn: FunctionName; arn: string }
  | { kind: 'eventSourceMapping'; fn: FunctionName; arn: string }
  | { kind: 'admin'; arn: string };

export const roleName = (fn: FunctionName) => `${fn}-role`;

/** `arn:aws:sts::000000000000:assumed-role/<fn>-role/<session>`, as a Lambda function's calls are signed. */
export const assumedRoleArn = (fn: FunctionName, session: string = fn) =>
  `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${roleName(fn)}/${session}`;

export const tableArn = (table: string) => `arn:aws:dynamodb:${LOCAL.region}:${LOCAL_ACCOUNT_ID}:table/${table}`;
export const queueArn = (queue: QueueKey) => `arn:aws:sqs:${LOCAL.region}:${LOCAL_ACCOUNT_ID}:${QUEUES[queue].localFile}`;

/** `*` anywhere in a pattern matches any run of characters, as in IAM action names. */
function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, 'i').test(value);
}

const localTableName = (key: TableKey) => TABLES[key].localName;

function resourceMatches(permission: Permission, resource: RequestResource): boolean {
  const granted = permission.resource;
  if (granted === '*') return true;
  if ('table' in granted) {
    if (resource.kind !== 'table' || resource.table !== localTableName(granted.table)) return false;
    if (granted.index === undefined) return resource.index === undefined;
    return resource.index !== undefined && (granted.index === '*' || granted.index === resource.index);
  }
  if ('stream' in granted) return resource.kind === 'stream' && resource.table === localTableName(granted.stream);
  if ('connections' in granted) return resource.kind === 'connections' && resource.method === granted.connections;
  return resource.kind === 'queue' && resource.queue === granted.queue;
}

/** IAM's evaluation for identity policies made only of Allow statements: allowed if one statement matches. */
export function isAllowed(permissions: readonly Permission[], check: AccessCheck): boolean {
  return permissions.some(
    (permission) =>
      permission.actions.some((action) => globMatch(action, check.action)) && resourceMatches(permission, check.resource),
  );
}

/** The message AWS puts in AccessDeniedException for an identity policy that does not allow the call. */
export function accessDeniedMessage(principalArn: string, check: AccessCheck): string {
  return (
    `User: ${principalArn} is not authorized to perform: ${check.action} on resource: ${check.resource.arn} ` +
    `because no identity-based policy allows the ${check.action} action`
  );
}

export interface Denial {
  principal: string;
  action: IamAction;
  resource: string;
  message: string;
}

/**
 * The permission set every principal is checked against. Read through a
 * getter so that a reload of lib/definitions.ts (npm start's watch) takes
 * effect on the next call.
 */
export type PermissionSource = (fn: FunctionName) => readonly Permission[];

/**
 * Checks every AccessCheck of one request; the first one refused is the
 * answer, as AWS names the first resource it refuses. Admin (the developer's
 * own `local` credentials, which tests and tools use) is never refused.
 */
export function authorize(
  permissionsOf: PermissionSource,
  principal: Principal,
  checks: readonly AccessCheck[],
): Denial | undefined {
  if (principal.kind === 'admin') return undefined;
  const permissions = permissionsOf(principal.fn);
  for (const check of checks) {
    if (!isAllowed(permissions, check)) {
      return {
        principal: principal.arn,
        action: check.action,
        resource: check.resource.arn,
        message: accessDeniedMessage(principal.arn, check),
      };
    }
  }
  return undefined;
}
