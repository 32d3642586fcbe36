import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type RunningStack } from '../support/local-stack.js';
import { failureLines } from './helpers.js';
import { awaitDelivery, closeUsers, openUsers, runWrites, seeded, verify, type LoadUser } from './workload.js';

const USERS = 50;
const CONNECTIONS_PER_USER = 3;
const WRITES = 2_000;
const IN_FLIGHT = 20;
const SEED = 20261127;

let stack: RunningStack;
let users: LoadUser[] = [];

beforeAll(async () => {
  stack = await startLocalStack(['--poll-interval-ms', '50'], 90_000);
});

afterAll(async () => {
  closeUsers(users);
  await stack?.stop();
});

describe('load with no loss', () => {
  it(`ends ${USERS} users × ${CONNECTIONS_PER_USER} connections with exactly their user's state after ${WRITES} mixed writes`, async () => {
    users = await openUsers(stack.info, 'load', USERS, CONNECTIONS_PER_USER);

    const writes = await runWrites(users, WRITES, IN_FLIGHT, seeded(SEED));
    const settleMs = await awaitDelivery(users, writes.changes, 60_000);
    const verdict = await verify(stack.info, users, writes.changes);
    const stats = (await (await fetch(stack.info.statsUrl)).json()) as {
      streams: Record<string, number>;
      websocket: Record<string, number>;
    };

    const figures = {
      users: USERS,
      connections: verdict.connections,
      writes: WRITES,
      writesAcknowledged: writes.changes.length,
      mix: writes.counts,
      replayedCreates: writes.replayedCreates,
      inFlight: IN_FLIGHT,
      writeSeconds: +(writes.durationMs / 1000).toFixed(2),
      writesPerSecond: Math.round(WRITES / (writes.durationMs / 1000)),
      settleAfterLastWriteMs: settleMs,
      deliveries: verdict.deliveries,
      frames: verdict.frames,
      duplicates: verdict.duplicates,
      lost: verdict.lost,
      crossUser: verdict.crossUser,
      mismatchedConnections: verdict.mismatched.length,
      lagMs: verdict.lagMs,
      streamBatches: stats.streams.batches,
      streamRecords: stats.streams.records,
      streamRetries: stats.streams.retries,
      posts: stats.websocket.posts,
      seed: SEED,
    };
    console.log(`[faults] load figures ${JSON.stringify(figures, null, 2)}`);
    const artifacts = path.resolve(import.meta.dirname, '../artifacts');
    await mkdir(artifacts, { recursive: true });
    await writeFile(
      path.join(artifacts, 'load-figures.json'),
      `${JSON.stringify({ ...figures, at: new Date().toISOString() }, null, 2)}\n`,
    );

    expect(writes.unexpected).toEqual([]);
    expect(writes.changes).toHaveLength(WRITES);
    expect(verdict.connections).toBe(USERS * CONNECTIONS_PER_USER);
    expect(verdict.crossUser).toBe(0);
    expect(verdict.lost).toBe(0);
    expect(verdict.mismatched).toEqual([]);
    expect(await failureLines(stack.info.failureFile)).toEqual([]);
  }, 150_000);
});
