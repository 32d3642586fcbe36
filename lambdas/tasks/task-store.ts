import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../lib/definitions.js';
import type { Task } from '../contract.js';
import { NotFoundError, PreconditionFailedError, ServiceUnavailableError, TooManyRequestsError } from './errors.js';

/** A row of the tasks table (the agreed item shape); on the wire `taskId` is `id` and `userId` is dropped. */
export type TaskItem = Omit<Task, 'id'> & { userId: string; taskId: string };

export interface TaskChanges {
  title?: string;
  description?: string;
  completed?: boolean;
}

export interface TaskPage {
  tasks: Task[];
  /** Set when more tasks may follow: resume after this id. */
  lastTaskId?: string;
}

export type CreateOutcome = { created: true; task: Task } | { created: false; existing: Task };

/** Versions an If-Match allows; undefined means any existing task. */
export type ExpectedVersions = readonly number[] | undefined;

/**
 * Task persistence, scoped by user: every call names the caller's user id, so
 * another user's task is simply not there. Throws NotFoundError,
 * PreconditionFailedError (with the current task), TooManyRequestsError and
 * ServiceUnavailableError; anything else is unexpected.
 */
export interface TaskStore {
  get(userId: string, taskId: string): Promise<Task | undefined>;
  /** Oldest first (ULIDs sort by creation time). */
  list(userId: string, page: { limit: number; afterTaskId?: string }): Promise<TaskPage>;
  /** Creates the task unless the id exists for this user; then answers the stored one. */
  create(userId: string, task: Task): Promise<CreateOutcome>;
  /** Applies the changes and bumps the version, even when the values are unchanged. */
  update(userId: string, taskId: string, changes: TaskChanges, at: string, expected: ExpectedVersions): Promise<Task>;
  remove(userId: string, taskId: string, expected: ExpectedVersions): Promise<void>;
}

const PK = TABLES.tasks.partitionKey.name;
const SK = TABLES.tasks.sortKey.name;

export function createDynamoTaskStore(client: DynamoDBDocumentClient, tableName: string): TaskStore {
  return {
    async get(userId, taskId) {
      const { Item } = await call(() =>
        client.send(new GetCommand({ TableName: tableName, Key: key(userId, taskId), ConsistentRead: true })),
      );
      return Item ? toTask(Item) : undefined;
    },

    async list(userId, { limit, afterTaskId }) {
      // One extra item tells whether another page exists, so the last page
      // never hands out a cursor to an empty page.
      const { Items = [], LastEvaluatedKey } = await call(() =>
        client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: '#pk = :userId',
            ExpressionAttributeNames: { '#pk': PK },
            ExpressionAttributeValues: { ':userId': userId },
            ScanIndexForward: true,
            Limit: limit + 1,
            // Built from the caller's id and a validated task id only, never from client-supplied keys.
            ...(afterTaskId ? { ExclusiveStartKey: key(userId, afterTaskId) } : {}),
            // A client refetches right after its own write or a reconnect; it must see it.
            ConsistentRead: true,
          }),
        ),
      );
      const tasks = Items.slice(0, limit).map(toTask);
      // Items.length > limit: there is more. Fewer with a LastEvaluatedKey: the 1 MB page limit cut it short.
      const more = Items.length > limit || (LastEvaluatedKey !== undefined && tasks.length > 0);
      return more ? { tasks, lastTaskId: tasks.at(-1)?.id } : { tasks };
    },

    async create(userId, task) {
      const item: TaskItem = {
        userId,
        taskId: task.id,
        title: task.title,
        description: task.description,
        completed: task.completed,
        createdAt: task.createdAt,
        updatedAt: task.updatedAt,
        version: task.version,
      };
      try {
        await call(() =>
          client.send(
            new PutCommand({
              TableName: tableName,
              Item: item,
              ConditionExpression: 'attribute_not_exists(#sk)',
              ExpressionAttributeNames: { '#sk': SK },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
        return { created: true, task };
      } catch (error) {
        const existing = conditionFailureItem(error);
        if (existing === undefined) throw error;
        if (existing === null) throw unexpected('Conditional put failed without returning the existing item', error);
        return { created: false, existing: toTask(existing) };
      }
    },

    async update(userId, taskId, changes, at, expected) {
      const names: Record<string, string> = { '#sk': SK, '#version': 'version', '#updatedAt': 'updatedAt' };
      const values: Record<string, unknown> = { ':updatedAt': at, ':one': 1 };
      const sets = ['#updatedAt = :updatedAt', '#version = #version + :one'];
      for (const field of ['title', 'description', 'completed'] as const) {
        if (changes[field] === undefined) continue;
        names[`#${field}`] = field;
        values[`:${field}`] = changes[field];
        sets.push(`#${field} = :${field}`);
      }
      const condition = versionCondition(expected, values);
      try {
        const { Attributes } = await call(() =>
          client.send(
            new UpdateCommand({
              TableName: tableName,
              Key: key(userId, taskId),
              UpdateExpression: `SET ${sets.join(', ')}`,
              ConditionExpression: condition,
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
              ReturnValues: 'ALL_NEW',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
        if (!Attributes) throw unexpected('UpdateItem returned no attributes');
        return toTask(Attributes);
      } catch (error) {
        throw conditionFailure(error);
      }
    },

    async remove(userId, taskId, expected) {
      const values: Record<string, unknown> = {};
      const condition = versionCondition(expected, values);
      try {
        await call(() =>
          client.send(
            new DeleteCommand({
              TableName: tableName,
              Key: key(userId, taskId),
              ConditionExpression: condition,
              ExpressionAttributeNames: { '#sk': SK, ...(expected ? { '#version': 'version' } : {}) },
              ...(expected ? { ExpressionAttributeValues: values } : {}),
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
      } catch (error) {
        throw conditionFailure(error);
      }
    },
  };
}

function key(userId: string, taskId: string): Record<string, string> {
  return { [PK]: userId, [SK]: taskId };
}

/** `attribute_exists` plus, with If-Match, the allowed versions; adds their values to `values`. */
function versionCondition(expected: ExpectedVersions, values: Record<string, unknown>): string {
  if (expected === undefined) return 'attribute_exists(#sk)';
  const placeholders = expected.map((version, i) => {
    values[`:v${i}`] = version;
    return `:v${i}`;
  });
  const versions = placeholders.length === 1 ? `#version = ${placeholders[0]}` : `#version IN (${placeholders.join(', ')})`;
  return `attribute_exists(#sk) AND ${versions}`;
}

/**
 * A failed `attribute_exists(...) [AND version ...]` condition, told apart in
 * the same call: with ReturnValuesOnConditionCheckFailure ALL_OLD DynamoDB
 * returns the item when it exists (so the version did not match: 412) and
 * nothing when it does not (404). No second read, no race.
 */
function conditionFailure(error: unknown): unknown {
  const current = conditionFailureItem(error);
  if (current === undefined) return error;
  if (current === null) return new NotFoundError('Task not found', { cause: error });
  return new PreconditionFailedError('The task has changed since that version', toTask(current), { cause: error });
}

/**
 * For a ConditionalCheckFailedException: the item it carries, or null when it
 * carries none. Undefined for any other error. The document client does not
 * unmarshall exceptions, so the item arrives as raw AttributeValues.
 */
function conditionFailureItem(error: unknown): Record<string, unknown> | null | undefined {
  if (!(error instanceof Error) || error.name !== 'ConditionalCheckFailedException') return undefined;
  const item = (error as { Item?: Record<string, AttributeValue> }).Item;
  return item ? fromAttributeValues(item) : null;
}

/** Enough of util-dynamodb's unmarshall for a task row (strings, numbers, booleans). */
function fromAttributeValues(item: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(item).map(([name, value]) => [
      name,
      value.S ?? (value.N !== undefined ? Number(value.N) : value.BOOL),
    ]),
  );
}

function toTask(item: Record<string, unknown>): Task {
  const { taskId, title, description, completed, createdAt, updatedAt, version } = item;
  if (
    typeof taskId !== 'string' ||
    typeof title !== 'string' ||
    typeof description !== 'string' ||
    typeof completed !== 'boolean' ||
    typeof createdAt !== 'string' ||
    typeof updatedAt !== 'string' ||
    typeof version !== 'number'
  ) {
    throw unexpected(`Malformed task item ${String(taskId)}`);
  }
  return { id: taskId, title, description, completed, createdAt, updatedAt, version };
}

function unexpected(message: string, cause?: unknown): Error {
  const error = new Error(message, { cause });
  error.name = 'TaskStoreError';
  return error;
}

// DynamoDB error names (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
const THROTTLING_ERRORS = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);
const UNAVAILABLE_ERRORS = new Set([
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  // The SDK's node-http-handler names connection and request timeouts this way.
  'TimeoutError',
]);
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Runs one SDK call and turns "try again later" failures into their domain errors, by name or code. */
async function call<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    if (THROTTLING_ERRORS.has(error.name)) {
      throw new TooManyRequestsError('Too many requests, retry later', { cause: error });
    }
    if (UNAVAILABLE_ERRORS.has(error.name) || isNetworkError(error)) {
      throw new ServiceUnavailableError('The task store is unavailable, retry later', { cause: error });
    }
    throw error;
  }
}

function isNetworkError(error: Error): boolean {
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  // Node's happy-eyeballs connect (autoSelectFamily) reports an AggregateError of per-address failures.
  return error instanceof AggregateError && error.errors.some((inner) => inner instanceof Error && isNetworkError(inner));
}
