import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { LIMITS, METRICS } from '../../lib/definitions.js';
import type { TaskEvent } from '../contract.js';
import { mapWithConcurrency } from '../connections/concurrency.js';
import type { ConnectionStore } from '../connections/connection-store.js';
import type { Notifier } from '../connections/notifier.js';
import { MetricUnit, noMetrics, type MetricsRecorder } from '../shared/metrics.js';
import { encodeFrames } from './frames.js';
import { parseTaskRecord } from './task-events.js';

export interface BroadcasterDeps {
  connections: Pick<ConnectionStore, 'listConnectionIds' | 'delete'>;
  notifier: Pick<Notifier, 'post'>;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Default: LIMITS.batchFrameMaxBytes (32 KB). */
  frameMaxBytes?: number;
  /** Posts (and connection queries) in flight at once. Default: LIMITS.postConcurrency. */
  concurrency?: number;
  /** Default: records nothing. */
  metrics?: MetricsRecorder;
  /** Clock of the propagation lag. Default: Date.now. */
  now?: () => number;
}

/** One user's share of a stream batch. */
interface UserBatch {
  userId: string;
  /** Position in the batch of the user's first record: where a retry must start. */
  firstIndex: number;
  firstSequenceNumber: string;
  events: TaskEvent[];
  failed: boolean;
}

interface Delivery {
  user: UserBatch;
  connectionId: string;
  frames: string[];
}

/**
 * Turns one Tasks stream batch into WebSocket frames: one connections Query
 * per distinct user, one post per connection (several events coalesced into
 * BATCH frames, split only past `frameMaxBytes`), in stream order.
 *
 * Why not Powertools' BatchProcessor: it hands records to a handler one at a
 * time, and coalescing needs the whole batch first (one Query per user, one
 * post per connection). Its contract is kept: the answer is a
 * DynamoDBBatchResponse of failed SequenceNumbers, for an event source mapping
 * with ReportBatchItemFailures.
 *
 * Failures, and what Lambda does with them (it resumes the shard from the
 * LOWEST reported sequence number, so everything after it is redelivered):
 * - A record that cannot be parsed is reported; the other records are still
 *   broadcast. After the mapping's retries it lands in the on-failure
 *   destination instead of being dropped silently.
 * - A user whose connections cannot be read, or a post that still fails after
 *   the SDK's retries, reports that user's FIRST record of the batch. Delivery
 *   is therefore at-least-once: the retry resends events that other users (and
 *   other connections of the same user) already got; clients drop events whose
 *   task.version they already hold.
 * - 410 Gone deletes the connection row and is not a failure, unless the row
 *   is younger than LIMITS.connectGraceSeconds: API Gateway also answers 410
 *   to a connection still in its handshake, whose row must stay (it is
 *   removed by $disconnect or TTL if the handshake never completes).
 */
export function createBroadcaster({
  connections,
  notifier,
  logger,
  frameMaxBytes = LIMITS.batchFrameMaxBytes,
  concurrency = LIMITS.postConcurrency,
  metrics = noMetrics,
  now = Date.now,
}: BroadcasterDeps) {
  async function lookUpConnections(users: UserBatch[]): Promise<Delivery[]> {
    const perUser = await mapWithConcurrency(users, concurrency, async (user) => {
      try {
        return { user, connectionIds: await connections.listConnectionIds(user.userId) };
      } catch (err) {
        logger.error('Could not read connections', { userId: user.userId, error: err as Error });
        user.failed = true;
        return { user, connectionIds: [] };
      }
    });
    return perUser.flatMap(({ user, connectionIds }) => {
      if (connectionIds.length === 0) return [];
      // The same frames go to every connection of the user: encode once.
      const frames = encodeFrames(user.events, frameMaxBytes);
      return connectionIds.map((connectionId) => ({ user, connectionId, frames }));
    });
  }

  async function removeGoneConnection(userId: string, connectionId: string): Promise<void> {
    try {
      const connectedBefore = new Date(now() - LIMITS.connectGraceSeconds * 1000).toISOString();
      const outcome = await connections.delete(userId, connectionId, { connectedBefore });
      if (outcome === 'kept') logger.info('Kept the row of a connection still in its handshake', { userId, connectionId });
    } catch (err) {
      // Not worth a retry of the batch: the row's TTL removes it anyway.
      logger.warn('Could not delete a gone connection', { userId, connectionId, error: err as Error });
    }
  }

  /** Frames of one connection go out one after the other, so the client sees stream order. */
  async function deliver({ user, connectionId, frames }: Delivery): Promise<'delivered' | 'gone' | 'failed'> {
    try {
      for (const frame of frames) {
        const outcome = await notifier.post(connectionId, frame);
        if (outcome === 'gone') {
          await removeGoneConnection(user.userId, connectionId);
          return 'gone';
        }
        if (outcome === 'rejected') {
          const bytes = Buffer.byteLength(frame);
          logger.error('Frame rejected by API Gateway', { userId: user.userId, connectionId, bytes });
        }
      }
      // Propagation lag: from the change (its updatedAt) to the post that carried it, per connection.
      const postedAt = now();
      for (const event of user.events) {
        metrics.addMetric(METRICS.propagationLag, MetricUnit.Milliseconds, Math.max(0, postedAt - Date.parse(event.at)));
      }
      metrics.addMetric(METRICS.framesPerConnection, MetricUnit.Count, frames.length);
      return 'delivered';
    } catch (err) {
      logger.error('Post failed', { userId: user.userId, connectionId, error: err as Error });
      user.failed = true;
      return 'failed';
    }
  }

  return async function broadcast(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
    const records: DynamoDBRecord[] = event.Records ?? [];
    const failures = new Map<string, number>();
    const users = new Map<string, UserBatch>();

    records.forEach((record, index) => {
      let parsed: ReturnType<typeof parseTaskRecord>;
      try {
        parsed = parseTaskRecord(record);
      } catch (err) {
        const sequenceNumber = record.dynamodb?.SequenceNumber;
        logger.error('Poison record', { eventID: record.eventID, sequenceNumber, error: err as Error });
        // Without a SequenceNumber the record cannot be named; reporting an empty
        // identifier would make Lambda fail the whole batch.
        if (sequenceNumber) failures.set(sequenceNumber, index);
        return;
      }
      // Bookkeeping (TTL, tombstone upkeep), not a user's change.
      if (!parsed) return;
      let user = users.get(parsed.userId);
      if (!user) {
        user = {
          userId: parsed.userId,
          firstIndex: index,
          firstSequenceNumber: parsed.sequenceNumber,
          events: [],
          failed: false,
        };
        users.set(parsed.userId, user);
      }
      user.events.push(parsed.event);
    });

    const deliveries = await lookUpConnections([...users.values()]);
    const outcomes = await mapWithConcurrency(deliveries, concurrency, deliver);

    for (const user of users.values()) {
      if (user.failed) failures.set(user.firstSequenceNumber, user.firstIndex);
    }
    const batchItemFailures = [...failures.entries()]
      .sort(([, a], [, b]) => a - b)
      .map(([itemIdentifier]) => ({ itemIdentifier }));

    const counts = {
      delivered: outcomes.filter((outcome) => outcome === 'delivered').length,
      gone: outcomes.filter((outcome) => outcome === 'gone').length,
      failed: outcomes.filter((outcome) => outcome === 'failed').length,
    };
    metrics.addMetric(METRICS.recordsPerBatch, MetricUnit.Count, records.length);
    metrics.addMetric(METRICS.usersPerBatch, MetricUnit.Count, users.size);
    metrics.addMetric(METRICS.postsDelivered, MetricUnit.Count, counts.delivered);
    metrics.addMetric(METRICS.postsGone, MetricUnit.Count, counts.gone);
    metrics.addMetric(METRICS.postsFailed, MetricUnit.Count, counts.failed);
    logger.info('Batch broadcast', {
      records: records.length,
      users: users.size,
      connections: deliveries.length,
      ...counts,
      batchItemFailures: batchItemFailures.length,
    });
    return { batchItemFailures };
  };
}
