import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChangesResponse, Task } from '../../lambdas/contract.js';
import { ApiError, NetworkError, PreconditionFailedError, UnauthorizedError, type Api } from '../../web/src/api.js';
import { memoryRecordDb } from '../../web/src/idb.js';
import { inTabLock } from '../../web/src/lock.js';
import { UserDb } from '../../web/src/state/local-db.js';
import { memoryStorage, type KeyValueStorage } from '../../web/src/storage.js';
import { SyncEngine } from '../../web/src/sync/engine.js';
import type { NetworkStatus } from '../../web/src/sync/network.js';
import type { SocketLike } from '../../web/src/sync/socket.js';
import { memoryTabHub, type TabChannel } from '../../web/src/sync/tabs.js';
import { ulidFactory } from '../../web/src/ulid.js';

const T0 = '2026-11-27T10:00:00.000Z';
const A = '01JDTASK00000000000000000A';
const B = '01JDTASK00000000000000000B';
const C = '01JDTASK00000000000000000C';

function task(overrides: Partial<Task> = {}): Task {
  return { id: A, title: 'Buy milk', description: '', completed: false, createdAt: T0, updatedAt: T0, version: 1, ...overrides };
}

/**
 * The task routes in memory with the contract's rules: versions, If-Match,
 * idempotent create, versioned deletes (a deleted id answers a create with
 * 409 TASK_DELETED) and the change feed: every write is logged with a
 * sequence number, a token is `t<seq>`, and `GET /tasks/changes` answers each
 * id changed after the token once, with its latest state, oldest first.
 * `down` makes every call fail like a lost network.
 */
class FakeServer implements Api {
  tasks = new Map<string, Task>();
  deleted = new Map<string, number>();
  calls: string[] = [];
  down = false;
  failNext: Error[] = [];
  /** Tokens older than this sequence number answer 410 (tombstones expired). */
  expiredBefore = 0;
  /** Largest page of changes (the real default is 1000). */
  changesLimit = 1000;
  /** While set, every call waits for it (a slow network). */
  gate: Promise<void> | null = null;
  private log: { seq: number; id: string }[] = [];
  private seq = 0;

  // ---- what other devices do (no call is recorded) ----
  put(t: Task): Task {
    this.tasks.set(t.id, structuredClone(t));
    this.log.push({ seq: ++this.seq, id: t.id });
    return t;
  }
  remove(id: string): number {
    const version = this.tasks.get(id)!.version + 1;
    this.tasks.delete(id);
    this.deleted.set(id, version);
    this.log.push({ seq: ++this.seq, id });
    return version;
  }
  token(): string {
    return `t${this.seq}`;
  }
  /** What PONG answers a ping with this `since`. */
  behind(since: string): boolean {
    return Number(since.slice(1)) < this.seq;
  }

  private async enter(call: string, id?: string, ifMatch?: number | null): Promise<Task | undefined> {
    this.calls.push(call);
    if (this.gate) await this.gate;
    if (this.down) throw new NetworkError('offline');
    const error = this.failNext.shift();
    if (error) throw error;
    if (id === undefined) return undefined;
    const held = this.tasks.get(id);
    if (!held) throw new ApiError(404, 'NOT_FOUND', 'Task not found');
    if (ifMatch != null && ifMatch !== held.version) {
      throw new PreconditionFailedError(held, 'Version mismatch', {
        error: { code: 'PRECONDITION_FAILED', message: 'Version mismatch', current: held },
      });
    }
    return held;
  }
  private bump(held: Task, changes: Partial<Task>): Task {
    const next = { ...held, ...changes, version: held.version + 1, updatedAt: '2026-11-27T11:00:00.000Z' };
    return structuredClone(this.put(next));
  }
  async listTasks() {
    await this.enter('GET /tasks');
    return {
      tasks: [...this.tasks.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((t) => structuredClone(t)),
      nextCursor: null,
      syncToken: this.token(),
    };
  }
  async listAllTasks() {
    const { tasks, syncToken } = await this.listTasks();
    return { tasks, syncToken };
  }
  async listChanges(since: string): Promise<ChangesResponse> {
    await this.enter(`GET /tasks/changes?since=${since}`);
    const m = /^t(\d+)$/.exec(since);
    if (!m) throw new ApiError(400, 'VALIDATION_FAILED', 'since: not a sync token');
    const from = Number(m[1]);
    if (from < this.expiredBefore) throw new ApiError(410, 'RESYNC_REQUIRED', 'Sync token expired; list all tasks again');
    const latest = new Map<string, number>();
    for (const e of this.log) if (e.seq > from) latest.set(e.id, e.seq);
    const ordered = [...latest].sort((a, b) => a[1] - b[1]);
    const page = ordered.slice(0, this.changesLimit);
    const hasMore = page.length < ordered.length;
    return {
      changes: page.map(([id]) => {
        const held = this.tasks.get(id);
        return held
          ? { type: 'upsert' as const, task: structuredClone(held) }
          : { type: 'delete' as const, taskId: id, version: this.deleted.get(id)! };
      }),
      syncToken: `t${hasMore ? page.at(-1)![1] : this.seq}`,
      hasMore,
    };
  }
  async createTask(input: { id: string; title: string; description: string }) {
    await this.enter(`POST ${input.title}`);
    if (this.deleted.has(input.id)) throw new ApiError(409, 'TASK_DELETED', 'Task was deleted');
    const held = this.tasks.get(input.id);
    if (held) return structuredClone(held);
    return structuredClone(this.put({ ...task(), ...input, version: 1 }));
  }
  async updateTask(id: string, changes: { title?: string; description?: string }, ifMatch?: number | null) {
    return this.bump((await this.enter(`PUT ${id.slice(-1)} ${ifMatch}`, id, ifMatch))!, changes);
  }
  async completeTask(id: string, completed: boolean, ifMatch?: number | null) {
    return this.bump((await this.enter(`PATCH ${id.slice(-1)} ${ifMatch}`, id, ifMatch))!, { completed });
  }
  async deleteTask(id: string, ifMatch?: number | null) {
    await this.enter(`DELETE ${id.slice(-1)} ${ifMatch}`, id, ifMatch);
    this.remove(id);
  }
  /** Calls made since `from` (an index into `calls`). */
  since(from: number): string[] {
    return this.calls.slice(from);
  }
}

class FakeSocket implements SocketLike {
  sent: { action: string; since?: string }[] = [];
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(private readonly server: FakeServer) {}
  send(data: string) {
    const message = JSON.parse(data) as { action: string; since?: string };
    this.sent.push(message);
    if (message.action === 'ping') {
      const pong = message.since === undefined ? { type: 'PONG' } : { type: 'PONG', behind: this.server.behind(message.since) };
      queueMicrotask(() => this.receive(pong));
    }
  }
  close() {}
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

function fakeNetwork(online: boolean): NetworkStatus & { set(online: boolean): void } {
  const listeners = new Set<(online: boolean) => void>();
  return {
    online: () => online,
    subscribe: (l) => (listeners.add(l), () => listeners.delete(l)),
    set(value) {
      online = value;
      listeners.forEach((l) => l(value));
    },
  };
}

/** The user's IndexedDB database, over memory; pass the same one to play a reload or a second tab. */
const userDb = () => new UserDb(memoryRecordDb());

interface EngineSetup {
  db?: UserDb;
  online?: boolean;
  channel?: TabChannel;
  legacyStorage?: KeyValueStorage;
  heartbeatMs?: number;
}

function engineFor(server: FakeServer, opts: EngineSetup = {}) {
  const db = opts.db ?? userDb();
  const network = fakeNetwork(opts.online ?? true);
  const sockets: FakeSocket[] = [];
  const onUnauthorized = vi.fn();
  const engine = new SyncEngine({
    api: server,
    wsUrl: 'ws://127.0.0.1/local',
    getToken: async () => 'token',
    onUnauthorized,
    userKey: 'sub-alice',
    db,
    channel: opts.channel,
    legacyStorage: opts.legacyStorage,
    lock: inTabLock(),
    network,
    heartbeatMs: opts.heartbeatMs,
    createSocket: () => {
      const s = new FakeSocket(server);
      sockets.push(s);
      return s;
    },
    random: () => 0.5,
    newId: ulidFactory(),
  });
  /** Starts and lets the socket open, as a reachable WebSocket API would. */
  async function connect() {
    await vi.advanceTimersByTimeAsync(0);
    sockets.at(-1)?.onopen?.({});
    await vi.advanceTimersByTimeAsync(0);
  }
  const titles = () => engine.getState().tasks.map((t) => `${t.title} v${t.version}`);
  return { engine, db, network, sockets, onUnauthorized, connect, titles };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

const updatedEvent = (t: Task) => ({
  type: 'TASK_UPDATED',
  eventId: `e${t.id}${t.version}`,
  at: t.updatedAt,
  taskId: t.id,
  task: t,
});
const deletedEvent = (id: string, version: number) => ({ type: 'TASK_DELETED', eventId: `d${id}`, at: T0, taskId: id, version });

/** A user who used the dashboard before: their tasks, and what their browser kept (db). */
async function returningUser(server: FakeServer) {
  const db = userDb();
  const first = engineFor(server, { db });
  first.engine.start();
  await first.connect();
  first.engine.stop();
  return db;
}

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse(T0) });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SyncEngine', () => {
  it('shows a new task at once, then as saved once the server confirms it', async () => {
    const server = new FakeServer();
    const { engine, connect } = engineFor(server);
    engine.start();
    await connect();

    const id = engine.createTask('  Buy milk  ', 'two litres')!;
    const optimistic = engine.getState().tasks;
    await flush();

    expect(optimistic).toEqual([expect.objectContaining({ id, title: 'Buy milk', pending: true, version: 0 })]);
    expect(engine.getState().tasks).toEqual([
      expect.objectContaining({ id, title: 'Buy milk', description: 'two litres', pending: false, version: 1 }),
    ]);
    expect(server.tasks.get(id)?.title).toBe('Buy milk');
  });

  it('applies live events by version and ignores a stale one', async () => {
    const server = new FakeServer();
    const { engine, sockets, connect, titles } = engineFor(server);
    engine.start();
    await connect();

    sockets[0]!.receive({
      type: 'BATCH',
      events: [{ ...updatedEvent(task()), type: 'TASK_CREATED' }, updatedEvent(task({ version: 3, title: 'v3' }))],
    });
    sockets[0]!.receive(updatedEvent(task({ version: 2, title: 'stale' })));

    expect(titles()).toEqual(['v3 v3']);
  });

  it('catches up on reconnect and keeps offline changes on top until they are sent', async () => {
    const server = new FakeServer();
    server.put(task());
    const { engine, network, connect } = engineFor(server);
    engine.start();
    await connect();
    network.set(false);
    server.down = true;

    engine.updateTask(A, { title: 'edited offline' });
    await flush();
    // Meanwhile another device changes the description.
    server.put(task({ version: 2, description: 'from the phone' }));
    expect(engine.getState().status).toBe('offline');
    expect(engine.getState().tasks[0]).toMatchObject({ title: 'edited offline', description: '', pending: true });

    server.down = false;
    network.set(true);
    await connect();

    expect(server.calls.filter((c) => !c.startsWith('GET'))).toEqual([`PUT A 1`]);
    expect(engine.getState().conflicts).toEqual([
      {
        taskId: A,
        theirs: task({ version: 2, description: 'from the phone' }),
        mine: expect.objectContaining({ title: 'edited offline', description: 'from the phone' }),
      },
    ]);
  });

  it('sends "keep mine" with the server’s version and clears the conflict', async () => {
    const server = new FakeServer();
    server.put(task({ version: 2, title: 'theirs' }));
    const { engine, db, connect } = engineFor(server);
    engine.outbox.enqueue({ kind: 'update', taskId: A, changes: { title: 'mine' }, baseVersion: 1 });
    engine.start();
    await connect();
    expect(engine.getState().conflicts).toHaveLength(1);

    engine.resolveConflict(A, 'mine');
    await flush();

    expect(server.calls.filter((c) => c.startsWith('PUT'))).toEqual(['PUT A 1', 'PUT A 2']);
    expect(engine.getState().conflicts).toEqual([]);
    expect(engine.getState().tasks[0]).toMatchObject({ title: 'mine', version: 3, pending: false });
    expect(await db.listOps()).toEqual([]);
  });

  it('turns an edit started before a remote change into a conflict instead of overwriting it', async () => {
    const server = new FakeServer();
    server.put(task());
    const { engine, sockets, connect } = engineFor(server);
    engine.start();
    await connect();
    const openedOn = engine.getState().tasks[0]!.version;
    // While the edit form is open, another device renames the task.
    const renamed = server.put(task({ version: 2, title: 'renamed on the phone' }));
    sockets[0]!.receive(updatedEvent(renamed));

    engine.updateTask(A, { title: 'renamed here' }, openedOn);
    await flush();

    expect(server.calls.filter((c) => c.startsWith('PUT'))).toEqual(['PUT A 1']);
    expect(server.tasks.get(A)?.title).toBe('renamed on the phone');
    expect(engine.getState().conflicts).toEqual([
      { taskId: A, theirs: renamed, mine: expect.objectContaining({ title: 'renamed here' }) },
    ]);
  });

  it('rolls back a refused change and says so in a message', async () => {
    const server = new FakeServer();
    server.put(task());
    const { engine, connect } = engineFor(server);
    engine.start();
    await connect();
    server.failNext.push(new ApiError(400, 'VALIDATION_FAILED', 'description: not allowed'));

    engine.updateTask(A, { description: 'nope' });
    expect(engine.getState().tasks[0]?.description).toBe('nope');
    await flush();

    expect(engine.getState().tasks[0]).toMatchObject({ description: '', pending: false });
    expect(engine.getState().messages).toEqual([
      { id: 1, kind: 'error', text: 'Could not save “Buy milk”: description: not allowed. Your change was undone.' },
    ]);
  });

  it('keeps offline changes through a reload and sends them in order when back online', async () => {
    const server = new FakeServer();
    const db = userDb();
    const first = engineFor(server, { db, online: false });
    first.engine.start();
    await flush();
    const id = first.engine.createTask('Made offline')!;
    first.engine.setCompleted(id, true);
    await flush();
    first.engine.stop();
    expect(server.calls).toEqual([]);

    const reloaded = engineFor(server, { db, online: false });
    reloaded.engine.start();
    await flush();
    expect(reloaded.engine.getState().tasks).toEqual([
      expect.objectContaining({ id, title: 'Made offline', completed: true, pending: true }),
    ]);

    reloaded.network.set(true);
    await reloaded.connect();

    expect(server.calls.filter((c) => !c.startsWith('GET'))).toEqual(['POST Made offline', `PATCH ${id.slice(-1)} 1`]);
    expect(reloaded.engine.getState().tasks).toEqual([
      expect.objectContaining({ id, completed: true, pending: false, version: 2 }),
    ]);
  });

  it('retries after a network failure with backoff', async () => {
    const server = new FakeServer();
    const { engine, connect } = engineFor(server);
    engine.start();
    await connect();
    server.failNext.push(new NetworkError('flaky'));

    engine.createTask('retry me');
    await flush();
    expect(server.tasks.size).toBe(0);
    await vi.advanceTimersByTimeAsync(250); // attempt 0 with random 0.5

    expect(server.tasks.size).toBe(1);
    expect(engine.getState().tasks[0]?.pending).toBe(false);
  });

  it('asks for sign-in when a fresh token is refused, keeping the change queued', async () => {
    const server = new FakeServer();
    const { engine, onUnauthorized, connect } = engineFor(server);
    engine.start();
    await connect();
    server.failNext.push(new UnauthorizedError(401, 'UNAUTHORIZED', 'no'));

    engine.createTask('later');
    await flush();

    expect(onUnauthorized).toHaveBeenCalled();
    expect(engine.outbox.list()).toHaveLength(1);
  });

  it('shows loading, then an error when the first listing fails, then the tasks', async () => {
    const server = new FakeServer();
    server.put(task());
    server.failNext.push(new ApiError(503, 'SERVICE_UNAVAILABLE', 'store unavailable'));
    const { engine } = engineFor(server);
    expect(engine.getState().load).toBe('loading');

    engine.start();
    await flush();
    expect(engine.getState()).toMatchObject({ load: 'error', loadError: 'Could not load your tasks: store unavailable' });

    await vi.advanceTimersByTimeAsync(250);
    expect(engine.getState()).toMatchObject({ load: 'ready', loadError: null, tasks: [expect.objectContaining({ id: A })] });
  });

  it('says it is offline when there is nothing cached and no network', async () => {
    const { engine } = engineFor(new FakeServer(), { online: false });
    engine.start();
    await flush();
    expect(engine.getState()).toMatchObject({ load: 'error', loadError: expect.stringMatching(/offline/) });
  });

  it('refuses an empty title locally without queuing anything', () => {
    const { engine } = engineFor(new FakeServer());
    expect(engine.createTask('   ')).toBeNull();
    expect(engine.outbox.list()).toEqual([]);
    expect(engine.getState().messages[0]?.text).toMatch(/title needs 1 to 200/);
  });
});

describe('SyncEngine catch-up with the change feed', () => {
  it('lists everything on a first visit, keeps the last page’s syncToken, and sends it with the heartbeat', async () => {
    const server = new FakeServer();
    server.put(task());
    const { engine, db, connect, sockets } = engineFor(server, { heartbeatMs: 1000 });
    engine.start();
    await connect();

    expect(server.calls.every((c) => c === 'GET /tasks' || c.startsWith('GET /tasks/changes'))).toBe(true);
    expect(server.calls[0]).toBe('GET /tasks');
    expect(await db.load()).toEqual({ tasks: [task()], deleted: [], syncToken: 't1' });

    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets[0]!.sent.at(-1)).toEqual({ action: 'ping', since: 't1' });
  });

  it('after a reload shows the cached list before any answer, then asks only for the changes since the stored token', async () => {
    const server = new FakeServer();
    server.put(task());
    server.put(task({ id: B, title: 'Call mum' }));
    const db = await returningUser(server);
    // While the page was closed, another device edits A, deletes B and adds C.
    server.put(task({ version: 2, title: 'Buy oat milk' }));
    server.remove(B);
    server.put(task({ id: C, title: 'Water plants' }));
    let release!: () => void;
    server.gate = new Promise((r) => (release = r));
    const from = server.calls.length;

    const reloaded = engineFor(server, { db });
    reloaded.engine.start();
    await reloaded.connect();
    expect(reloaded.engine.getState().load).toBe('ready');
    expect(reloaded.titles()).toEqual(['Buy milk v1', 'Call mum v1']);

    release();
    server.gate = null;
    await flush();

    expect(reloaded.titles()).toEqual(['Buy oat milk v2', 'Water plants v1']);
    const calls = server.since(from);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c) => c === 'GET /tasks/changes?since=t2' || c === 'GET /tasks/changes?since=t5')).toBe(true);
    expect(calls).not.toContain('GET /tasks');
    expect(reloaded.engine.getState().messages).toEqual([]);
    expect(await db.load()).toMatchObject({ syncToken: 't5', deleted: [expect.objectContaining({ id: B, version: 2 })] });
  });

  it('asks again at once while hasMore, each time from the token just received', async () => {
    const server = new FakeServer();
    const db = await returningUser(server);
    for (const id of [A, B, C]) server.put(task({ id, title: `task ${id.slice(-1)}` }));
    server.put(task({ id: '01JDTASK00000000000000000D', title: 'task D' }));
    server.put(task({ id: '01JDTASK00000000000000000E', title: 'task E' }));
    server.changesLimit = 2;
    const from = server.calls.length;

    const reloaded = engineFor(server, { db });
    reloaded.engine.start();
    await flush();

    expect(server.since(from)).toEqual([
      'GET /tasks/changes?since=t0',
      'GET /tasks/changes?since=t2',
      'GET /tasks/changes?since=t4',
    ]);
    expect(reloaded.titles()).toEqual(['task A v1', 'task B v1', 'task C v1', 'task D v1', 'task E v1']);
    expect((await db.load()).syncToken).toBe('t5');
  });

  it('lists everything again, silently, when the token is older than the tombstones (410 RESYNC_REQUIRED)', async () => {
    const server = new FakeServer();
    server.put(task());
    server.put(task({ id: B, title: 'Call mum' }));
    const db = await returningUser(server);
    server.remove(B);
    server.put(task({ id: C, title: 'Water plants' }));
    server.expiredBefore = 4;
    const from = server.calls.length;

    const reloaded = engineFor(server, { db });
    reloaded.engine.start();
    await flush();

    expect(server.since(from)).toEqual(['GET /tasks/changes?since=t2', 'GET /tasks']);
    expect(reloaded.titles()).toEqual(['Buy milk v1', 'Water plants v1']);
    expect(reloaded.engine.getState()).toMatchObject({ load: 'ready', loadError: null, messages: [] });
    expect((await db.load()).syncToken).toBe('t4');
  });

  it('lists everything again, silently, when the server cannot read the stored token (400)', async () => {
    const server = new FakeServer();
    server.put(task());
    const db = await returningUser(server);
    await db.write({ syncToken: 'garbled%%' });
    server.put(task({ version: 2, title: 'Buy oat milk' }));
    const from = server.calls.length;

    const reloaded = engineFor(server, { db });
    reloaded.engine.start();
    await flush();

    expect(server.since(from)).toEqual(['GET /tasks/changes?since=garbled%%', 'GET /tasks']);
    expect(reloaded.titles()).toEqual(['Buy oat milk v2']);
    expect(reloaded.engine.getState().messages).toEqual([]);
    expect((await db.load()).syncToken).toBe('t2');
  });

  it('retries a catch-up that failed on the network, from the same token', async () => {
    const server = new FakeServer();
    const db = await returningUser(server);
    server.put(task());
    server.failNext.push(new NetworkError('flaky'));
    const from = server.calls.length;

    const reloaded = engineFor(server, { db });
    reloaded.engine.start();
    await flush();
    expect(reloaded.titles()).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);

    expect(server.since(from)).toEqual(['GET /tasks/changes?since=t0', 'GET /tasks/changes?since=t0']);
    expect(reloaded.titles()).toEqual(['Buy milk v1']);
  });

  it('asks only for the changes after a reconnect', async () => {
    const server = new FakeServer();
    const { engine, sockets, connect, titles } = engineFor(server);
    engine.start();
    await connect();
    const from = server.calls.length;

    sockets[0]!.onclose?.({ code: 1006, reason: '' });
    // Missed while disconnected: no event will come for it.
    server.put(task({ title: 'made elsewhere' }));
    await vi.advanceTimersByTimeAsync(250); // backoff attempt 0
    await connect();

    expect(sockets).toHaveLength(2);
    expect(server.since(from)).toEqual(['GET /tasks/changes?since=t0']);
    expect(titles()).toEqual(['made elsewhere v1']);
  });

  it('pulls the changes when a PONG says it is behind, and not when it is not', async () => {
    const server = new FakeServer();
    const { engine, sockets, connect, titles } = engineFor(server);
    engine.start();
    await connect();
    const from = server.calls.length;

    sockets[0]!.receive({ type: 'PONG', behind: false });
    sockets[0]!.receive({ type: 'PONG' });
    server.put(task({ title: 'its event was lost' }));
    sockets[0]!.receive({ type: 'PONG', behind: true });
    await flush();

    expect(server.since(from)).toEqual(['GET /tasks/changes?since=t0']);
    expect(titles()).toEqual(['its event was lost v1']);
  });

  it('replaces a token the heartbeat’s ping was refused for (ERROR frame) by listing everything', async () => {
    const server = new FakeServer();
    const { engine, sockets, connect, titles } = engineFor(server);
    engine.start();
    await connect();
    // The server no longer reads our token (a key rotation, say): its ping answer is an ERROR frame.
    server.expiredBefore = Number.POSITIVE_INFINITY;
    server.put(task({ title: 'its event was lost' }));
    const from = server.calls.length;

    sockets[0]!.receive({
      type: 'ERROR',
      code: 'BAD_REQUEST',
      message: '"since" must be a syncToken this API issued to this user',
    });
    await flush();

    expect(server.since(from)).toEqual(['GET /tasks/changes?since=t0', 'GET /tasks']);
    expect(titles()).toEqual(['its event was lost v1']);
    expect(engine.getState().messages).toEqual([]);
  });

  it('finds a lost event through the heartbeat alone, without reconnecting', async () => {
    const server = new FakeServer();
    const { engine, sockets, connect, titles } = engineFor(server, { heartbeatMs: 1000 });
    engine.start();
    await connect();
    server.put(task({ title: 'its event was lost' }));

    await vi.advanceTimersByTimeAsync(1000);

    expect(titles()).toEqual(['its event was lost v1']);
    expect(sockets).toHaveLength(1);
    // Caught up: the next ping carries the new token, and the answer is "not behind".
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets[0]!.sent.at(-1)).toEqual({ action: 'ping', since: 't1' });
  });

  it('removes a task on TASK_DELETED with its version, and a late lower-version TASK_UPDATED never brings it back, even after a reload', async () => {
    const server = new FakeServer();
    server.put(task());
    server.put(task({ id: B, title: 'Call mum' }));
    const db = userDb();
    const { engine, sockets, connect, titles } = engineFor(server, { db });
    engine.start();
    await connect();

    sockets[0]!.receive(deletedEvent(A, 3));
    sockets[0]!.receive(updatedEvent(task({ version: 2, title: 'late' })));
    expect(titles()).toEqual(['Call mum v1']);
    engine.stop();
    await flush();

    const reloaded = engineFor(server, { db, online: false });
    reloaded.engine.start();
    await flush();
    reloaded.network.set(true);
    await reloaded.connect();
    reloaded.sockets.at(-1)!.receive(updatedEvent(task({ version: 2, title: 'later still' })));
    expect(reloaded.titles()).toEqual(['Call mum v1']);
  });

  it('ignores a TASK_DELETED older than the held version', async () => {
    const server = new FakeServer();
    server.put(task({ version: 4 }));
    const { engine, sockets, connect, titles } = engineFor(server);
    engine.start();
    await connect();
    sockets[0]!.receive(deletedEvent(A, 4));
    expect(titles()).toEqual(['Buy milk v4']);
  });

  it('drops a replayed create of a task deleted since (409 TASK_DELETED) without an error, and the task stays deleted', async () => {
    const server = new FakeServer();
    server.put(task({ id: C, title: 'made and deleted elsewhere' }));
    server.remove(C);
    const { engine, connect, titles, db } = engineFor(server);
    // Queued by an earlier visit: its answer was lost, and another device deleted the task.
    engine.outbox.enqueue({ kind: 'create', taskId: C, title: 'made and deleted elsewhere', description: '' });
    engine.start();
    await connect();

    expect(server.calls).toContain('POST made and deleted elsewhere');
    expect(titles()).toEqual([]);
    expect(engine.getState().messages).toEqual([]);
    expect(await db.listOps()).toEqual([]);
  });

  it('moves the queued changes of the localStorage version into IndexedDB and sends them', async () => {
    const server = new FakeServer();
    const legacy = memoryStorage();
    const op = {
      opId: '01JDOP0000000000000000000A',
      taskId: A,
      kind: 'create',
      title: 'queued before the upgrade',
      description: '',
      at: T0,
    };
    legacy.setItem(`tasks.outbox.sub-alice.${op.opId}`, JSON.stringify(op));
    legacy.setItem('tasks.cache.sub-alice', JSON.stringify([task({ title: 'old cache' })]));
    const db = new UserDb({ ...memoryRecordDb(), persistent: Promise.resolve(true) });

    const { engine, connect, titles } = engineFor(server, { db, legacyStorage: legacy });
    engine.start();
    await connect();

    expect(server.calls).toContain('POST queued before the upgrade');
    expect(titles()).toEqual(['queued before the upgrade v1']);
    expect(legacy.length).toBe(0);
  });

  it('forgets the cached list and token on sign-out, and keeps queued changes for the next sign-in', async () => {
    const server = new FakeServer();
    server.put(task());
    const { engine, db, connect } = engineFor(server, { online: true });
    engine.start();
    await connect();
    server.down = true;
    engine.createTask('not sent yet');
    await flush();

    await engine.forgetTasks();

    expect(await db.load()).toEqual({ tasks: [], deleted: [], syncToken: null });
    expect((await db.listOps()).map((o) => o.kind)).toEqual(['create']);
  });

  it('does not refill the cleared cache with an answer that arrives after sign-out', async () => {
    const server = new FakeServer();
    const { engine, db, connect } = engineFor(server);
    engine.start();
    await connect();
    let release!: () => void;
    server.gate = new Promise((r) => (release = r));
    engine.createTask('answered after sign-out');
    await flush();

    await engine.forgetTasks();
    server.gate = null;
    release();
    await flush();

    expect(server.tasks.size).toBe(1);
    expect(await db.load()).toEqual({ tasks: [], deleted: [], syncToken: null });
  });
});

describe('SyncEngine across tabs', () => {
  it('shows another tab’s queued change, then its confirmed version without waiting for its event', async () => {
    const server = new FakeServer();
    const db = userDb();
    const hub = memoryTabHub();
    const tabA = engineFor(server, { db, channel: hub.channel() });
    const tabB = engineFor(server, { db, channel: hub.channel() });
    tabB.engine.start();
    await tabB.connect();
    server.down = true;
    tabA.engine.start();
    await flush();

    tabA.engine.createTask('from tab A');
    await flush();
    expect(tabB.engine.getState().tasks).toEqual([expect.objectContaining({ title: 'from tab A', pending: true })]);

    server.down = false;
    await tabA.engine.replay();
    await flush();
    // Tab B's socket got no event (none is sent here): the channel's message is all it has.
    expect(tabB.sockets[0]!.sent.some((m) => m.action === 'ping')).toBe(false);
    expect(tabB.engine.getState().tasks).toEqual([expect.objectContaining({ title: 'from tab A', pending: false, version: 1 })]);
  });

  it('sends a change another tab queued but cannot send (its requests fail, or it was closed)', async () => {
    const server = new FakeServer();
    const unreachable = new FakeServer();
    unreachable.down = true;
    const db = userDb();
    const hub = memoryTabHub();
    const tabA = engineFor(unreachable, { db, channel: hub.channel() });
    const tabB = engineFor(server, { db, channel: hub.channel() });
    tabB.engine.start();
    await tabB.connect();
    tabA.engine.start();
    await flush();

    tabA.engine.createTask('queued in A');
    await flush();

    const posts = (f: FakeServer) => f.calls.filter((c) => c.startsWith('POST'));
    expect(posts(unreachable)).toEqual(['POST queued in A']);
    expect(posts(server)).toEqual(['POST queued in A']);
    expect(tabB.engine.getState().tasks).toEqual([expect.objectContaining({ title: 'queued in A', pending: false, version: 1 })]);
    // Tab A learns the answer from tab B, and does not send the op again when its retry comes.
    expect(tabA.engine.getState().tasks).toEqual([expect.objectContaining({ title: 'queued in A', pending: false, version: 1 })]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(posts(unreachable)).toEqual(['POST queued in A']);
  });

  it('tells the other tabs about a delete it made', async () => {
    const server = new FakeServer();
    server.put(task());
    const db = userDb();
    const hub = memoryTabHub();
    const tabA = engineFor(server, { db, channel: hub.channel() });
    const tabB = engineFor(server, { db, channel: hub.channel() });
    tabA.engine.start();
    tabB.engine.start();
    await tabA.connect();
    await tabB.connect();

    tabA.engine.deleteTask(A);
    await flush();

    expect(server.tasks.size).toBe(0);
    expect(tabB.titles()).toEqual([]);
  });
});

describe('SyncEngine undo, bulk changes and save status', () => {
  const deletes = (server: FakeServer) => server.calls.filter((c) => c.startsWith('DELETE'));

  it('holds an undoable delete: hidden at once, sent only when the hold ends', async () => {
    const server = new FakeServer();
    server.put(task());
    const { engine, connect, titles } = engineFor(server);
    engine.start();
    await connect();

    const opIds = engine.deleteTasks([A], 6000);
    await flush();
    expect(opIds).toHaveLength(1);
    expect(titles()).toEqual([]);
    expect(deletes(server)).toEqual([]);

    await vi.advanceTimersByTimeAsync(5900);
    expect(deletes(server)).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(deletes(server)).toEqual(['DELETE A 1']);
    expect(server.tasks.size).toBe(0);
  });

  it('undo takes the held delete back: the task is back with its id, and nothing was ever sent', async () => {
    const server = new FakeServer();
    server.put(task());
    server.put(task({ id: B, title: 'Pay rent', completed: true }));
    const { engine, connect, titles, db } = engineFor(server);
    engine.start();
    await connect();

    const opIds = engine.deleteTasks([A, B], 6000);
    await flush();
    expect(titles()).toEqual([]);
    expect(engine.undo(opIds)).toEqual([A, B]);
    expect(titles()).toEqual(['Buy milk v1', 'Pay rent v1']);

    await vi.advanceTimersByTimeAsync(10_000);
    expect(deletes(server)).toEqual([]);
    expect(await db.listOps()).toEqual([]);
    // A second undo has nothing left to take back.
    expect(engine.undo(opIds)).toEqual([]);
  });

  it('sends a held delete at once when released (the toast was dismissed)', async () => {
    const server = new FakeServer();
    server.put(task());
    const { engine, connect } = engineFor(server);
    engine.start();
    await connect();

    const opIds = engine.deleteTasks([A], 6000);
    await flush();
    engine.release(opIds);
    await flush();
    expect(deletes(server)).toEqual(['DELETE A 1']);
    expect(engine.undo(opIds)).toEqual([]);
  });

  it('hides a held delete in the other tabs too, and shows the task again there after undo', async () => {
    const server = new FakeServer();
    server.put(task());
    const db = userDb();
    const hub = memoryTabHub();
    const tabA = engineFor(server, { db, channel: hub.channel() });
    const tabB = engineFor(server, { db, channel: hub.channel() });
    tabA.engine.start();
    tabB.engine.start();
    await tabA.connect();
    await tabB.connect();

    const opIds = tabA.engine.deleteTasks([A], 6000);
    await flush();
    expect(tabB.titles()).toEqual([]);

    tabA.engine.undo(opIds);
    await flush();
    expect(tabB.titles()).toEqual(['Buy milk v1']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(deletes(server)).toEqual([]);
  });

  it('keeps a held delete across a reload and sends it once its hold is over', async () => {
    const server = new FakeServer();
    server.put(task());
    const db = userDb();
    const first = engineFor(server, { db });
    first.engine.start();
    await first.connect();
    first.engine.deleteTasks([A], 6000);
    await flush();
    first.engine.stop();

    await vi.advanceTimersByTimeAsync(7000);
    expect(deletes(server)).toEqual([]);
    const reloaded = engineFor(server, { db });
    reloaded.engine.start();
    await reloaded.connect();
    expect(deletes(server)).toEqual(['DELETE A 1']);
    expect(reloaded.titles()).toEqual([]);
  });

  it('marks several tasks done in one call, leaving alone those already done', async () => {
    const server = new FakeServer();
    server.put(task());
    server.put(task({ id: B, title: 'Pay rent', completed: true }));
    server.put(task({ id: C, title: 'Call Ana' }));
    const { engine, connect } = engineFor(server);
    engine.start();
    await connect();

    expect(engine.setCompletedMany([A, B, C], true)).toBe(2);
    await flush();
    expect(server.calls.filter((c) => c.startsWith('PATCH'))).toEqual(['PATCH A 1', 'PATCH C 1']);
    expect(engine.getState().tasks.every((t) => t.completed && !t.pending)).toBe(true);
  });

  it('shows a failing save at once (badge state and one message), retries it, and clears both when it goes through', async () => {
    const server = new FakeServer();
    const { engine, connect } = engineFor(server);
    engine.start();
    await connect();
    server.down = true;

    engine.createTask('while the API is down');
    await flush();
    expect(engine.getState().save).toMatchObject({ failing: true, reason: 'the server cannot be reached' });
    const errors = () => engine.getState().messages.filter((m) => m.kind === 'error');
    expect(errors()).toEqual([
      expect.objectContaining({ text: expect.stringMatching(/not saved yet: the server cannot be reached/) }),
    ]);

    // Retried with backoff; still failing: still one message.
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.calls.filter((c) => c.startsWith('POST')).length).toBeGreaterThan(1);
    expect(errors()).toHaveLength(1);

    server.down = false;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(engine.getState().save.failing).toBe(false);
    expect(errors()).toEqual([]);
    expect(engine.getState().tasks).toEqual([expect.objectContaining({ pending: false, version: 1 })]);
  });

  it('shows a save that does not answer as failing after SLOW_SAVE_MS, before the request times out', async () => {
    const server = new FakeServer();
    const { engine, connect } = engineFor(server);
    engine.start();
    await connect();
    let answer!: () => void;
    server.gate = new Promise((resolve) => (answer = resolve));

    engine.createTask('slow');
    await vi.advanceTimersByTimeAsync(3900);
    expect(engine.getState().save.failing).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(engine.getState().save).toMatchObject({ failing: true, reason: 'the server is not answering' });

    server.gate = null;
    answer();
    await flush();
    expect(engine.getState().save.failing).toBe(false);
  });

  it('says how many queued changes were synced after a reconnect that sent them', async () => {
    const server = new FakeServer();
    server.put(task());
    const { engine, network, connect } = engineFor(server);
    engine.start();
    await connect();
    network.set(false);
    engine.createTask('offline one');
    engine.setCompleted(A, true);
    engine.updateTask(A, { title: 'Buy oat milk' });
    await flush();

    network.set(true);
    await connect();
    expect(engine.getState().messages.map((m) => m.text)).toContain('3 changes synced.');

    // An ordinary change made online says nothing of the sort.
    engine.createTask('online');
    await flush();
    expect(engine.getState().messages.filter((m) => /synced/.test(m.text))).toHaveLength(1);
  });
});

describe('SyncEngine reload with many cached tasks', () => {
  it('shows the newest tasks first, without counts, then every task', async () => {
    const server = new FakeServer();
    const ids = Array.from({ length: 150 }, (_, i) => `01JDTASK${String(i).padStart(18, '0')}`);
    for (const id of ids) server.put(task({ id, title: `t${id.slice(-3)}` }));
    const db = await returningUser(server);
    const reloaded = engineFor(server, { db });
    const seen: { tasks: number; partial: boolean; newest: string | undefined }[] = [];
    reloaded.engine.subscribe(() => {
      const s = reloaded.engine.getState();
      seen.push({ tasks: s.tasks.length, partial: s.partial, newest: s.tasks.at(-1)?.id });
    });
    reloaded.engine.start();
    await flush();

    expect(seen.find((s) => s.partial)).toEqual({ tasks: 100, partial: true, newest: ids.at(-1) });
    expect(seen.at(-1)).toMatchObject({ tasks: 150, partial: false });
    expect(reloaded.engine.getState().tasks.map((t) => t.id)).toEqual(ids);
  });
});

describe('SyncEngine: live devices and the token’s expiry', () => {
  it('shows AUTH_SUCCESS’s device count, then each PRESENCE frame’s, and none while not live', async () => {
    const server = new FakeServer();
    const { engine, sockets, connect } = engineFor(server);
    const devices = () => engine.getState().devices;
    engine.start();
    await connect();
    expect(engine.getState().status).toBe('live');
    expect(devices()).toBeNull();

    sockets[0]!.receive({ type: 'AUTH_SUCCESS', userId: 'sub-alice', connectionId: 'c1', devices: 1 });
    expect(devices()).toBe(1);
    expect(engine.getState().connectionId).toBe('c1');
    sockets[0]!.receive({ type: 'PRESENCE', devices: 3 });
    expect(devices()).toBe(3);
    // Absolute counts: the newest wins, also when lower (a device left) or repeated (at-least-once).
    sockets[0]!.receive({ type: 'PRESENCE', devices: 2 });
    sockets[0]!.receive({ type: 'PRESENCE', devices: 2 });
    expect(devices()).toBe(2);
    // Not counts: ignored.
    for (const bad of [0, -1, 1.5, '4', null]) sockets[0]!.receive({ type: 'PRESENCE', devices: bad });
    expect(devices()).toBe(2);

    // The connection drops: no count until the next connection brings its own.
    sockets[0]!.onclose?.({ code: 1006, reason: '' });
    expect(engine.getState().status).toBe('reconnecting');
    expect(devices()).toBeNull();
    sockets[0]!.receive({ type: 'PRESENCE', devices: 5 }); // a late frame of the old connection
    await vi.advanceTimersByTimeAsync(250);
    await connect();
    expect(devices()).toBeNull();
    sockets[1]!.receive({ type: 'AUTH_SUCCESS', userId: 'sub-alice', connectionId: 'c2', devices: 2 });
    expect(devices()).toBe(2);
    engine.stop();
  });

  it('shows no device count while the browser is offline', async () => {
    const server = new FakeServer();
    const { engine, sockets, network, connect } = engineFor(server);
    engine.start();
    await connect();
    sockets[0]!.receive({ type: 'AUTH_SUCCESS', userId: 'sub-alice', connectionId: 'c1', devices: 2 });
    expect(engine.getState().devices).toBe(2);

    network.set(false);

    expect(engine.getState()).toMatchObject({ status: 'offline', devices: null });
    engine.stop();
  });

  it('reconnects at once on TOKEN_EXPIRED and catches up from its sync token, without listing everything', async () => {
    const server = new FakeServer();
    server.put(task());
    const { engine, sockets, connect, titles } = engineFor(server);
    engine.start();
    await connect();
    await vi.advanceTimersByTimeAsync(60_000);
    // Made while the server no longer posted to the expired connection: its event never came.
    server.put(task({ id: B, title: 'made around the switch' }));
    const from = server.calls.length;

    sockets[0]!.receive({ type: 'ERROR', code: 'TOKEN_EXPIRED', message: 'The token expired' });
    await flush();
    expect(sockets).toHaveLength(2);
    expect(engine.getState().status).toBe('reconnecting');
    await connect();

    expect(engine.getState().status).toBe('live');
    expect(server.since(from)).toEqual(['GET /tasks/changes?since=t1']);
    expect(titles()).toEqual(['Buy milk v1', 'made around the switch v1']);
    expect(engine.getState().messages).toEqual([]);
  });
});
