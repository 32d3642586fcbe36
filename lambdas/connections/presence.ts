import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { LIMITS } from '../../lib/definitions.js';
import type { PresenceFrame } from '../contract.js';
import { mapWithConcurrency } from './concurrency.js';
import type { ConnectionStore } from './connection-store.js';
import type { Notifier } from './notifier.js';

export interface PresenceDeps {
  connections: Pick<ConnectionStore, 'listConnectionIds'>;
  notifier: Pick<Notifier, 'post'>;
  logger: Pick<Logger, 'debug' | 'warn'>;
  /** Posts (and queries) in flight at once. Default: LIMITS.postConcurrency. */
  concurrency?: number;
}

/**
 * Presence (docs/design.md, "Presence"): fed by the connections table's
 * stream, where every `$connect` puts a row and every `$disconnect` (or a
 * 410 in the broadcaster, or TTL) deletes one. For each user named in the
 * batch it counts the user's live connections (one Query) and sends
 * `{"type":"PRESENCE","devices":N}` to each of them.
 *
 * Every frame is a fresh count, so retries and duplicates are harmless and
 * the newest frame is right; a user's records all come from one partition,
 * in order, so the last frame a client gets was counted after the last
 * change. A connection that answers 410 is skipped, not deleted: it may be
 * one whose `$connect` has not completed yet (posting to it is refused
 * until then), and gone connections are the broadcaster's, `$disconnect`'s
 * and TTL's to remove. A user whose count or posts failed has their records
 * reported as failures, so the mapping retries from there.
 */
export function createPresenceHandler({ connections, notifier, logger, concurrency = LIMITS.postConcurrency }: PresenceDeps) {
  return async function onConnectionsChanged(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
    const sequencesByUser = new Map<string, string[]>();
    for (const record of event.Records) {
      const userId = record.dynamodb?.Keys?.userId?.S;
      const sequence = record.dynamodb?.SequenceNumber;
      if (!userId || !sequence) continue;
      const list = sequencesByUser.get(userId) ?? [];
      list.push(sequence);
      sequencesByUser.set(userId, list);
    }
    // Counts first, then every post of the batch under one concurrency bound (as the broadcaster does).
    const failedUsers = new Set<string>();
    const fail = (userId: string, error: unknown) => {
      if (!failedUsers.has(userId))
        logger.warn('Presence not sent; the batch is retried from this user', { userId, error: error as Error });
      failedUsers.add(userId);
    };
    const counted = await mapWithConcurrency([...sequencesByUser.keys()], concurrency, async (userId) => {
      try {
        return { userId, connectionIds: await connections.listConnectionIds(userId) };
      } catch (error) {
        fail(userId, error);
        return { userId, connectionIds: [] };
      }
    });
    const posts = counted.flatMap(({ userId, connectionIds }) => {
      const frame: PresenceFrame = { type: 'PRESENCE', devices: connectionIds.length };
      const data = JSON.stringify(frame);
      return connectionIds.map((connectionId) => ({ userId, connectionId, data }));
    });
    const outcomes = await mapWithConcurrency(posts, concurrency, async ({ userId, connectionId, data }) => {
      try {
        return await notifier.post(connectionId, data);
      } catch (error) {
        fail(userId, error);
        return 'failed';
      }
    });
    logger.debug('Presence sent', {
      users: counted.length,
      posts: posts.length,
      gone: outcomes.filter((o) => o === 'gone').length,
    });
    const failed = [...failedUsers].flatMap((userId) => sequencesByUser.get(userId) ?? []);
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
