import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Task } from '../../lambdas/contract.js';
import { ApiError, NetworkError, PreconditionFailedError, UnauthorizedError, type Api } from '../../web/src/api.js';
import { inTabLock } from '../../web/src/lock.js';
import { memoryStorage, type KeyValueStorage } from '../../web/src/storage.js';
import { SyncEngine } from '../../web/src/sync/engine.js';
import type { NetworkStatus } from '../../web/src/sync/network.js';
import type { SocketLike } from '../../web/src/sync/socket.js';
import { ulidFactory } from '../../web/src/ulid.js';

const T0 = '2026-11-27T10:00:00.000Z';

function task(overrides: Partial<Task> = {}): Task {
  return { id: '01JDTASK00000000000000000A', title: 'Buy milk', description: '', completed: false, createdAt: T0, updatedAt: T0, version: 1, ...overrides };
}

/** The task routes in memory (versions, If-Match, idempotent create); `down` makes every call fail like a lost network. */
class FakeServer implements Api {
  tasks = new Map<string, Task>();
  calls: string[] = [];
  down = false;
  failNext: Error[] = [];

  private enter(call: string, id?: string, ifMatch?: number | null): Task | undefined {
    this.calls.push(call);
    if (this.down) throw new NetworkError('offline');
    const error = this.failNext.shift();
    if (error) throw error;
    if (id === undefined) return undefined;
    const held = this.tasks.get(id);
    if (!held) throw new ApiError(404, 'NOT_FOUND', 'Task not found');
    if (ifMatch != null && ifMatch !== held.version) {
      throw new PreconditionFailedError(held, 'Version mismatch', { error: { code: 'PRECONDITION_FAILED', message: 'Version mismatch', current: held } });
    }
    return held;
  }
  private bump(held: Task, changes: Partial<Task>): Task {
    const next = { ...held, ...changes, version: held.version + 1, updatedAt: '2026-11-27T11:00:00.000Z' };
    this.tasks.set(held.id, next);
    return structuredClone(next);
  }
  async listTasks() {
    this.enter('GET /tasks');
    return { tasks: [...this.tasks.values()].map((t) => structuredClone(t)), nextCursor: null };
  }
  async listAllTasks() {
    return (await this.listTasks()).tasks;
  }
  async createTask(input: { id: string; title: string; description: string }) {
    this.enter(`POST ${input.title}`);
    const created = { ...task(), ...input, version: 1 };
    this.tasks.set(input.id, created);
    return structuredClone(created);
  }
  async updateTask(id: string, changes: { title?: string; description?: string }, ifMatch?: number | null) {
    return this.bump(this.enter(`PUT ${id.slice(-1)} ${ifMatch}`, id, ifMatch)!, changes);
  }
  async completeTask(id: string, completed: boolean, ifMatch?: number | null) {
    return this.bump(this.enter(`PATCH ${id.slice(-1)} ${ifMatch}`, id, ifMatch)!, { completed });
  }
  async deleteTask(id: string, ifMatch?: number | null) {
    this.enter(`DELETE ${id.slice(-1)} ${ifMatch}`, id, ifMatch);
    this.tasks.delete(id);
  }
}

class FakeSocket implements SocketLike {
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  send() {}
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

function engineFor(server: FakeServer, opts: { storage?: KeyValueStorage; online?: boolean } = {}) {
  const storage = opts.storage ?? memoryStorage();
  const network = fakeNetwork(opts.online ?? true);
  const sockets: FakeSocket[] = [];
  const onUnauthorized = vi.fn();
  const engine = new SyncEngine({
    api: server,
    wsUrl: 'ws://127.0.0.1/local',
    getToken: async () => 'token',
    onUnauthorized,
    userKey: 'sub-alice',
    storage,
    lock: inTabLock(),
    network,
    createSocket: () => {
      const s = new FakeSocket();
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
  return { engine, storage, network, sockets, onUnauthorized, connect };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

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
    expect(engine.getState().tasks).toEqual([expect.objectContaining({ id, title: 'Buy milk', description: 'two litres', pending: false, version: 1 })]);
    expect(server.tasks.get(id)?.title).toBe('Buy milk');
  });

  it('applies live events by version and ignores a stale one', async () => {
    const server = new FakeServer();
    const { engine, sockets, connect } = engineFor(server);
    engine.start();
    await connect();
    const event = (t: Task) => ({ type: 'TASK_UPDATED', eventId: `e${t.version}`, at: t.updatedAt, taskId: t.id, task: t });

    sockets[0]!.receive({ type: 'BATCH', events: [{ ...event(task()), type: 'TASK_CREATED' }, event(task({ version: 3, title: 'v3' }))] });
    sockets[0]!.receive(event(task({ version: 2, title: 'stale' })));

    expect(engine.getState().tasks.map((t) => [t.title, t.version])).toEqual([['v3', 3]]);
  });

  it('resyncs on reconnect and keeps offline changes on top until they are sent', async () => {
    const server = new FakeServer();
    server.tasks.set(task().id, task());
    const { engine, network, connect } = engineFor(server);
    engine.start();
    await connect();
    network.set(false);
    server.down = true;

    engine.updateTask(task().id, { title: 'edited offline' });
    await flush();
    // Meanwhile another device changes the description.
    server.tasks.set(task().id, task({ version: 2, description: 'from the phone' }));
    expect(engine.getState().status).toBe('offline');
    expect(engine.getState().tasks[0]).toMatchObject({ title: 'edited offline', description: '', pending: true });

    server.down = false;
    network.set(true);
    await connect();

    expect(server.calls.filter((c) => !c.startsWith('GET'))).toEqual([`PUT A 1`]);
    expect(engine.getState().conflicts).toEqual([
      { taskId: task().id, theirs: task({ version: 2, description: 'from the phone' }), mine: expect.objectContaining({ title: 'edited offline', description: 'from the phone' }) },
    ]);
  });

  it('sends "keep mine" with the server’s version and clears the conflict', async () => {
    const server = new FakeServer();
    server.tasks.set(task().id, task({ version: 2, title: 'theirs' }));
    const { engine, storage, connect } = engineFor(server);
    const outbox = engine.outbox;
    outbox.enqueue({ kind: 'update', taskId: task().id, changes: { title: 'mine' }, baseVersion: 1 });
    engine.start();
    await connect();
    expect(engine.getState().conflicts).toHaveLength(1);

    engine.resolveConflict(task().id, 'mine');
    await flush();

    expect(server.calls.filter((c) => c.startsWith('PUT'))).toEqual(['PUT A 1', 'PUT A 2']);
    expect(engine.getState().conflicts).toEqual([]);
    expect(engine.getState().tasks[0]).toMatchObject({ title: 'mine', version: 3, pending: false });
    expect(storage.length).toBe(1); // only the cache is left
  });

  it('turns an edit started before a remote change into a conflict instead of overwriting it', async () => {
    const server = new FakeServer();
    server.tasks.set(task().id, task());
    const { engine, sockets, connect } = engineFor(server);
    engine.start();
    await connect();
    const openedOn = engine.getState().tasks[0]!.version;
    // While the edit form is open, another device renames the task.
    const renamed = task({ version: 2, title: 'renamed on the phone' });
    server.tasks.set(renamed.id, renamed);
    sockets[0]!.receive({ type: 'TASK_UPDATED', eventId: 'e2', at: T0, taskId: renamed.id, task: renamed });

    engine.updateTask(task().id, { title: 'renamed here' }, openedOn);
    await flush();

    expect(server.calls.filter((c) => c.startsWith('PUT'))).toEqual(['PUT A 1']);
    expect(server.tasks.get(task().id)?.title).toBe('renamed on the phone');
    expect(engine.getState().conflicts).toEqual([
      { taskId: task().id, theirs: renamed, mine: expect.objectContaining({ title: 'renamed here' }) },
    ]);
  });

  it('rolls back a refused change and says so in a message', async () => {
    const server = new FakeServer();
    server.tasks.set(task().id, task());
    const { engine, connect } = engineFor(server);
    engine.start();
    await connect();
    server.failNext.push(new ApiError(400, 'VALIDATION_FAILED', 'description: not allowed'));

    engine.updateTask(task().id, { description: 'nope' });
    expect(engine.getState().tasks[0]?.description).toBe('nope');
    await flush();

    expect(engine.getState().tasks[0]).toMatchObject({ description: '', pending: false });
    expect(engine.getState().messages).toEqual([
      { id: 1, kind: 'error', text: 'Could not save “Buy milk”: description: not allowed. Your change was undone.' },
    ]);
  });

  it('keeps offline changes through a reload and sends them in order when back online', async () => {
    const server = new FakeServer();
    const storage = memoryStorage();
    const first = engineFor(server, { storage, online: false });
    first.engine.start();
    const id = first.engine.createTask('Made offline')!;
    first.engine.setCompleted(id, true);
    await flush();
    first.engine.stop();
    expect(server.calls).toEqual([]);

    const reloaded = engineFor(server, { storage, online: false });
    reloaded.engine.start();
    await flush();
    expect(reloaded.engine.getState().tasks).toEqual([expect.objectContaining({ id, title: 'Made offline', completed: true, pending: true })]);

    reloaded.network.set(true);
    await reloaded.connect();

    expect(server.calls.filter((c) => !c.startsWith('GET'))).toEqual(['POST Made offline', `PATCH ${id.slice(-1)} 1`]);
    expect(reloaded.engine.getState().tasks).toEqual([expect.objectContaining({ id, completed: true, pending: false, version: 2 })]);
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
    server.tasks.set(task().id, task());
    server.failNext.push(new ApiError(503, 'SERVICE_UNAVAILABLE', 'store unavailable'));
    const { engine } = engineFor(server);
    expect(engine.getState().load).toBe('loading');

    engine.start();
    await flush();
    expect(engine.getState()).toMatchObject({ load: 'error', loadError: 'Could not load your tasks: store unavailable' });

    await vi.advanceTimersByTimeAsync(250);
    expect(engine.getState()).toMatchObject({ load: 'ready', loadError: null, tasks: [expect.objectContaining({ id: task().id })] });
  });

  it('shows the cached list at once after a reload, before any answer', async () => {
    const server = new FakeServer();
    server.tasks.set(task().id, task());
    const storage = memoryStorage();
    const first = engineFor(server, { storage });
    first.engine.start();
    await first.connect();
    first.engine.stop();

    const reloaded = engineFor(server, { storage, online: false });

    expect(reloaded.engine.getState()).toMatchObject({ load: 'ready', tasks: [expect.objectContaining({ id: task().id })] });
  });

  it('refuses an empty title locally without queuing anything', () => {
    const { engine } = engineFor(new FakeServer());
    expect(engine.createTask('   ')).toBeNull();
    expect(engine.outbox.list()).toEqual([]);
    expect(engine.getState().messages[0]?.text).toMatch(/title needs 1 to 200/);
  });

  it('shows another tab’s queued change when its storage event arrives', () => {
    const server = new FakeServer();
    const storage = memoryStorage();
    const listeners: ((key: string | null) => void)[] = [];
    const tabB = new SyncEngine({
      api: server,
      wsUrl: 'ws://x',
      getToken: async () => 't',
      onUnauthorized: () => undefined,
      userKey: 'sub-alice',
      storage,
      lock: inTabLock(),
      network: fakeNetwork(false),
      subscribeStorage: (l) => (listeners.push(l), () => undefined),
    });
    tabB.start();
    const before = tabB.getState();
    const tabA = engineFor(server, { storage, online: false }).engine;

    tabA.createTask('from tab A');
    listeners.forEach((l) => l(storage.key(0)));

    expect(before.tasks).toEqual([]);
    expect(tabB.getState().tasks).toEqual([expect.objectContaining({ title: 'from tab A', pending: true })]);
  });
});
