import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { createPresenceHandler, type PresenceDeps } from '../../lambdas/connections/presence.js';
import { PostFailedError } from '../../lambdas/connections/notifier.js';

/** A KEYS_ONLY record of the connections table, as the stream delivers it. */
function record(eventName: 'INSERT' | 'REMOVE', userId: string, connectionId: string, sequence: string): DynamoDBRecord {
  return {
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: { userId: { S: userId }, connectionId: { S: connectionId } },
      SequenceNumber: sequence,
      StreamViewType: 'KEYS_ONLY',
    },
  };
}

const batch = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

function setup(connectionsOf: Record<string, string[]>, post: PresenceDeps['notifier']['post'] = async () => 'delivered') {
  const listConnectionIds = vi.fn(async (userId: string) => connectionsOf[userId] ?? []);
  const posts = vi.fn(post);
  const logger = { debug: vi.fn(), warn: vi.fn() };
  const handler = createPresenceHandler({ connections: { listConnectionIds }, notifier: { post: posts }, logger });
  return { handler, listConnectionIds, posts, logger };
}

describe('presence', () => {
  it('counts each user named in the batch once and sends the count to each of their connections', async () => {
    const { handler, listConnectionIds, posts } = setup({ alice: ['a1', 'a2', 'a3'], bob: ['b1'] });

    const result = await handler(
      batch(record('INSERT', 'alice', 'a3', '1'), record('REMOVE', 'alice', 'a0', '2'), record('INSERT', 'bob', 'b1', '3')),
    );

    expect(result).toEqual({ batchItemFailures: [] });
    expect(listConnectionIds.mock.calls.map(([userId]) => userId).sort()).toEqual(['alice', 'bob']);
    const sent = posts.mock.calls.map(([id, data]) => [id, JSON.parse(data)]);
    expect(sent).toEqual(
      expect.arrayContaining([
        ['a1', { type: 'PRESENCE', devices: 3 }],
        ['a2', { type: 'PRESENCE', devices: 3 }],
        ['a3', { type: 'PRESENCE', devices: 3 }],
        ['b1', { type: 'PRESENCE', devices: 1 }],
      ]),
    );
    expect(sent).toHaveLength(4);
  });

  it('keeps every post of the batch, across users, within one concurrency bound', async () => {
    const connectionsOf = Object.fromEntries(
      ['alice', 'bob', 'carol'].map((u) => [u, Array.from({ length: 5 }, (_, i) => `${u}-${i}`)]),
    );
    let inFlight = 0;
    let peak = 0;
    const posts = vi.fn(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      return 'delivered' as const;
    });
    const handler = createPresenceHandler({
      connections: { listConnectionIds: async (userId) => connectionsOf[userId] ?? [] },
      notifier: { post: posts },
      logger: { debug: vi.fn(), warn: vi.fn() },
      concurrency: 4,
    });

    await handler(
      batch(
        record('INSERT', 'alice', 'alice-0', '1'),
        record('INSERT', 'bob', 'bob-0', '2'),
        record('INSERT', 'carol', 'carol-0', '3'),
      ),
    );

    expect(posts).toHaveBeenCalledTimes(15);
    expect(peak).toBe(4);
  });

  it('sends nothing for a user whose last connection went away', async () => {
    const { handler, posts } = setup({});
    expect(await handler(batch(record('REMOVE', 'alice', 'a1', '7')))).toEqual({ batchItemFailures: [] });
    expect(posts).not.toHaveBeenCalled();
  });

  it('skips a connection that answers 410 (it may still be in its $connect) without failing the batch', async () => {
    const { handler, posts } = setup({ alice: ['a1', 'a2'] }, async (id) => (id === 'a1' ? 'gone' : 'delivered'));
    expect(await handler(batch(record('INSERT', 'alice', 'a2', '1')))).toEqual({ batchItemFailures: [] });
    expect(posts).toHaveBeenCalledTimes(2);
  });

  it('reports every record of a user whose count or posts failed, and only those, so the mapping retries', async () => {
    const { handler, logger } = setup({ alice: ['a1'], bob: ['b1'] }, async (id) => {
      if (id === 'b1') throw new PostFailedError('throttled');
      return 'delivered';
    });

    const result = await handler(
      batch(record('INSERT', 'alice', 'a1', '1'), record('INSERT', 'bob', 'b1', '2'), record('REMOVE', 'bob', 'b0', '3')),
    );

    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['2', '3']);
    expect(logger.warn).toHaveBeenCalledOnce();
  });

  it('reports the user\u2019s records when the connections cannot be read', async () => {
    const { handler, listConnectionIds } = setup({});
    listConnectionIds.mockRejectedValueOnce(new Error('ProvisionedThroughputExceededException'));
    expect(await handler(batch(record('INSERT', 'alice', 'a1', '9')))).toEqual({ batchItemFailures: [{ itemIdentifier: '9' }] });
  });
});
