/**
 * Catch-up cost with 10,000 tasks and one change: the full list (what every
 * reconnect and reload paid before the change feed) against one
 * `GET /tasks/changes` from the list's syncToken. Requests, bytes and time
 * go through the local HTTP API; read units are counted by running the same
 * handler code in this process against the stack's DynamoDB Local with
 * ReturnConsumedCapacity TOTAL on every read.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import { CHANGE_FEED, TABLES } from '../lib/definitions.js';
import type { ChangesResponse, ListTasksResponse } from '../lambdas/contract.js';
import { mapWithConcurrency } from '../lambdas/connections/concurrency.js';
import { createTasksApi } from '../lambdas/tasks/api.js';
import { createChangeLog } from '../lambdas/tasks/change-log.js';
import { createDynamoTaskStore, type TaskItem } from '../lambdas/tasks/task-store.js';
import { localClientConfig } from '../local/dynamodb/client-config.js';
import { apiClient, getToken } from '../test/support/clients.js';
import { httpEvent } from '../test/unit/fixtures/http-events.js';
import { median, round } from './stats.js';

export const SYNC_PARAMS = {
  tasks: 10_000,
  pageLimit: 100,
  trials: 5,
  seeding:
    'BatchWriteItem straight into the tasks table (25 items a call), as tasks created long before the client last synced: they have no change entries',
  task: 'title "Task 00001 · groceries and errands", description of 60 characters, like the issue\u2019s 236 bytes per task on the wire',
  change: 'one PUT /tasks/{id} (title) after the full list',
  measured:
    'requests and response bytes (body) through the local HTTP API; ms = wall time of the whole sequence, median of the trials; read_units = ConsumedCapacity TOTAL summed over every DynamoDB read of the same handler code run in the bench process',
} as const;

export interface SyncFigures {
  full_10k: { requests: number; bytes: number; ms: number; read_units: number };
  catchup_10k: { requests: number; bytes: number; ms: number; read_units: number; changes: number };
  /** The dashboard's reload in Chromium (bench/web-reload.ts), when measured. */
  web_reload?: Record<string, unknown>;
  parameters: Record<string, unknown>;
}

interface Endpoints {
  apiUrl: string;
  tokenUrl: string;
  dynamodbEndpoint: string;
}

const subOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string }).sub;

/** A document client whose reads report the capacity they consume into `units.total`. */
function countingClient(endpoint: string, units: { total: number }): DynamoDBDocumentClient {
  const client = new DynamoDBClient(localClientConfig(endpoint));
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] })
        .ConsumedCapacity;
      for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) units.total += c.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'benchCapacityCounter' },
  );
  return DynamoDBDocumentClient.from(client);
}

async function seed(endpoint: string, userId: string, count: number): Promise<string[]> {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(endpoint)));
  const ulid = monotonicFactory();
  const createdAt = new Date(Date.now() - 3_600_000).toISOString();
  const items: TaskItem[] = Array.from({ length: count }, (_, i) => ({
    userId,
    taskId: ulid(Date.parse(createdAt)),
    title: `Task ${String(i + 1).padStart(5, '0')} · groceries and errands`,
    description: 'Pick up the parcel, pay the bill, and book the dentist soon.',
    completed: i % 3 === 0,
    createdAt,
    updatedAt: createdAt,
    version: 1,
  }));
  const chunks: TaskItem[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  await mapWithConcurrency(chunks, 8, async (chunk) => {
    let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
    while (requests.length > 0) {
      const { UnprocessedItems } = await db.send(new BatchWriteCommand({ RequestItems: { [TABLES.tasks.localName]: requests } }));
      requests = (UnprocessedItems?.[TABLES.tasks.localName] ?? []) as typeof requests;
    }
  });
  db.destroy();
  return items.map((item) => item.taskId);
}

/** Every page of GET /tasks through the HTTP API. */
async function fullList(call: ReturnType<typeof apiClient>, limit: number) {
  let requests = 0;
  let bytes = 0;
  let tasks = 0;
  let cursor: string | null = null;
  let syncToken = '';
  const started = performance.now();
  do {
    const res: Awaited<ReturnType<typeof call<ListTasksResponse>>> = await call<ListTasksResponse>(
      'GET',
      `/tasks?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (res.status !== 200) throw new Error(`GET /tasks answered ${res.status}: ${res.text.slice(0, 200)}`);
    requests++;
    bytes += Buffer.byteLength(res.text);
    tasks += res.body.tasks.length;
    cursor = res.body.nextCursor;
    if (cursor === null) syncToken = res.body.syncToken ?? '';
  } while (cursor !== null);
  return { requests, bytes, tasks, syncToken, ms: performance.now() - started };
}

/** GET /tasks/changes until hasMore is false, through the HTTP API. */
async function catchUp(call: ReturnType<typeof apiClient>, since: string) {
  let requests = 0;
  let bytes = 0;
  let changes = 0;
  let token = since;
  const started = performance.now();
  for (;;) {
    const res = await call<ChangesResponse>('GET', `/tasks/changes?since=${encodeURIComponent(token)}`);
    if (res.status !== 200) throw new Error(`GET /tasks/changes answered ${res.status}: ${res.text.slice(0, 200)}`);
    requests++;
    bytes += Buffer.byteLength(res.text);
    changes += res.body.changes.length;
    token = res.body.syncToken;
    if (!res.body.hasMore) break;
  }
  return { requests, bytes, changes, ms: performance.now() - started };
}

/** Read units of the same two sequences, the handler code run here with a counting client. */
async function readUnits(endpoint: string, userId: string, since: string, pageLimit: number) {
  const units = { total: 0 };
  const client = countingClient(endpoint, units);
  const retentionSeconds = CHANGE_FEED.defaultRetentionDays * 86_400;
  const changeLog = createChangeLog(client, { tableName: TABLES.changes.localName, retentionSeconds });
  const api = createTasksApi({
    store: createDynamoTaskStore(client, { tableName: TABLES.tasks.localName, changeLog, retentionSeconds }),
    changeLog,
    retentionSeconds,
    logger: { error: () => undefined, warn: () => undefined },
  });
  const get = async (routeKey: string, query: string) => {
    const res = await api(httpEvent({ routeKey, query, sub: userId }));
    if (res.statusCode !== 200) throw new Error(`${routeKey} answered ${res.statusCode}: ${res.body}`);
    return JSON.parse(res.body ?? '{}') as Record<string, unknown>;
  };

  let cursor: string | null = null;
  do {
    const page = await get('GET /tasks', `limit=${pageLimit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    cursor = page.nextCursor as string | null;
  } while (cursor !== null);
  const full = units.total;
  units.total = 0;
  await get('GET /tasks/changes', `since=${encodeURIComponent(since)}`);
  const catchup = units.total;
  client.destroy();
  return { full, catchup };
}

export async function measureSync(endpoints: Endpoints, username: string): Promise<SyncFigures> {
  const p = SYNC_PARAMS;
  const token = await getToken(endpoints.tokenUrl, username);
  const userId = subOf(token);
  const call = apiClient(endpoints.apiUrl, token);
  const ids = await seed(endpoints.dynamodbEndpoint, userId, p.tasks);

  const fulls: Awaited<ReturnType<typeof fullList>>[] = [];
  for (let i = 0; i < p.trials; i++) fulls.push(await fullList(call, p.pageLimit));
  const full = fulls.at(-1)!;
  if (full.tasks !== p.tasks) throw new Error(`the list held ${full.tasks} tasks, expected ${p.tasks}`);

  const changed = await call('PUT', `/tasks/${ids[Math.floor(ids.length / 2)]}`, { body: { title: 'Changed once' } });
  if (changed.status !== 200) throw new Error(`PUT answered ${changed.status}`);

  const catchups: Awaited<ReturnType<typeof catchUp>>[] = [];
  for (let i = 0; i < p.trials; i++) catchups.push(await catchUp(call, full.syncToken));
  const catchup = catchups.at(-1)!;
  const units = await readUnits(endpoints.dynamodbEndpoint, userId, full.syncToken, p.pageLimit);

  return {
    full_10k: {
      requests: full.requests,
      bytes: full.bytes,
      ms: round(median(fulls.map((f) => f.ms)), 1),
      read_units: round(units.full, 1),
    },
    catchup_10k: {
      requests: catchup.requests,
      bytes: catchup.bytes,
      ms: round(median(catchups.map((c) => c.ms)), 1),
      read_units: round(units.catchup, 1),
      changes: catchup.changes,
    },
    parameters: { ...p },
  };
}
