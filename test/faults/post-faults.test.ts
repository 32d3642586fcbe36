import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAM_MAPPING } from '../../lib/definitions.js';
import { startLocalStack, type RunningStack } from '../support/local-stack.js';
import { failureLines } from './helpers.js';
import { awaitDelivery, closeUsers, openUsers, runWrites, seeded, verify, type LoadUser } from './workload.js';

const ERROR_RATE = 0.3;
const USERS = 16;
const CONNECTIONS_PER_USER = 3;
const WRITES = 200;
// Few writes in flight: many small stream batches, hence many posts, so some exhaust the SDK's attempts.
const IN_FLIGHT = 3;

let stack: RunningStack;
let users: LoadUser[] = [];

beforeAll(async () => {
  stack = await startLocalStack(['--fault-post-error-rate', String(ERROR_RATE), '--poll-interval-ms', '50'], 90_000);
});

afterAll(async () => {
  closeUsers(users);
  await stack?.stop();
});

interface Stats {
  streams: {
    batches: number;
    records: number;
    failures: number;
    partialFailures: number;
    retries: number;
    discardedRecords: number;
  };
  websocket: { posts: number; injectedFaults: number };
}

describe('@connections throttling and errors', () => {
  it(`delivers every event to every healthy connection when ${ERROR_RATE * 100}% of posts fail, with duplicates only from retried batches`, async () => {
    users = await openUsers(stack.info, 'flaky', USERS, CONNECTIONS_PER_USER);

    // The event source mapping retries only when a post fails all of the SDK's
    // attempts (about 0.3³ per post), and how many posts a round makes depends on
    // how the stream batches it; so write further rounds, at most four, until
    // that layer has been exercised too.
    const writes = {
      changes: [] as Awaited<ReturnType<typeof runWrites>>['changes'],
      unexpected: [] as string[],
      replayedCreates: 0,
    };
    let stats: Stats;
    for (let round = 0; ; round++) {
      const result = await runWrites(users, WRITES, IN_FLIGHT, seeded(7 + round));
      writes.changes.push(...result.changes);
      writes.unexpected.push(...result.unexpected);
      writes.replayedCreates += result.replayedCreates;
      await awaitDelivery(users, writes.changes, 60_000);
      stats = (await (await fetch(stack.info.statsUrl)).json()) as Stats;
      if (stats.streams.retries > 0 || round === 3) break;
    }
    const verdict = await verify(stack.info, users, writes.changes);
    // Posts that still failed after the SDK's 3 attempts, as the broadcaster logged them.
    const failedPosts = stack
      .output()
      .split('\n')
      .filter((line) => line.includes('"message":"Post failed"')).length;
    // Records sent again by the event source mapping after a failed invocation.
    const resent = stats.streams.records - writes.changes.length;

    console.log(
      `[faults] @connections at ${ERROR_RATE * 100}% injected failures: ${stats.websocket.injectedFaults} failed post attempts, ` +
        `${failedPosts} posts still failing after the SDK's 3 attempts, ${stats.streams.failures} of ${stats.streams.batches} invocations failed ` +
        `(${stats.streams.retries} retried, ${resent} records re-sent, ${stats.streams.discardedRecords} discarded); ` +
        `${verdict.connections} connections, ${verdict.deliveries} deliveries, ${verdict.duplicates} duplicates ` +
        `(max ${verdict.maxDuplicatesPerConnection} on one connection), ${verdict.lost} lost, ${writes.replayedCreates} creates answered as replays`,
    );

    expect(writes.unexpected).toEqual([]);
    // Both retry layers were exercised: the SDK's (injected failures) and the event source mapping's.
    expect(stats.websocket.injectedFaults).toBeGreaterThan(0);
    expect(stats.streams.retries).toBeGreaterThan(0);
    // At-least-once: nothing lost, nothing skipped to the on-failure destination, every connection converged.
    expect(verdict.lost).toBe(0);
    expect(verdict.crossUser).toBe(0);
    expect(verdict.mismatched).toEqual([]);
    expect(stats.streams.discardedRecords).toBe(0);
    expect(await failureLines(stack.info.failureFile)).toEqual([]);
    // Retried within bounds: an invocation is retried only after it failed; duplicates come only from re-sent records.
    expect(stats.streams.retries).toBeLessThanOrEqual(stats.streams.failures);
    expect(verdict.maxDuplicatesPerConnection).toBeLessThanOrEqual(stats.streams.failures * STREAM_MAPPING.batchSize);
    expect(verdict.maxDuplicatesPerConnection).toBeLessThanOrEqual(resent);
  }, 300_000);
});
