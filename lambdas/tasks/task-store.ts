import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../lib/definitions.js';
import type { Task } from '../contract.js';
import type { StoredTask } from './change-feed.js';
import type { ChangeLog } from './change-log.js';
import { NotFoundError, PreconditionFailedError, ServiceUnavailableError } from './errors.js';
import { call, unexpected } from './store-call.js';

/** A row of the tasks table (the agreed item shape); on the wire `taskId` is `id` and `userId` is dropped. */
export type TaskItem = Omit<Task, 'id'> & { userId: string; taskId: string };

/**
 * What a delete leaves for the retention: the next version, no content. It
 * answers 404 everywhere, keeps a replayed create from recreating the task,
 * and tells the change feed and the broadcaster the delete's version.
 */
export type TombstoneItem = Pick<TaskItem, 'userId' | 'taskId' | 'createdAt' | 'updatedAt' | 'version'> & {
  deleted: true;
  /** TTL (epoch seconds): delete time + retention. */
  expiresAt: number;
};

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

export type CreateOutcome =
  | { created: true; task: Task }
  | { created: false; existing: Task }
  | { created: false; deleted: true };

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
  /** Leaves a tombstone with the next version (TombstoneItem). */
  remove(userId: string, taskId: string, at: string, expected: ExpectedVersions): Promise<void>;
  /** Current items of these tasks, strongly consistent; absent ids do not exist. */
  getMany(userId: string, taskIds: readonly string[]): Promise<Map<string, StoredTask>>;
}

export interface DynamoTaskStoreOptions {
  tableName: string;
  /** Every write records its change here first (change-log.ts). */
  changeLog: Pick<ChangeLog, 'record'>;
  /** How long tombstones are kept (TTL). */
  retentionSeconds: number;
}

const PK = TABLES.tasks.partitionKey.name;
const SK = TABLES.tasks.sortKey.name;
/** BatchGetItem's limit per call. */
const BATCH_GET_MAX_KEYS = 100;
const BATCH_GET_MAX_ROUNDS = 8;

export function createDynamoTaskStore(client: DynamoDBDocumentClient, options: DynamoTaskStoreOptions): TaskStore {
  const { tableName, changeLog, retentionSeconds } = options;
  const expiresAt = (at: string) => Math.ceil(Date.parse(at) / 1000) + retentionSeconds;
  // The change entry goes first and alone: a task write without its entry could
  // be skipped by the feed, an entry without its write is harmless (change-feed.ts).
  const recordChange = (userId: string, taskId: string, at: string) => changeLog.record(userId, taskId, at);

  return {
    async get(userId, taskId) {
      const { Item } = await call(() =>
        client.send(new GetCommand({ TableName: tableName, Key: key(userId, taskId), ConsistentRead: true })),
      );
      return Item && !isTombstone(Item) ? toTask(Item) : undefined;
    },

    async list(userId, { limit, afterTaskId }) {
      // One extra item tells whether another page exists, so the last page
      // never hands out a cursor to an empty page. Tombstones are filtered
      // out after DynamoDB's Limit counts them, so read on until the page is
      // full or the partition ends.
      const found: Record<string, unknown>[] = [];
      // Built from the caller's id and a validated task id only, never from client-supplied keys.
      let startKey: Record<string, unknown> | undefined = afterTaskId ? key(userId, afterTaskId) : undefined;
      do {
        const {
          Items = [],
          LastEvaluatedKey,
        }: { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> } = await call(() =>
          client.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: '#pk = :userId',
              FilterExpression: 'attribute_not_exists(#deleted)',
              ExpressionAttributeNames: { '#pk': PK, '#deleted': 'deleted' },
              ExpressionAttributeValues: { ':userId': userId },
              ScanIndexForward: true,
              Limit: limit + 1 - found.length,
              ...(startKey ? { ExclusiveStartKey: startKey } : {}),
              // A client refetches right after its own write or a reconnect; it must see it.
              ConsistentRead: true,
            }),
          ),
        );
        found.push(...Items);
        startKey = LastEvaluatedKey;
      } while (startKey !== undefined && found.length <= limit);
      const tasks = found.slice(0, limit).map(toTask);
      return found.length > limit ? { tasks, lastTaskId: tasks.at(-1)?.id } : { tasks };
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
      await recordChange(userId, task.id, task.createdAt);
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
        if (isTombstone(existing)) return { created: false, deleted: true };
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
      names['#deleted'] = 'deleted';
      await recordChange(userId, taskId, at);
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

    async remove(userId, taskId, at, expected) {
      const values: Record<string, unknown> = { ':at': at, ':one': 1, ':true': true, ':expiresAt': expiresAt(at) };
      const condition = versionCondition(expected, values);
      await recordChange(userId, taskId, at);
      try {
        await call(() =>
          client.send(
            new UpdateCommand({
              TableName: tableName,
              Key: key(userId, taskId),
              UpdateExpression:
                'SET #deleted = :true, #version = #version + :one, #updatedAt = :at, #expiresAt = :expiresAt REMOVE #title, #description, #completed',
              ConditionExpression: condition,
              ExpressionAttributeNames: {
                '#sk': SK,
                '#deleted': 'deleted',
                '#version': 'version',
                '#updatedAt': 'updatedAt',
                '#expiresAt': 'expiresAt',
                '#title': 'title',
                '#description': 'description',
                '#completed': 'completed',
              },
              ExpressionAttributeValues: values,
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
      } catch (error) {
        throw conditionFailure(error);
      }
    },

    async getMany(userId, taskIds) {
      const found = new Map<string, StoredTask>();
      const chunks: string[][] = [];
      for (let i = 0; i < taskIds.length; i += BATCH_GET_MAX_KEYS) chunks.push(taskIds.slice(i, i + BATCH_GET_MAX_KEYS));
      await Promise.all(
        chunks.map(async (chunk) => {
          let keys: Record<string, unknown>[] = chunk.map((taskId) => key(userId, taskId));
          for (let round = 0; keys.length > 0; round++) {
            if (round === BATCH_GET_MAX_ROUNDS) throw new ServiceUnavailableError('The task store is busy, retry later');
            // UnprocessedKeys come back under load: retry them with a growing pause.
            if (round > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** round));
            const { Responses, UnprocessedKeys } = await call(() =>
              client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } })),
            );
            for (const item of Responses?.[tableName] ?? []) {
              const stored = toStored(item);
              found.set(stored.kind === 'task' ? stored.task.id : stored.taskId, stored);
            }
            keys = (UnprocessedKeys?.[tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
          }
        }),
      );
      return found;
    },
  };
}

function key(userId: string, taskId: string): Record<string, string> {
  return { [PK]: userId, [SK]: taskId };
}

/** `attribute_exists` plus, with If-Match, the allowed versions; adds their values to `values`. */
function versionCondition(expected: ExpectedVersions, values: Record<string, unknown>): string {
  const exists = 'attribute_exists(#sk) AND attribute_not_exists(#deleted)';
  if (expected === undefined) return exists;
  const placeholders = expected.map((version, i) => {
    values[`:v${i}`] = version;
    return `:v${i}`;
  });
  const versions = placeholders.length === 1 ? `#version = ${placeholders[0]}` : `#version IN (${placeholders.join(', ')})`;
  return `${exists} AND ${versions}`;
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
  // A tombstone is a missing task on every route.
  if (current === null || isTombstone(current)) return new NotFoundError('Task not found', { cause: error });
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
    Object.entries(item).map(([name, value]) => [name, value.S ?? (value.N !== undefined ? Number(value.N) : value.BOOL)]),
  );
}

function isTombstone(item: Record<string, unknown>): boolean {
  return item.deleted === true;
}

function toStored(item: Record<string, unknown>): StoredTask {
  if (!isTombstone(item)) return { kind: 'task', task: toTask(item) };
  const { taskId, version } = item;
  if (typeof taskId !== 'string' || typeof version !== 'number') throw unexpected(`Malformed tombstone ${String(taskId)}`);
  return { kind: 'tombstone', taskId, version };
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
