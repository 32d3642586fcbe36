import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Task, TaskEvent } from '../../lambdas/contract.js';
import { LIMITS, TABLES } from '../../lib/definitions.js';
import { apiClient, directDb, getToken, sleep, SocketClient, taskEvents } from '../support/clients.js';
import { forge } from '../support/tokens.js';
import '../support/stack-info.js';

const stack = inject('stack');
const newUser = () => `rt-${randomUUID()}`;

const db = directDb(stack.dynamodbEndpoint);

const sockets: SocketClient[] = [];
async function connect(token: string): Promise<SocketClient> {
  const client = await SocketClient.open(stack.wsUrl, token);
  sockets.push(client);
  return client;
}

/** Sends hello and waits for AUTH_SUCCESS, so the connection row surely exists. */
async function hello(client: SocketClient) {
  client.send({ action: 'hello' });
  return client.next((f) => f.type === 'AUTH_SUCCESS') as Promise<{ type: 'AUTH_SUCCESS'; userId: string; connectionId: string }>;
}

async function failureLines(): Promise<Array<Record<string, any>>> {
  const text = await readFile(stack.failureFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, any>);
}

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
});

describe('WebSocket messages', () => {
  let token: string;
  beforeAll(async () => {
    token = await getToken(stack.tokenUrl, newUser());
  });

  it('answers hello with AUTH_SUCCESS carrying the token subject and ping with PONG', async () => {
    const client = await connect(token);
    const auth = await hello(client);
    expect(auth.userId).toBe(forge.claims(token).sub);
    expect(auth.connectionId).toEqual(expect.any(String));
    client.send({ action: 'ping' });
    expect(await client.next((f) => f.type === 'PONG')).toEqual({ type: 'PONG' });
  });

  it('answers anything else with ERROR BAD_REQUEST and keeps the connection open', async () => {
    const client = await connect(token);
    for (const message of ['not json', '{"action":"dance"}', '[]', '{"noAction":true}']) {
      client.send(message);
      const error = await client.next((f) => f.type === 'ERROR');
      expect(error).toMatchObject({ type: 'ERROR', code: 'BAD_REQUEST', message: expect.any(String) });
    }
    client.send({ action: 'ping' });
    await client.next((f) => f.type === 'PONG');
  });

  it('refuses the handshake with 401 for a missing, forged or garbage token', async () => {
    const genuine = await getToken(stack.tokenUrl, newUser());
    expect(await SocketClient.handshakeStatus(stack.wsUrl)).toBe(401);
    for (const bad of ['garbage', forge.algNone(genuine), forge.tamperedSub(genuine, 'x'), forge.foreignKey(genuine)]) {
      expect(await SocketClient.handshakeStatus(`${stack.wsUrl}?token=${encodeURIComponent(bad)}`)).toBe(401);
    }
    expect(await SocketClient.handshakeStatus(`${stack.wsUrl}?token=${encodeURIComponent(genuine)}`)).toBe(101);
  });
});

describe('live sync', () => {
  it("delivers every event, in order, to both of a user's clients and none to another user", async () => {
    const aliceToken = await getToken(stack.tokenUrl, newUser());
    const bobToken = await getToken(stack.tokenUrl, newUser());
    const [tab1, tab2, bob] = await Promise.all([connect(aliceToken), connect(aliceToken), connect(bobToken)]);
    await Promise.all([hello(tab1), hello(tab2), hello(bob)]);
    const alice = apiClient(stack.apiUrl, aliceToken);

    const created = (await alice<Task>('POST', '/tasks', { body: { title: 'Shared' } })).body;
    await alice('PUT', `/tasks/${created.id}`, { body: { description: 'more' } });
    await alice('PATCH', `/tasks/${created.id}/complete`);
    const second = (await alice<Task>('POST', '/tasks', { body: { title: 'Second' } })).body;
    await alice('DELETE', `/tasks/${created.id}`);

    const expected = [
      ['TASK_CREATED', created.id, 1],
      ['TASK_UPDATED', created.id, 2],
      ['TASK_UPDATED', created.id, 3],
      ['TASK_CREATED', second.id, 1],
      ['TASK_DELETED', created.id, 4],
    ];
    const summary = (events: TaskEvent[]) =>
      events.map((e) => [e.type, e.taskId, e.type === 'TASK_DELETED' ? e.version : e.task.version]);
    for (const tab of [tab1, tab2]) {
      await tab.waitFor((c) => c.events().length >= expected.length);
      expect(summary(tab.events())).toEqual(expected);
      const [first] = tab.events();
      expect(first).toMatchObject({ eventId: expect.any(String), at: expect.any(String), task: created });
    }
    // Bob's socket was open the whole time. His own write after Alice's comes later on the
    // stream, so once it arrives anything of Alice's that went to him would have too.
    const marker = (await apiClient(stack.apiUrl, bobToken)<Task>('POST', '/tasks', { body: { title: 'marker' } })).body;
    await bob.waitFor((c) => c.events().some((e) => e.taskId === marker.id));
    expect(bob.events().map((e) => e.taskId)).toEqual([marker.id]);
  });

  it('coalesces several changes of one stream batch into BATCH frames without losing order', async () => {
    const token = await getToken(stack.tokenUrl, newUser());
    const client = await connect(token);
    await hello(client);
    const api = apiClient(stack.apiUrl, token);
    const task = (await api<Task>('POST', '/tasks', { body: { title: 'bulk' } })).body;
    // 20 concurrent updates of one task commit one after the other (versions 2..21), so the
    // stream order, and the order every client must see, is the version order.
    const updates = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api<Task>('PUT', `/tasks/${task.id}`, { body: { description: `update ${i}` } })),
    );
    expect(updates.map((r) => r.status)).toEqual(Array(20).fill(200));

    await client.waitFor((c) => c.events().length >= 21);
    const versions = client.events().map((e) => (e.type === 'TASK_DELETED' ? e.version : e.task.version));
    expect(versions).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    const batches = client.frames.filter((f) => f.type === 'BATCH');
    expect(batches.length, 'at least one stream batch held several of the updates').toBeGreaterThan(0);
    for (const frame of batches) {
      expect(frame.events.length).toBeGreaterThan(1);
      expect(Buffer.byteLength(JSON.stringify(frame))).toBeLessThanOrEqual(LIMITS.batchFrameMaxBytes);
    }
  });

  it('deletes a stale connection row after @connections answers 410 and still delivers to live clients', async () => {
    const token = await getToken(stack.tokenUrl, newUser());
    const userId = forge.claims(token).sub as string;
    const live = await connect(token);
    await hello(live);
    const staleId = `stale${randomUUID().replace(/-/g, '').slice(0, 10)}=`;
    // A young row answering 410 may be a connection still in its handshake: the broadcaster keeps it.
    const youngId = `young${randomUUID().replace(/-/g, '').slice(0, 10)}=`;
    const row = (connectionId: string, connectedAtMs: number) =>
      new PutCommand({
        TableName: TABLES.connections.localName,
        Item: {
          userId,
          connectionId,
          connectedAt: new Date(connectedAtMs).toISOString(),
          expiresAt: Math.floor(Date.now() / 1000) + 3600,
        },
      });
    await db.send(row(staleId, Date.now() - (LIMITS.connectGraceSeconds + 60) * 1000));
    await db.send(row(youngId, Date.now()));

    const task = (await apiClient(stack.apiUrl, token)<Task>('POST', '/tasks', { body: { title: 'wake the broadcaster' } })).body;
    await live.waitFor((c) => c.events().some((e) => e.taskId === task.id));

    const deadline = Date.now() + 5_000;
    let gone: unknown = {};
    while (gone && Date.now() < deadline) {
      gone = (await db.send(new GetCommand({ TableName: TABLES.connections.localName, Key: { userId, connectionId: staleId } })))
        .Item;
      if (gone) await sleep(100);
    }
    expect(gone).toBeUndefined();
    // A later batch of the same shard runs only after that invocation finished: its delivery marks every delete attempted.
    const marker = (await apiClient(stack.apiUrl, token)<Task>('POST', '/tasks', { body: { title: 'marker' } })).body;
    await live.waitFor((c) => c.events().some((e) => e.taskId === marker.id));
    const remaining = await db.send(
      new QueryCommand({
        TableName: TABLES.connections.localName,
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': userId },
      }),
    );
    // The live connection's row and the young one (removed by $disconnect or TTL, never by a 410 in its first seconds).
    expect(remaining.Items?.map((i) => i.connectionId).sort()).toEqual([(await hello(live)).connectionId, youngId].sort());
  });

  it('removes the connection row when the client disconnects', async () => {
    const token = await getToken(stack.tokenUrl, newUser());
    const userId = forge.claims(token).sub as string;
    const client = await connect(token);
    const { connectionId } = await hello(client);
    const key = { userId, connectionId };
    expect((await db.send(new GetCommand({ TableName: TABLES.connections.localName, Key: key }))).Item).toMatchObject({
      expiresAt: expect.any(Number),
    });
    await client.close();
    const deadline = Date.now() + 5_000;
    let row: unknown = {};
    while (row && Date.now() < deadline) {
      row = (await db.send(new GetCommand({ TableName: TABLES.connections.localName, Key: key }))).Item;
      if (row) await sleep(100);
    }
    expect(row).toBeUndefined();
  });

  it('reports a poison record to the on-failure destination without blocking the records after it', async () => {
    const token = await getToken(stack.tokenUrl, newUser());
    const userId = forge.claims(token).sub as string;
    const client = await connect(token);
    await hello(client);
    const linesBefore = (await failureLines()).length;
    // Written behind the API's back: an item the broadcaster cannot turn into a task.
    const poisonId = '01JPO1S0N0000000000000000Z';
    await db.send(
      new PutCommand({ TableName: TABLES.tasks.localName, Item: { userId, taskId: poisonId, version: 'not-a-number' } }),
    );
    const after = (await apiClient(stack.apiUrl, token)<Task>('POST', '/tasks', { body: { title: 'after the poison' } })).body;

    await client.waitFor((c) => c.events().some((e) => e.taskId === after.id), 15_000);
    expect(client.events().some((e) => e.taskId === poisonId)).toBe(false);

    const deadline = Date.now() + 15_000;
    let lines = await failureLines();
    while (lines.length === linesBefore && Date.now() < deadline) {
      await sleep(200);
      lines = await failureLines();
    }
    // The destination holds batch metadata (shard, sequence numbers), as an SQS on-failure message does.
    expect(lines.length).toBe(linesBefore + 1);
    expect(lines.at(-1)).toMatchObject({
      DDBStreamBatchInfo: { shardId: expect.any(String), startSequenceNumber: expect.any(String) },
    });
  });
});
