import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ChangeEntry, ChangesResponse, ErrorBody, ListTasksResponse, ServerFrame, Task } from '../../lambdas/contract.js';
import { CHANGE_FEED } from '../../lib/definitions.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../lib/definitions.js';
import { createChangeLog } from '../../lambdas/tasks/change-log.js';
import { createDynamoTaskStore } from '../../lambdas/tasks/task-store.js';
import { apiClient, type ApiResponse, directDb, getToken, SocketClient, taskEvents } from '../support/clients.js';
import { forge } from '../support/tokens.js';
import '../support/stack-info.js';

// The change feed on the real local stack (DynamoDB Local, the gateway
// emulator, the deployed handler files): docs/design.md, "Change feed".

const stack = inject('stack');
const newUser = () => `feed-${randomUUID()}`;
/** The task API with a JSON body as third argument. */
type Api = <T = any>(method: string, path: string, body?: unknown) => Promise<ApiResponse<T>>;
const jsonApi =
  (raw: ReturnType<typeof apiClient>): Api =>
  <T>(method: string, path: string, body?: unknown) =>
    raw<T>(method, path, body === undefined ? {} : { body });

const sockets: SocketClient[] = [];
afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
});

async function signIn(username = newUser()): Promise<{ token: string; api: Api }> {
  const token = await getToken(stack.tokenUrl, username);
  return { token, api: jsonApi(apiClient(stack.apiUrl, token)) };
}

/** Every page of GET /tasks and the last page's syncToken. */
async function listAll(api: Api, limit = 100): Promise<{ tasks: Task[]; syncToken: string }> {
  const tasks: Task[] = [];
  let cursor: string | null = null;
  for (;;) {
    const query: string = `/tasks?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await api<ListTasksResponse>('GET', query);
    expect(res.status).toBe(200);
    tasks.push(...res.body.tasks);
    if (res.body.nextCursor === null) {
      expect(res.body.syncToken).toEqual(expect.any(String));
      return { tasks, syncToken: res.body.syncToken! };
    }
    expect(res.body.syncToken).toBeUndefined();
    cursor = res.body.nextCursor;
  }
}

/** A client that only pulls: its tasks by id, applied by version as the contract says. */
class Puller {
  readonly tasks = new Map<string, Task>();
  readonly deleted = new Map<string, number>();
  requests = 0;
  pages: ChangeEntry[][] = [];

  constructor(
    private readonly api: Api,
    public token: string,
  ) {}

  seed(tasks: Task[]): void {
    for (const task of tasks) this.tasks.set(task.id, task);
  }

  apply(entry: ChangeEntry): void {
    const id = entry.type === 'upsert' ? entry.task.id : entry.taskId;
    const version = entry.type === 'upsert' ? entry.task.version : entry.version;
    const held = this.tasks.get(id)?.version ?? this.deleted.get(id) ?? 0;
    if (version <= held) return;
    if (entry.type === 'upsert') this.tasks.set(id, entry.task);
    else {
      this.tasks.delete(id);
      this.deleted.set(id, version);
    }
  }

  /** Asks for changes until hasMore is false. */
  async pull(limit?: number): Promise<void> {
    for (;;) {
      const res = await this.api<ChangesResponse>(
        'GET',
        `/tasks/changes?since=${encodeURIComponent(this.token)}${limit ? `&limit=${limit}` : ''}`,
      );
      this.requests++;
      expect(res.status, res.text).toBe(200);
      this.pages.push(res.body.changes);
      for (const entry of res.body.changes) this.apply(entry);
      this.token = res.body.syncToken;
      if (!res.body.hasMore) return;
    }
  }

  state(): Record<string, number> {
    return Object.fromEntries([...this.tasks.values()].map((t) => [t.id, t.version]).sort());
  }
}

const stateOf = (tasks: Task[]) => Object.fromEntries(tasks.map((t) => [t.id, t.version]).sort());

describe('change feed', () => {
  it('answers the changes since the list with each task once at its latest state, and a versioned delete', async () => {
    const { api } = await signIn();
    const kept = await api<Task>('POST', '/tasks', { title: 'kept' });
    const listed = await listAll(api);
    expect(listed.tasks.map((t) => t.id)).toEqual([kept.body.id]);

    const created = await api<Task>('POST', '/tasks', { title: 'new' });
    await api('PUT', `/tasks/${created.body.id}`, { title: 'renamed' });
    await api('PATCH', `/tasks/${created.body.id}/complete`);
    const doomed = await api<Task>('POST', '/tasks', { title: 'doomed' });
    expect((await api('DELETE', `/tasks/${doomed.body.id}`)).status).toBe(204);

    const res = await api<ChangesResponse>('GET', `/tasks/changes?since=${encodeURIComponent(listed.syncToken)}`);

    expect(res.status).toBe(200);
    expect(res.body.hasMore).toBe(false);
    const byId = new Map(res.body.changes.map((c) => [c.type === 'upsert' ? c.task.id : c.taskId, c]));
    expect(byId.get(created.body.id)).toEqual({
      type: 'upsert',
      task: expect.objectContaining({ title: 'renamed', completed: true, version: 3 }),
    });
    expect(byId.get(doomed.body.id)).toEqual({ type: 'delete', taskId: doomed.body.id, version: 2 });
    expect(res.body.changes.filter((c) => c.type === 'upsert' && c.task.id === created.body.id)).toHaveLength(1);
    // Applying list + changes gives the server state.
    const puller = new Puller(api, listed.syncToken);
    puller.seed(listed.tasks);
    for (const entry of res.body.changes) puller.apply(entry);
    expect(puller.state()).toEqual(stateOf((await listAll(api)).tasks));
  });

  it('pages with hasMore and a token that resumes after the last entry, never more than the limit per page', async () => {
    const { api } = await signIn();
    const start = await listAll(api);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await api<Task>('POST', '/tasks', { title: `t${i}` })).body.id);

    const puller = new Puller(api, start.syncToken);
    await puller.pull(3);

    expect(puller.pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(new Set(puller.pages.flat().map((c) => (c.type === 'upsert' ? c.task.id : c.taskId)))).toEqual(new Set(ids));
    expect(puller.state()).toEqual(stateOf((await listAll(api)).tasks));
  });

  it('gives the list\u2019s last page a token that covers a change made while the list was being paged', async () => {
    const { api } = await signIn();
    for (let i = 0; i < 4; i++) await api('POST', '/tasks', { title: `page ${i}` });
    const first = await api<ListTasksResponse>('GET', '/tasks?limit=2');
    // Written between the pages, at an id that sorts before the cursor: the pages miss it.
    const early = await api<Task>('POST', '/tasks', { id: '00000000000000000000000001', title: 'early' });
    const second = await api<ListTasksResponse>('GET', `/tasks?limit=100&cursor=${encodeURIComponent(first.body.nextCursor!)}`);
    expect(second.body.tasks.map((t) => t.id)).not.toContain(early.body.id);

    const puller = new Puller(api, second.body.syncToken!);
    puller.seed([...first.body.tasks, ...second.body.tasks]);
    await puller.pull();

    expect(puller.state()).toEqual(stateOf((await listAll(api)).tasks));
  });

  it('answers 400 for a malformed, tampered or foreign token, and for a bad limit', async () => {
    const alice = await signIn();
    const bob = await signIn();
    const { syncToken } = await listAll(alice.api);
    const tampered = syncToken.slice(0, 10) + (syncToken[10] === 'A' ? 'B' : 'A') + syncToken.slice(11);
    const cases: [string, Api, string][] = [
      ['malformed', alice.api, 'since=not-a-token'],
      ['tampered', alice.api, `since=${tampered}`],
      ['appended', alice.api, `since=${syncToken}A`],
      ['another user\u2019s', bob.api, `since=${syncToken}`],
      ['missing', alice.api, ''],
      ['limit 0', alice.api, `since=${syncToken}&limit=0`],
      ['limit over 1000', alice.api, `since=${syncToken}&limit=1001`],
    ];
    for (const [label, api, query] of cases) {
      const res = await api<ErrorBody>('GET', `/tasks/changes?${query}`);
      expect(res.status, label).toBe(400);
      expect(res.body.error.code, label).toBe('VALIDATION_FAILED');
    }
  });

  it('never shows one user\u2019s changes to another, whatever token they hold', async () => {
    const alice = await signIn();
    const bob = await signIn();
    const bobStart = await listAll(bob.api);
    await alice.api('POST', '/tasks', { title: 'alice only' });

    const puller = new Puller(bob.api, bobStart.syncToken);
    await puller.pull();

    expect(puller.pages.flat()).toEqual([]);
  });

  it('keeps deletes deleted: versioned TASK_DELETED, 404 on every route, 409 TASK_DELETED on a replayed create', async () => {
    const { token, api } = await signIn();
    const socket = await SocketClient.open(stack.wsUrl, token);
    sockets.push(socket);
    socket.send({ action: 'hello' });
    await socket.next((f) => f.type === 'AUTH_SUCCESS');

    const created = await api<Task>('POST', '/tasks', { title: 'short-lived' });
    await api('PUT', `/tasks/${created.body.id}`, { description: 'v2' });
    expect((await api('DELETE', `/tasks/${created.body.id}`)).status).toBe(204);
    const deleted = await socket.waitFor((c) => c.events().find((e) => e.type === 'TASK_DELETED'));
    expect(deleted).toMatchObject({ taskId: created.body.id, version: 3 });

    const replay = await api<ErrorBody>('POST', '/tasks', { id: created.body.id, title: 'short-lived' });
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('TASK_DELETED');
    for (const [method, path, body] of [
      ['GET', `/tasks/${created.body.id}`, undefined],
      ['PUT', `/tasks/${created.body.id}`, { title: 'back?' }],
      ['PATCH', `/tasks/${created.body.id}/complete`, undefined],
      ['DELETE', `/tasks/${created.body.id}`, undefined],
    ] as const) {
      expect((await api(method, path, body)).status, `${method} ${path}`).toBe(404);
    }
    expect((await listAll(api)).tasks).toEqual([]);

    // A marker written after the refused writes: nothing resurrected the task before it.
    const marker = await api<Task>('POST', '/tasks', { title: 'marker' });
    await socket.waitFor((c) => c.events().some((e) => e.taskId === marker.body.id));
    const after = taskEvents(socket.frames).filter((e) => e.taskId === created.body.id);
    expect(after.map((e) => e.type)).toEqual(['TASK_CREATED', 'TASK_UPDATED', 'TASK_DELETED']);
  });

  it('brings a client that only pulls to the full list while 8 writers of its user commit concurrently', async () => {
    const { api } = await signIn();
    const seeded: string[] = [];
    for (let i = 0; i < 8; i++) seeded.push((await api<Task>('POST', '/tasks', { title: `seed ${i}` })).body.id);
    const start = await listAll(api);
    const puller = new Puller(api, start.syncToken);
    puller.seed(start.tasks);

    let writing = true;
    const pulling = (async () => {
      while (writing) await puller.pull(5);
    })();
    const statuses: number[] = [];
    const writer = async (w: number) => {
      for (let i = 0; i < 12; i++) {
        const target = seeded[(w + i) % seeded.length]!;
        const op = (w + i) % 4;
        let res: Awaited<ReturnType<Api>>;
        if (op === 0) res = await api('POST', '/tasks', { title: `w${w}-${i}` });
        else if (op === 1) res = await api('PUT', `/tasks/${target}`, { description: `w${w}-${i}` });
        else if (op === 2) res = await api('PATCH', `/tasks/${target}/complete`, { completed: i % 2 === 0 });
        else if (i === 11) res = await api('DELETE', `/tasks/${target}`);
        else res = await api('PUT', `/tasks/${target}`, { title: `t w${w}-${i}` });
        statuses.push(res.status);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    // Every write landed, but those on a task another writer had deleted (404).
    expect(statuses.filter((s) => s !== 404).every((s) => s === 200 || s === 201 || s === 204)).toBe(true);
    expect(statuses.filter((s) => s === 200 || s === 201).length).toBeGreaterThan(80);
    expect(statuses.filter((s) => s === 204).length).toBeGreaterThan(0);
    writing = false;
    await pulling;
    await puller.pull();

    const truth = await listAll(api);
    expect(puller.state()).toEqual(stateOf(truth.tasks));
    expect(puller.requests).toBeGreaterThan(1);
  });

  it('does not skip a write that commits after a later writer\u2019s, even when a pull lands in between', async () => {
    // Writer A is the real task store on the stack's DynamoDB Local, held
    // between its change entry and its task write; writer B and the pulls go
    // through the HTTP API. Without the safety window the second pull would
    // start after A's entry and miss A's update for good.
    const { token, api } = await signIn();
    const userId = forge.claims(token).sub as string;
    const task = (await api<Task>('POST', '/tasks', { title: 'before' })).body;
    const other = (await api<Task>('POST', '/tasks', { title: 'other' })).body;
    const start = await listAll(api);
    const puller = new Puller(api, start.syncToken);
    puller.seed(start.tasks);

    const client = directDb(stack.dynamodbEndpoint);
    const retentionSeconds = CHANGE_FEED.defaultRetentionDays * 86_400;
    const changeLog = createChangeLog(client, { tableName: TABLES.changes.localName, retentionSeconds });
    let entered!: () => void;
    let release!: () => void;
    const entryWritten = new Promise<void>((resolve) => (entered = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const heldLog = {
      record: async (...args: Parameters<typeof changeLog.record>) => {
        await changeLog.record(...args);
        entered();
        await gate;
      },
    };
    const storeA = createDynamoTaskStore(client, { tableName: TABLES.tasks.localName, changeLog: heldLog, retentionSeconds });
    const writingA = storeA.update(userId, task.id, { title: 'written by A' }, new Date().toISOString(), undefined);
    await entryWritten;

    expect((await api('PUT', `/tasks/${other.id}`, { title: 'written by B' })).status).toBe(200);
    await puller.pull();
    expect(puller.tasks.get(other.id)?.title).toBe('written by B');
    expect(puller.tasks.get(task.id)?.title).toBe('before');

    release();
    await writingA;
    await puller.pull();

    expect(puller.tasks.get(task.id)?.title).toBe('written by A');
    expect(puller.state()).toEqual(stateOf((await listAll(api)).tasks));
    client.destroy();
  });

  it('answers ping with since: behind after a change, and not behind once the last change is a safety window old', async () => {
    const { token, api } = await signIn();
    const socket = await SocketClient.open(stack.wsUrl, token);
    sockets.push(socket);
    const ping = async (since: string) => {
      socket.send({ action: 'ping', since });
      return (await socket.next((f) => f.type === 'PONG' || f.type === 'ERROR', 10_000)) as ServerFrame;
    };
    const start = await listAll(api);
    expect(await ping(start.syncToken)).toEqual({ type: 'PONG', behind: false });

    await api('POST', '/tasks', { title: 'makes it behind' });
    expect(await ping(start.syncToken)).toEqual({ type: 'PONG', behind: true });
    expect(await ping('garbage')).toMatchObject({ type: 'ERROR', code: 'BAD_REQUEST' });
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);

    // A client that keeps pulling converges to behind: false within the window (contract: ≤ 60 s).
    const puller = new Puller(api, start.syncToken);
    const deadline = Date.now() + (CHANGE_FEED.safetyWindowSeconds + 20) * 1000;
    let last: ServerFrame | undefined;
    while (Date.now() < deadline) {
      await puller.pull();
      last = await ping(puller.token);
      if (last.type === 'PONG' && last.behind === false) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(last).toEqual({ type: 'PONG', behind: false });
  }, 60_000);
});
