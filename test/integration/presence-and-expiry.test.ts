import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ServerFrame, Task } from '../../lambdas/contract.js';
import { TABLES } from '../../lib/definitions.js';
import { apiClient, directDb, getToken, sleep, SocketClient, taskEvents } from '../support/clients.js';
import { forge } from '../support/tokens.js';
import '../support/stack-info.js';

/**
 * Presence (connections table stream → presence function → PRESENCE frames)
 * and the token lifetime of a connection, on the real local stack: DynamoDB
 * Local's stream, the isolated functions with their IAM, real `ws` clients.
 */
const stack = inject('stack');
const newUser = () => `presence-${randomUUID()}`;

const db = directDb(stack.dynamodbEndpoint);

const sockets: SocketClient[] = [];
async function connect(token: string): Promise<SocketClient> {
  const client = await SocketClient.open(stack.wsUrl, token);
  sockets.push(client);
  return client;
}

type AuthSuccess = Extract<ServerFrame, { type: 'AUTH_SUCCESS' }>;
async function hello(client: SocketClient): Promise<AuthSuccess> {
  client.send({ action: 'hello' });
  return (await client.next((f) => f.type === 'AUTH_SUCCESS')) as AuthSuccess;
}

/** The device count the client was told last (PRESENCE frames). */
const lastPresence = (client: SocketClient) =>
  client.frames.filter((f): f is Extract<ServerFrame, { type: 'PRESENCE' }> => f.type === 'PRESENCE').at(-1)?.devices;

/** Waits until the client's latest PRESENCE says `devices`. */
const presenceReaches = (client: SocketClient, devices: number) => client.waitFor((c) => lastPresence(c) === devices, 10_000);

const closed = (client: SocketClient) =>
  new Promise<{ code: number; reason: string }>((resolve) => {
    if (client.socket.readyState === client.socket.CLOSED) resolve({ code: -1, reason: 'already closed' });
    client.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
});

describe('presence', () => {
  it('counts the user\u2019s devices in AUTH_SUCCESS and tells every device when one connects or disconnects', async () => {
    const token = await getToken(stack.tokenUrl, newUser());
    const laptop = await connect(token);
    expect((await hello(laptop)).devices).toBe(1);

    const phone = await connect(token);
    expect((await hello(phone)).devices).toBe(2);
    await presenceReaches(laptop, 2);
    await presenceReaches(phone, 2);

    const tablet = await connect(token);
    expect((await hello(tablet)).devices).toBe(3);
    await Promise.all([presenceReaches(laptop, 3), presenceReaches(phone, 3), presenceReaches(tablet, 3)]);

    await phone.close();
    await Promise.all([presenceReaches(laptop, 2), presenceReaches(tablet, 2)]);
  });

  it('never counts another user\u2019s devices', async () => {
    const alice = await getToken(stack.tokenUrl, newUser());
    const bob = await getToken(stack.tokenUrl, newUser());
    const aliceLaptop = await connect(alice);
    expect((await hello(aliceLaptop)).devices).toBe(1);

    // Bob's two devices come and go...
    const bobLaptop = await connect(bob);
    const bobPhone = await connect(bob);
    expect((await hello(bobPhone)).devices).toBe(2);
    await presenceReaches(bobLaptop, 2);
    // ...then Alice's second device connects: the marker after Bob's connects in Alice's feed.
    const alicePhone = await connect(alice);
    expect((await hello(alicePhone)).devices).toBe(2);
    await presenceReaches(aliceLaptop, 2);

    const counts = aliceLaptop.frames.filter((f) => f.type === 'PRESENCE').map((f) => (f as { devices: number }).devices);
    expect(counts.every((n) => n <= 2)).toBe(true);
  });
});

describe('a connection never outlives its token', () => {
  it('stops task events at expiry, answers the next message with TOKEN_EXPIRED and closes, and stops counting it', async () => {
    const username = newUser();
    const lifetimeSeconds = 3;
    const shortToken = await getToken(stack.tokenUrl, username, lifetimeSeconds);
    const freshToken = await getToken(stack.tokenUrl, username);
    const exp = forge.claims(shortToken).exp as number;
    const api = apiClient(stack.apiUrl, freshToken);

    const expiring = await connect(shortToken);
    const auth = await hello(expiring);
    const row = await db.send(
      new GetCommand({ TableName: TABLES.connections.localName, Key: { userId: auth.userId, connectionId: auth.connectionId } }),
    );
    expect(row.Item?.tokenExpiresAt).toBe(exp);

    // Before expiry it is live like any other connection.
    const before = await api<Task>('POST', '/tasks', { body: { title: 'before expiry' } });
    expect(before.status).toBe(201);
    await expiring.waitFor((c) => taskEvents(c.frames).some((e) => e.taskId === before.body.id));

    // Waiting for the token's expiry itself (a point in time), not for a quiet period.
    await sleep(Math.max(0, exp * 1000 - Date.now()) + 50);

    // After it: a fresh device of the same user is counted alone and gets the next event...
    const fresh = await connect(freshToken);
    expect((await hello(fresh)).devices).toBe(1);
    const after = await api<Task>('POST', '/tasks', { body: { title: 'after expiry' } });
    expect(after.status).toBe(201);
    await fresh.waitFor((c) => taskEvents(c.frames).some((e) => e.taskId === after.body.id));

    // ...and the expired connection's next message gets TOKEN_EXPIRED, then the close.
    const closing = closed(expiring);
    expiring.send({ action: 'ping' });
    const refusal = await expiring.next((f) => f.type === 'ERROR');
    expect(refusal).toMatchObject({ type: 'ERROR', code: 'TOKEN_EXPIRED', message: expect.any(String) });
    // API Gateway's DeleteConnection closes with 1000 (it cannot choose 1008); the emulator does the same.
    expect((await closing).code).toBe(1000);
    expect(taskEvents(expiring.frames).some((e) => e.taskId === after.body.id)).toBe(false);

    // $disconnect removed its row, and the presence function told the remaining device.
    await presenceReaches(fresh, 1);
    await expect
      .poll(
        async () =>
          (
            await db.send(
              new GetCommand({
                TableName: TABLES.connections.localName,
                Key: { userId: auth.userId, connectionId: auth.connectionId },
              }),
            )
          ).Item,
        { timeout: 10_000 },
      )
      .toBeUndefined();
  });
});
