import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../lib/definitions.js';
import { changeKey, type ChangeEntryKey, type EntryRange } from './change-feed.js';
import { call, unexpected } from './store-call.js';

/** A row of the changes table: "this task was written at this stamp" (change-feed.ts). */
export interface ChangeItem {
  userId: string;
  changeKey: string;
  taskId: string;
  /** TTL (epoch seconds): stamp + retention. */
  expiresAt: number;
}

/** The Changes table: written before every task write, read by the feed and the heartbeat. */
export interface ChangeLog {
  /** Records that `taskId` is written at `at` (the request's time, which the safety window counts from). */
  record(userId: string, taskId: string, at: string): Promise<void>;
  /** Entries after `range` in key order, at most `limit`; `more` when others follow. */
  read(userId: string, range: EntryRange, limit: number): Promise<{ entries: ChangeEntryKey[]; more: boolean }>;
  /** Whether any entry follows `range` (the heartbeat's `behind`). */
  hasAfter(userId: string, range: EntryRange): Promise<boolean>;
}

const PK = TABLES.changes.partitionKey.name;
const SK = TABLES.changes.sortKey.name;

export function createChangeLog(
  client: DynamoDBDocumentClient,
  { tableName, retentionSeconds }: { tableName: string; retentionSeconds: number },
): ChangeLog {
  // Strongly consistent reads of the base table: the "cannot skip" argument
  // needs every entry committed before the read began (change-feed.ts).
  const after = (userId: string, range: EntryRange) => ({
    TableName: tableName,
    KeyConditionExpression: '#pk = :userId AND #sk > :start',
    ExpressionAttributeValues: { ':userId': userId, ':start': range.exclusiveStart },
    ScanIndexForward: true,
    ConsistentRead: true,
  });

  return {
    async record(userId, taskId, at) {
      const stamp = Date.parse(at);
      const item: ChangeItem = {
        userId,
        changeKey: changeKey(stamp, taskId),
        taskId,
        expiresAt: Math.ceil(stamp / 1000) + retentionSeconds,
      };
      await call(() => client.send(new PutCommand({ TableName: tableName, Item: item })));
    },

    async read(userId, range, limit) {
      const { Items = [], LastEvaluatedKey } = await call(() =>
        client.send(
          new QueryCommand({
            ...after(userId, range),
            ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#taskId': 'taskId' },
            ProjectionExpression: '#sk, #taskId',
            // One extra entry tells whether another page exists.
            Limit: limit + 1,
          }),
        ),
      );
      const entries = Items.slice(0, limit).map((item) => {
        const { changeKey: key, taskId } = item as Partial<ChangeItem>;
        if (typeof key !== 'string' || typeof taskId !== 'string') throw unexpected('Malformed change entry');
        return { key, taskId };
      });
      // Fewer than asked with a LastEvaluatedKey: the 1 MB page limit cut it short.
      return { entries, more: Items.length > limit || (LastEvaluatedKey !== undefined && entries.length > 0) };
    },

    async hasAfter(userId, range) {
      const { Count = 0 } = await call(() =>
        client.send(
          new QueryCommand({
            ...after(userId, range),
            ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
            Select: 'COUNT',
            Limit: 1,
          }),
        ),
      );
      return Count > 0;
    },
  };
}
