import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody, Task } from '../../lambdas/contract.js';
import { apiClient, getToken, SocketClient, sleep } from '../support/clients.js';
import { startLocalStack, type RunningStack } from '../support/local-stack.js';
import { failureLines, hello, listAllTasks, until } from './helpers.js';

/** A request may take this long at most, outage or not (a bound, not a performance target). */
const REQUEST_BOUND_MS = 10_000;

interface RuntimeStats {
  streams: { streamArn: string; pollErrors: number };
  dynamodb: { pid: number | null; running: boolean; restarts: number };
}

interface Outcome {
  kind: 'create' | 'update';
  id: string;
  status: number;
  body: unknown;
  startedAt: number;
  ms: number;
  /** The version the API acknowledged (2xx only). */
  version?: number;
}

describe('DynamoDB Local killed mid-load', () => {
  let stack: RunningStack;
  let dataDir: string;
  const stats = async () => (await (await fetch(stack.info.statsUrl)).json()) as RuntimeStats;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'faults-outage-'));
    stack = await startLocalStack(['--data-dir', dataDir, '--poll-interval-ms', '50'], 90_000);
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 with the error body during the outage, keeps every acknowledged write and resumes sync without a restart of npm start', async () => {
    const { info } = stack;
    const token = await getToken(info.tokenUrl, `outage-${ulid()}`);
    const call = apiClient(info.apiUrl, token);
    const socket = await SocketClient.open(info.wsUrl, token);
    await hello(socket);
    const before = await stats();
    expect(before.dynamodb).toMatchObject({ pid: info.dynamodbPid, restarts: 0 });

    // Prepare: writers create tasks and update their own earlier tasks, without pause.
    const outcomes: Outcome[] = [];
    const acked = new Map<string, number>();
    let killedAt = 0;
    let recoveredAt = 0;
    let stop = false;
    const timed = async (kind: Outcome['kind'], id: string, send: () => ReturnType<typeof call>) => {
      const startedAt = Date.now();
      const res = await send();
      const outcome: Outcome = { kind, id, status: res.status, body: res.body, startedAt, ms: Date.now() - startedAt };
      if (res.status >= 200 && res.status < 300) {
        outcome.version = (res.body as Task).version;
        acked.set(id, Math.max(acked.get(id) ?? 0, outcome.version));
        if (killedAt && startedAt > killedAt) recoveredAt ||= Date.now();
      }
      outcomes.push(outcome);
      return res;
    };
    const writer = async (lane: number) => {
      const mine: string[] = [];
      for (let i = 0; !stop; i++) {
        if (i % 3 === 2 && mine.length > 0) {
          const id = mine[i % mine.length]!;
          await timed('update', id, () => call('PUT', `/tasks/${id}`, { body: { description: `lane ${lane} step ${i}` } }));
        } else {
          const id = ulid();
          const res = await timed('create', id, () => call('POST', '/tasks', { body: { id, title: `lane ${lane} #${i}` } }));
          if (res.status === 201) mine.push(id);
        }
        // During the outage, do not spin: one request per lane every 100 ms is plenty to probe it.
        if (killedAt && !recoveredAt) await sleep(100);
      }
    };
    const writers = Promise.all([0, 1, 2, 3].map(writer));

    // Act: kill -9 once the load is under way; keep writing until writes succeed again.
    await until('40 acknowledged writes', async () => acked.size >= 40, 30_000);
    killedAt = Date.now();
    process.kill(info.dynamodbPid, 'SIGKILL');
    await until('a write acknowledged after the kill', async () => recoveredAt > 0, 90_000, 200);
    await sleep(500);
    stop = true;
    await writers;

    // Assert: every answer was 2xx or the contract's 503, each within the bound.
    const duringOutage = outcomes.filter((o) => o.startedAt >= killedAt && o.startedAt < recoveredAt && o.status >= 300);
    const unexpected = outcomes.filter((o) => !(o.status >= 200 && o.status < 300) && o.status !== 503);
    expect(unexpected.map((o) => `${o.kind} ${o.status} ${JSON.stringify(o.body)}`)).toEqual([]);
    expect(duringOutage.length).toBeGreaterThan(0);
    for (const o of duringOutage) {
      expect(o.body).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } } satisfies ErrorBody);
    }
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    expect(slowest).toBeLessThan(REQUEST_BOUND_MS);
    // Supervised restart: a new process on the same endpoint; with a data directory the table and its stream are the same.
    const after = await stats();
    expect(after.dynamodb).toMatchObject({ running: true, restarts: 1 });
    expect(after.dynamodb.pid).not.toBe(info.dynamodbPid);
    expect(after.streams.streamArn).toBe(before.streams.streamArn);

    // Every write acknowledged (before, during or after the kill) is stored, at least at its acknowledged version.
    const stored = new Map((await listAllTasks(info.apiUrl, token)).map((t) => [t.id, t.version]));
    const missing = [...acked].filter(([id, version]) => (stored.get(id) ?? 0) < version);
    expect(missing).toEqual([]);

    // Sync resumes on the same WebSocket, through the same stream poller.
    const resumed = await call<Task>('POST', '/tasks', { body: { title: 'after the restart' } });
    expect(resumed.status).toBe(201);
    await socket.next((f) => f.type === 'TASK_CREATED' && f.taskId === resumed.body.id, 20_000).catch(() => undefined);
    expect(socket.events().some((e) => e.taskId === resumed.body.id)).toBe(true);

    // Nothing acknowledged is dropped silently: what the socket never got went to the on-failure destination
    // (the broadcaster could not read the connections table either, and the mapping's retries ran out).
    const ackedBeforeKill = outcomes.filter((o) => o.version !== undefined && o.startedAt < killedAt).length;
    const seenIds = new Set(socket.events().map((e) => e.taskId));
    const ackedNotBroadcast = [...acked.keys()].filter((id) => !seenIds.has(id));
    const discarded = (await failureLines(info.failureFile)).reduce(
      (sum, line) => sum + Number(line.DDBStreamBatchInfo.batchSize),
      0,
    );
    expect(discarded).toBeGreaterThanOrEqual(ackedNotBroadcast.length);
    console.log(
      `[faults] DynamoDB outage: ${outcomes.length} requests, ${ackedBeforeKill} acknowledged before the kill, ` +
        `${duringOutage.length} answered 503 during ${recoveredAt - killedAt} ms (kill → first acknowledged write), ` +
        `slowest request ${slowest} ms, ${acked.size} tasks acknowledged and all stored, ` +
        `${ackedNotBroadcast.length} acknowledged tasks never broadcast live, ${discarded} stream records in the on-failure destination`,
    );
    await socket.close();
  }, 180_000);

  it('answers 503 within the bound while DynamoDB Local hangs (SIGSTOP), and serves again once it resumes', async () => {
    const { info } = stack;
    const { pid } = (await stats()).dynamodb;
    if (!pid) throw new Error('DynamoDB Local is not running');
    const token = await getToken(info.tokenUrl, `hang-${ulid()}`);
    const call = apiClient(info.apiUrl, token);
    expect((await call('GET', '/tasks')).status).toBe(200);

    // A hung store accepts connections but never answers: only the client's request timeout ends the wait.
    process.kill(pid, 'SIGSTOP');
    let res: Awaited<ReturnType<typeof call>>;
    const startedAt = Date.now();
    try {
      res = await call('POST', '/tasks', { body: { title: 'while frozen' } });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const ms = Date.now() - startedAt;
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } } satisfies ErrorBody);
    expect(ms).toBeLessThan(REQUEST_BOUND_MS);
    console.log(`[faults] DynamoDB hung: POST /tasks answered ${res.status} after ${ms} ms`);

    const again = await until(
      'a write after SIGCONT',
      async () => {
        const r = await call<Task>('POST', '/tasks', { body: { title: 'after thaw' } });
        return r.status === 201 && r;
      },
      30_000,
      200,
    );
    expect(again.body.version).toBe(1);
  }, 60_000);
});
