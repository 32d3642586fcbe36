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

const recordSchema = z.object({
  eventID: nonEmpty(),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
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

/** The removed item's `updatedAt`, if the record carries a usable OldImage. */
function lastUpdatedAt(oldImage: Record<string, unknown> | undefined): Date | undefined {
  if (!oldImage) return undefined;
  try {
    const { updatedAt } = unmarshall(oldImage as StreamImage);
    const date = typeof updatedAt === 'string' ? new Date(updatedAt) : undefined;
    return date && !Number.isNaN(date.getTime()) ? date : undefined;
  } catch {
    return undefined;
  }
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
 * INSERT → TASK_CREATED, MODIFY → TASK_UPDATED, REMOVE → TASK_DELETED. A
 * REMOVE made by TTL (userIdentity `Service` / `dynamodb.amazonaws.com`) is a
 * delete like any other. `at` is the item's `updatedAt`, or for a delete the
 * stream's ApproximateCreationDateTime (epoch seconds), never earlier than the
 * removed item's `updatedAt`.
 */
export function parseTaskRecord(record: DynamoDBRecord, now: () => Date = () => new Date()): ParsedTaskRecord {
  const parsedRecord = recordSchema.safeParse(record);
  if (!parsedRecord.success) {
    throw new PoisonRecordError('Not a Tasks stream record', { cause: parsedRecord.error });
  }
  const { eventID, eventName, dynamodb } = parsedRecord.data;
  const keys = keysSchema.safeParse(fromImage(dynamodb.Keys, 'Keys'));
  if (!keys.success) throw new PoisonRecordError('Keys lack userId or taskId', { cause: keys.error });
  const { userId, taskId } = keys.data;
  const base = { userId, sequenceNumber: dynamodb.SequenceNumber };

  if (eventName === 'REMOVE') {
    const approximate = dynamodb.ApproximateCreationDateTime;
    const removedAt = approximate === undefined ? now() : new Date(approximate * 1000);
    // ApproximateCreationDateTime is rounded down (to the second on AWS, to the
    // minute in DynamoDB Local), so it can fall before the task's last update;
    // a delete is never stamped earlier than the version it removes.
    const lastUpdate = lastUpdatedAt(dynamodb.OldImage);
    const at = lastUpdate && lastUpdate > removedAt ? lastUpdate : removedAt;
    return { ...base, event: { type: 'TASK_DELETED', eventId: eventID, at: at.toISOString(), taskId } };
  }

  if (!dynamodb.NewImage) throw new PoisonRecordError(`${eventName} record has no NewImage`);
  const item = itemSchema.safeParse(fromImage(dynamodb.NewImage, 'NewImage'));
  if (!item.success) throw new PoisonRecordError('NewImage is not a task item', { cause: item.error });
  if (item.data.userId !== userId || item.data.taskId !== taskId) {
    throw new PoisonRecordError('NewImage does not match the record keys');
  }
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
