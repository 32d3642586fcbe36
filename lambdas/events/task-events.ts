import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
// zod/mini: the same checks as `zod` at ~20 KB of bundle instead of ~450 KB.
import * as z from 'zod/mini';
import type { Task, TaskEvent } from '../contract.js';

/** A stream record that can never become an event, however often it is retried. */
export class PoisonRecordError extends Error {
  override name = 'PoisonRecordError';
}

/** One record of the Tasks stream as the event its user's clients receive. */
export interface ParsedTaskRecord {
  userId: string;
  sequenceNumber: string;
  event: TaskEvent;
}

const nonEmpty = () => z.string().check(z.minLength(1));

const keysSchema = z.object({ userId: nonEmpty(), taskId: nonEmpty() });

// The Tasks table item (brief: cross-module interfaces). Only these fields
// reach the wire; anything else stored on the item stays server-side.
const itemSchema = z.object({
  userId: nonEmpty(),
  taskId: nonEmpty(),
  title: z.string(),
  description: z.string(),
  completed: z.boolean(),
  createdAt: nonEmpty(),
  updatedAt: nonEmpty(),
  version: z.int().check(z.positive()),
});

// What a delete leaves behind (lambdas/tasks/task-store.ts TombstoneItem).
const tombstoneSchema = z.object({
  userId: nonEmpty(),
  taskId: nonEmpty(),
  deleted: z.literal(true),
  updatedAt: nonEmpty(),
  version: z.int().check(z.positive()),
});

const recordSchema = z.object({
  eventID: nonEmpty(),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  userIdentity: z.optional(z.object({ type: z.optional(z.string()), principalId: z.optional(z.string()) })),
  dynamodb: z.object({
    SequenceNumber: nonEmpty(),
    Keys: z.record(z.string(), z.unknown()),
    NewImage: z.optional(z.record(z.string(), z.unknown())),
    OldImage: z.optional(z.record(z.string(), z.unknown())),
    ApproximateCreationDateTime: z.optional(z.number()),
  }),
});

type StreamImage = Record<string, AttributeValue>;

function fromImage(image: Record<string, unknown>, what: string): Record<string, unknown> {
  try {
    return unmarshall(image as StreamImage);
  } catch (err) {
    throw new PoisonRecordError(`${what} is not a DynamoDB image`, { cause: err });
  }
}

/** The removed item, if the record carries a usable OldImage. */
function oldItem(oldImage: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!oldImage) return undefined;
  try {
    return unmarshall(oldImage as StreamImage);
  } catch {
    return undefined;
  }
}

function validDate(value: unknown): Date | undefined {
  const date = typeof value === 'string' ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

/**
 * A removal by TTL: AWS marks it with userIdentity Service /
 * dynamodb.amazonaws.com (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-streams.html).
 */
export const TTL_USER_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;

function isTtlRemoval(identity: { type?: string; principalId?: string } | undefined): boolean {
  return identity?.type === TTL_USER_IDENTITY.type && identity.principalId === TTL_USER_IDENTITY.principalId;
}

function toTask(item: z.infer<typeof itemSchema>): Task {
  return {
    id: item.taskId,
    title: item.title,
    description: item.description,
    completed: item.completed,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    version: item.version,
  };
}

/**
 * INSERT → TASK_CREATED, MODIFY → TASK_UPDATED, and a MODIFY that leaves a
 * tombstone → TASK_DELETED with the tombstone's version (the delete is the
 * task's next version). Bookkeeping that is not a user's change answers
 * undefined and is not broadcast: TTL removing a tombstone (or any item), a
 * removal of a tombstone, a write to an item that was already a tombstone.
 * A REMOVE of a live task (not by TTL: a delete outside the API) is still a
 * delete, at the removed version + 1. `at` is the item's `updatedAt`, or for
 * a removal the stream's ApproximateCreationDateTime (epoch seconds), never
 * earlier than the removed item's `updatedAt`.
 */
export function parseTaskRecord(record: DynamoDBRecord, now: () => Date = () => new Date()): ParsedTaskRecord | undefined {
  const parsedRecord = recordSchema.safeParse(record);
  if (!parsedRecord.success) {
    throw new PoisonRecordError('Not a Tasks stream record', { cause: parsedRecord.error });
  }
  const { eventID, eventName, dynamodb, userIdentity } = parsedRecord.data;
  const keys = keysSchema.safeParse(fromImage(dynamodb.Keys, 'Keys'));
  if (!keys.success) throw new PoisonRecordError('Keys lack userId or taskId', { cause: keys.error });
  const { userId, taskId } = keys.data;
  const base = { userId, sequenceNumber: dynamodb.SequenceNumber };
  const old = oldItem(dynamodb.OldImage);
  const wasTombstone = old?.deleted === true;

  if (eventName === 'REMOVE') {
    if (isTtlRemoval(userIdentity) || wasTombstone) return undefined;
    const approximate = dynamodb.ApproximateCreationDateTime;
    const removedAt = approximate === undefined ? now() : new Date(approximate * 1000);
    // ApproximateCreationDateTime is rounded down (to the second on AWS, to the
    // minute in DynamoDB Local), so it can fall before the task's last update;
    // a delete is never stamped earlier than the version it removes.
    const lastUpdate = validDate(old?.updatedAt);
    const at = lastUpdate && lastUpdate > removedAt ? lastUpdate : removedAt;
    const oldVersion = typeof old?.version === 'number' && Number.isSafeInteger(old.version) ? old.version : 0;
    return {
      ...base,
      event: { type: 'TASK_DELETED', eventId: eventID, at: at.toISOString(), taskId, version: oldVersion + 1 },
    };
  }

  if (!dynamodb.NewImage) throw new PoisonRecordError(`${eventName} record has no NewImage`);
  const image = fromImage(dynamodb.NewImage, 'NewImage');
  if (image.userId !== userId || image.taskId !== taskId) {
    throw new PoisonRecordError('NewImage does not match the record keys');
  }
  if (image.deleted === true) {
    if (wasTombstone) return undefined;
    const tombstone = tombstoneSchema.safeParse(image);
    if (!tombstone.success) throw new PoisonRecordError('NewImage is not a tombstone', { cause: tombstone.error });
    const { updatedAt, version } = tombstone.data;
    return { ...base, event: { type: 'TASK_DELETED', eventId: eventID, at: updatedAt, taskId, version } };
  }
  const item = itemSchema.safeParse(image);
  if (!item.success) throw new PoisonRecordError('NewImage is not a task item', { cause: item.error });
  return {
    ...base,
    event: {
      type: eventName === 'INSERT' ? 'TASK_CREATED' : 'TASK_UPDATED',
      eventId: eventID,
      at: item.data.updatedAt,
      taskId,
      task: toTask(item.data),
    },
  };
}
