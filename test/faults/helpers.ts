import { readFile } from 'node:fs/promises';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Task } from '../../lambdas/contract.js';
import { TABLES } from '../../lib/definitions.js';
import { apiClient, directDb as sharedDirectDb, sleep, type ApiResponse, type SocketClient } from '../support/clients.js';
import type { StackInfo } from '../support/stack-info.js';

/** A document client straight to the stack's DynamoDB Local (behind the API's back). */
export function directDb(stack: StackInfo): DynamoDBDocumentClient {
  return sharedDirectDb(stack.dynamodbEndpoint, {
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
  });
}

/** Sends hello and waits for AUTH_SUCCESS, so the connection row surely exists. */
export async function hello(client: SocketClient, timeoutMs = 10_000): Promise<{ userId: string; connectionId: string }> {
  client.send({ action: 'hello' });
  const frame = await client.next((f) => f.type === 'AUTH_SUCCESS', timeoutMs);
  return frame as unknown as { userId: string; connectionId: string };
}

/** Polls until `check` returns a truthy value; throws with `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Connection ids stored for a user, expired or not. */
export async function connectionRows(db: DynamoDBDocumentClient, userId: string): Promise<Array<Record<string, unknown>>> {
  const out = await db.send(
    new QueryCommand({
      TableName: TABLES.connections.localName,
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}

/** Every task of the token's user, through the API, following cursors. */
export async function listAllTasks(apiUrl: string, token: string): Promise<Task[]> {
  const call = apiClient(apiUrl, token);
  const tasks: Task[] = [];
  let cursor: string | null = null;
  do {
    const res: ApiResponse<{ tasks: Task[]; nextCursor: string | null }> = await call(
      'GET',
      `/tasks?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (res.status !== 200) throw new Error(`GET /tasks answered ${res.status}: ${res.text}`);
    tasks.push(...res.body.tasks);
    cursor = res.body.nextCursor;
  } while (cursor);
  return tasks;
}

export async function failureLines(file: string): Promise<Array<Record<string, any>>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, any>);
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}
