import { describe, expect, it } from 'vitest';
import type { Task } from '../../lambdas/contract.js';
import { ApiError, NetworkError, PreconditionFailedError, UnauthorizedError, type Api } from '../../web/src/api.js';
import { inTabLock } from '../../web/src/lock.js';
import { applyOps, type Op } from '../../web/src/state/ops.js';
import { Outbox, sendWith, type ReplayHooks } from '../../web/src/state/outbox.js';
import { TaskStore } from '../../web/src/state/store.js';
import { memoryRecordDb } from '../../web/src/idb.js';
import { UserDb } from '../../web/src/state/local-db.js';
import { ulidFactory } from '../../web/src/ulid.js';

const T0 = '2026-11-27T10:00:00.000Z';

function task(overrides: Partial<Task> = {}): Task {
  return {
    id: 'T1',
    title: 'Buy milk',
    description: '',
    completed: false,
    createdAt: T0,
    updatedAt: T0,
    version: 1,
    ...overrides,
  };
}

type Call = { method: string; id: string; ifMatch?: number | null; body?: unknown };

/**
 * The task routes' observable rules, in memory: versions, If-Match → 412
 * with the current task, idempotent create by id. Only what the outbox needs.
 */
class FakeTasksApi implements Pick<Api, 'createTask' | 'updateTask' | 'completeTask' | 'deleteTask'> {
  readonly tasks = new Map<string, Task>();
  readonly calls: Call[] = [];
  /** Errors thrown by the next calls, in order. */
  readonly failNext: Error[] = [];

  private check(call: Call): Task | undefined {
    this.calls.push(call);
    const error = this.failNext.shift();
    if (error) throw error;
    const held = this.tasks.get(call.id);
    if (call.method === 'POST') return held;
    if (!held) throw new ApiError(404, 'NOT_FOUND', 'Task not found');
    if (call.ifMatch != null && call.ifMatch !== held.version) {
      throw new PreconditionFailedError(structuredClone(held), 'Version mismatch', {
        error: { code: 'PRECONDITION_FAILED', message: 'Version mismatch', current: held },
      });
    }
    return held;
  }

  private bump(held: Task, changes: Partial<Task>): Task {
    const next = { ...held, ...changes, version: held.version + 1 };
    this.tasks.set(held.id, next);
    return structuredClone(next);
  }

  /** Ids deleted on the server: a create of one answers 409 TASK_DELETED (never recreated). */
  readonly deleted = new Set<string>();

  async createTask(input: { id: string; title: string; description: string }): Promise<Task> {
    const held = this.check({ method: 'POST', id: input.id, body: input });
    if (this.deleted.has(input.id)) throw new ApiError(409, 'TASK_DELETED', 'Task was deleted');
    if (held) {
      if (held.title !== input.title || held.description !== input.description) throw new ApiError(409, 'CONFLICT', 'Id taken');
      return structuredClone(held);
    }
    const created = { ...task(), ...input, version: 1 };
    this.tasks.set(input.id, created);
    return structuredClone(created);
  }

  async updateTask(id: string, changes: { title?: string; description?: string }, ifMatch?: number | null): Promise<Task> {
    return this.bump(this.check({ method: 'PUT', id, ifMatch, body: changes })!, changes);
  }

  async completeTask(id: string, completed: boolean, ifMatch?: number | null): Promise<Task> {
    return this.bump(this.check({ method: 'PATCH', id, ifMatch, body: { completed } })!, { completed });
  }

  async deleteTask(id: string, ifMatch?: number | null): Promise<void> {
    this.check({ method: 'DELETE', id, ifMatch });
    this.tasks.delete(id);
    this.deleted.add(id);
  }
}

function recordingHooks() {
  const log: string[] = [];
  const hooks: ReplayHooks = {
    applied: (op, t) => log.push(`applied ${op.kind} ${op.taskId} v${t?.version ?? '-'}`),
    conflict: (op, current) => log.push(`conflict ${op.kind} ${op.taskId} server v${current.version}`),
    rejected: (op, error, dropped) => log.push(`rejected ${op.kind} ${op.taskId} ${error.status} dropped ${dropped.length}`),
  };
  return { log, hooks };
}

/** The user's database (IndexedDB in the browser) over memory; share it to play several tabs or a reload. */
const userDb = () => new UserDb(memoryRecordDb());

function outboxOver(db: UserDb, lock = inTabLock(), onStored?: () => void): Outbox {
  return new Outbox({ store: db, namespace: 'user-1', lock, newId: ulidFactory(), now: () => new Date(T0), onStored });
}

/** An outbox as a reloaded page has it: read from the database. */
async function reloaded(db: UserDb, lock = inTabLock()): Promise<Outbox> {
  const outbox = outboxOver(db, lock);
  await outbox.load();
  return outbox;
}

describe('Outbox persistence', () => {
  it('keeps queued ops across a reload, in the order they were made', async () => {
    const db = userDb();
    const before = outboxOver(db);
    before.enqueue({ kind: 'create', taskId: 'T1', title: 'a', description: '' });
    before.enqueue({ kind: 'update', taskId: 'T1', changes: { title: 'b' }, baseVersion: null });
    before.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: null });
    await before.load(); // after the writes already made

    const afterReload = await reloaded(db);

    expect(afterReload.list().map((op) => op.kind)).toEqual(['create', 'update', 'complete']);
    expect(afterReload.list()).toEqual(before.list());
  });

  it('shows an op at once, before IndexedDB has stored it, and tells the other tabs once it has', async () => {
    const db = userDb();
    const stored: number[] = [];
    const outbox = outboxOver(db, inTabLock(), () => stored.push((outbox.list() as Op[]).length));
    const op = outbox.enqueue({ kind: 'delete', taskId: 'T1', baseVersion: 1 });

    expect(outbox.list()).toEqual([op]);
    expect(await db.listOps()).toEqual([]);
    await outbox.load();
    expect(await db.listOps()).toEqual([op]);
    expect(stored).toEqual([1]);
  });

  it('keeps an op it could not store in this tab’s queue', async () => {
    const db = userDb();
    db.putOp = () => Promise.reject(new Error('QuotaExceededError'));
    const outbox = outboxOver(db);
    const op = outbox.enqueue({ kind: 'delete', taskId: 'T1', baseVersion: 1 });
    await outbox.load();
    expect(outbox.list()).toEqual([op]);
  });
});

describe('Outbox replay', () => {
  it('sends ops oldest first and empties the queue', async () => {
    const api = new FakeTasksApi();
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'create', taskId: 'T1', title: 'one', description: '' });
    outbox.enqueue({ kind: 'create', taskId: 'T2', title: 'two', description: 'x' });
    outbox.enqueue({ kind: 'delete', taskId: 'T1', baseVersion: null });
    const { log, hooks } = recordingHooks();

    const result = await outbox.replay(sendWith(api), hooks);

    expect(result).toEqual({ outcome: 'done' });
    expect(api.calls.map((c) => `${c.method} ${c.id}`)).toEqual(['POST T1', 'POST T2', 'DELETE T1']);
    expect(log).toEqual(['applied create T1 v1', 'applied create T2 v1', 'applied delete T1 v-']);
    expect(outbox.list()).toEqual([]);
  });

  it('chains If-Match through a task’s queued edits using each answer’s version', async () => {
    const api = new FakeTasksApi();
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'create', taskId: 'T1', title: 'one', description: '' });
    outbox.enqueue({ kind: 'update', taskId: 'T1', changes: { title: 'uno' }, baseVersion: null });
    outbox.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: null });

    await outbox.replay(sendWith(api), recordingHooks().hooks);

    expect(api.calls.map((c) => [c.method, c.ifMatch ?? null])).toEqual([
      ['POST', null],
      ['PUT', 1],
      ['PATCH', 2],
    ]);
    expect(api.tasks.get('T1')).toMatchObject({ title: 'uno', completed: true, version: 3 });
  });

  it('keeps an op queued on network failure and resumes in order later', async () => {
    const api = new FakeTasksApi();
    api.tasks.set('T1', task({ version: 3 }));
    const db = userDb();
    const outbox = outboxOver(db);
    outbox.enqueue({ kind: 'update', taskId: 'T1', changes: { title: 'offline edit' }, baseVersion: 3 });
    outbox.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: 3 });
    api.failNext.push(new NetworkError('offline'));

    const first = await outbox.replay(sendWith(api), recordingHooks().hooks);

    expect(first.outcome).toBe('retry');
    expect(outbox.list().map((op) => op.kind)).toEqual(['update', 'complete']);

    const second = await (await reloaded(db)).replay(sendWith(api), recordingHooks().hooks);

    expect(second).toEqual({ outcome: 'done' });
    expect(api.calls.slice(1).map((c) => [c.method, c.ifMatch])).toEqual([
      ['PUT', 3],
      ['PATCH', 4],
    ]);
    expect(api.tasks.get('T1')).toMatchObject({ title: 'offline edit', completed: true, version: 5 });
  });

  it('keeps an op queued on 503 and 429', async () => {
    const api = new FakeTasksApi();
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'create', taskId: 'T1', title: 'x', description: '' });
    api.failNext.push(new ApiError(503, 'SERVICE_UNAVAILABLE', 'busy'));
    expect((await outbox.replay(sendWith(api), recordingHooks().hooks)).outcome).toBe('retry');
    api.failNext.push(new ApiError(429, 'TOO_MANY_REQUESTS', 'slow down'));
    expect((await outbox.replay(sendWith(api), recordingHooks().hooks)).outcome).toBe('retry');
    expect(outbox.list()).toHaveLength(1);
  });

  it('stops on 401 and keeps the op for after sign-in', async () => {
    const api = new FakeTasksApi();
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'create', taskId: 'T1', title: 'x', description: '' });
    api.failNext.push(new UnauthorizedError(401, 'UNAUTHORIZED', 'expired'));
    expect(await outbox.replay(sendWith(api), recordingHooks().hooks)).toEqual({ outcome: 'unauthorized' });
    expect(outbox.list()).toHaveLength(1);
  });

  it('makes a retried create idempotent: same id and content gives the stored task', async () => {
    const api = new FakeTasksApi();
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'create', taskId: 'T1', title: 'x', description: '' });
    // The first POST reached the server but its answer was lost.
    await api.createTask({ id: 'T1', title: 'x', description: '' });

    const { log, hooks } = recordingHooks();
    await outbox.replay(sendWith(api), hooks);

    expect(api.tasks.size).toBe(1);
    expect(log).toEqual(['applied create T1 v1']);
  });
});

describe('Outbox conflicts', () => {
  it('turns a 412 into a conflict holding the server’s version, and holds back that task only', async () => {
    const api = new FakeTasksApi();
    api.tasks.set('T1', task({ version: 4, title: 'their title' }));
    api.tasks.set('T2', task({ id: 'T2', version: 1 }));
    const db = userDb();
    const outbox = outboxOver(db);
    outbox.enqueue({ kind: 'update', taskId: 'T1', changes: { title: 'my title' }, baseVersion: 3 });
    outbox.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: 3 });
    outbox.enqueue({ kind: 'complete', taskId: 'T2', completed: true, baseVersion: 1 });
    const { log, hooks } = recordingHooks();

    const result = await outbox.replay(sendWith(api), hooks);

    expect(result).toEqual({ outcome: 'done' });
    expect(log).toEqual(['conflict update T1 server v4', 'applied complete T2 v2']);
    expect(api.calls.map((c) => `${c.method} ${c.id}`)).toEqual(['PUT T1', 'PATCH T2']);
    const [conflicted, held] = (await reloaded(db)).list();
    expect(conflicted?.conflict?.current).toEqual(task({ version: 4, title: 'their title' }));
    expect(held).toMatchObject({ kind: 'complete', taskId: 'T1' });
    expect(api.tasks.get('T1')?.title).toBe('their title');
  });

  it('shows both versions: mine is the server’s task with my queued changes on top', async () => {
    const api = new FakeTasksApi();
    const theirs = task({ version: 4, description: 'their description' });
    api.tasks.set('T1', theirs);
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'update', taskId: 'T1', changes: { title: 'my title' }, baseVersion: 3 });
    await outbox.replay(sendWith(api), recordingHooks().hooks);

    const ops = outbox.list();
    const current = ops[0]!.conflict!.current;
    const [mine] = applyOps([current], ops);

    expect(current).toEqual(theirs);
    expect(mine).toMatchObject({ title: 'my title', description: 'their description', conflict: true, pending: true });
  });

  it('"keep mine" re-sends with the server’s current version as If-Match', async () => {
    const api = new FakeTasksApi();
    api.tasks.set('T1', task({ version: 4, title: 'their title' }));
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'update', taskId: 'T1', changes: { title: 'my title' }, baseVersion: 3 });
    outbox.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: 3 });
    await outbox.replay(sendWith(api), recordingHooks().hooks);

    outbox.resolveConflict('T1', 'mine');
    await outbox.replay(sendWith(api), recordingHooks().hooks);

    expect(api.calls.slice(1).map((c) => [c.method, c.ifMatch])).toEqual([
      ['PUT', 4],
      ['PATCH', 5],
    ]);
    expect(api.tasks.get('T1')).toMatchObject({ title: 'my title', completed: true, version: 6 });
    expect(outbox.list()).toEqual([]);
  });

  it('"take theirs" drops my queued changes to that task and returns the server’s', async () => {
    const api = new FakeTasksApi();
    api.tasks.set('T1', task({ version: 4, title: 'their title' }));
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'update', taskId: 'T1', changes: { title: 'my title' }, baseVersion: 3 });
    outbox.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: 3 });
    await outbox.replay(sendWith(api), recordingHooks().hooks);

    const theirs = outbox.resolveConflict('T1', 'theirs');

    expect(theirs).toEqual(task({ version: 4, title: 'their title' }));
    expect(outbox.list()).toEqual([]);
    expect(api.tasks.get('T1')?.title).toBe('their title');
  });

  it('treats a 412 whose current task already has my change as applied (a lost answer)', async () => {
    const api = new FakeTasksApi();
    api.tasks.set('T1', task({ version: 4, completed: true }));
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: 3 });
    const { log, hooks } = recordingHooks();

    await outbox.replay(sendWith(api), hooks);

    expect(log).toEqual(['applied complete T1 v4']);
    expect(outbox.list()).toEqual([]);
  });
});

describe('Outbox rollback', () => {
  it('drops a change the server refuses with 400 and reports it', async () => {
    const api = new FakeTasksApi();
    api.tasks.set('T1', task());
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'update', taskId: 'T1', changes: { title: 'x'.repeat(500) }, baseVersion: 1 });
    outbox.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: 1 });
    api.failNext.push(new ApiError(400, 'VALIDATION_FAILED', 'title too long'));
    const { log, hooks } = recordingHooks();

    await outbox.replay(sendWith(api), hooks);

    expect(log).toEqual(['rejected update T1 400 dropped 0', 'applied complete T1 v2']);
    expect(api.tasks.get('T1')).toMatchObject({ title: 'Buy milk', completed: true });
  });

  it('drops the later ops of a refused create along with it', async () => {
    const api = new FakeTasksApi();
    api.tasks.set('T1', task({ title: 'someone else’s content' }));
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'create', taskId: 'T1', title: 'mine', description: '' });
    outbox.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: null });
    const { log, hooks } = recordingHooks();

    await outbox.replay(sendWith(api), hooks);

    expect(log).toEqual(['rejected create T1 409 dropped 1']);
    expect(outbox.list()).toEqual([]);
  });

  it('counts a replayed create of a task deleted since (409 TASK_DELETED) as done, without an error, and drops its later ops', async () => {
    const api = new FakeTasksApi();
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'create', taskId: 'T1', title: 'x', description: '' });
    outbox.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: null });
    outbox.enqueue({ kind: 'create', taskId: 'T2', title: 'y', description: '' });
    // The create went through earlier (its answer lost), then another device deleted the task.
    await api.createTask({ id: 'T1', title: 'x', description: '' });
    await api.deleteTask('T1');
    const { log, hooks } = recordingHooks();

    const result = await outbox.replay(sendWith(api), hooks);

    expect(result).toEqual({ outcome: 'done' });
    expect(log).toEqual(['applied create T1 v-', 'applied create T2 v1']);
    expect(api.calls.slice(2).map((c) => `${c.method} ${c.id}`)).toEqual(['POST T1', 'POST T2']);
    expect(outbox.list()).toEqual([]);
  });

  it('drops edits to a task deleted elsewhere (404) and counts a 404 delete as done', async () => {
    const api = new FakeTasksApi();
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'update', taskId: 'T1', changes: { title: 'x' }, baseVersion: 1 });
    outbox.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: 1 });
    outbox.enqueue({ kind: 'delete', taskId: 'T2', baseVersion: 1 });
    const { log, hooks } = recordingHooks();

    await outbox.replay(sendWith(api), hooks);

    expect(log).toEqual(['rejected update T1 404 dropped 1', 'applied delete T2 v-']);
  });

  it('shows the server’s state again once a refused change is dropped', async () => {
    const api = new FakeTasksApi();
    api.tasks.set('T1', task());
    const store = new TaskStore();
    store.applyTask(task());
    const outbox = outboxOver(userDb());
    outbox.enqueue({ kind: 'update', taskId: 'T1', changes: { title: 'refused' }, baseVersion: 1 });
    expect(applyOps(store.list(), outbox.list())[0]?.title).toBe('refused');
    api.failNext.push(new ApiError(400, 'VALIDATION_FAILED', 'no'));

    await outbox.replay(sendWith(api), recordingHooks().hooks);

    expect(applyOps(store.list(), outbox.list())).toEqual([{ ...task(), pending: false, conflict: false }]);
  });
});

describe('Outbox across tabs', () => {
  it('sends each op once when two tabs replay the same queue at the same time', async () => {
    const api = new FakeTasksApi();
    const db = userDb(); // one IndexedDB database, shared by both "tabs"
    const lock = inTabLock(); // stands in for navigator.locks, shared by both "tabs"
    const tabA = outboxOver(db, lock);
    const tabB = outboxOver(db, lock);
    tabA.enqueue({ kind: 'create', taskId: 'T1', title: 'a', description: '' });
    tabB.enqueue({ kind: 'create', taskId: 'T2', title: 'b', description: '' });
    tabA.enqueue({ kind: 'complete', taskId: 'T1', completed: true, baseVersion: null });

    await Promise.all([tabA.replay(sendWith(api), recordingHooks().hooks), tabB.replay(sendWith(api), recordingHooks().hooks)]);

    const sent = api.calls.map((c) => `${c.method} ${c.id}`);
    // Two tabs' ops made in the same millisecond have no defined order; one tab's do.
    expect([...sent].sort()).toEqual(['PATCH T1', 'POST T1', 'POST T2']);
    expect(sent.indexOf('POST T1')).toBeLessThan(sent.indexOf('PATCH T1'));
    await tabA.load(); // what the other tab's "ops" message makes it do
    expect(tabA.list()).toEqual([]);
    expect(await db.listOps()).toEqual([]);
  });

  it('sends an op queued in another tab, once that tab has stored it', async () => {
    const api = new FakeTasksApi();
    const db = userDb();
    const lock = inTabLock();
    const tabA = outboxOver(db, lock);
    const tabB = outboxOver(db, lock);
    tabB.enqueue({ kind: 'create', taskId: 'T2', title: 'from B', description: '' });
    await tabB.load();

    const { log, hooks } = recordingHooks();
    await tabA.replay(sendWith(api), hooks);

    expect(log).toEqual(['applied create T2 v1']);
    await tabB.load();
    expect(tabB.list()).toEqual([]);
  });
});

describe('applyOps (optimistic view)', () => {
  const op = (o: Partial<Op> & Pick<Op, 'kind'>): Op =>
    ({ opId: `op-${Math.random()}`, taskId: 'T1', at: '2026-11-27T12:00:00.000Z', ...o }) as Op;

  it('shows a queued create as a pending task', () => {
    const view = applyOps([], [op({ kind: 'create', title: 'new', description: 'd' })]);
    expect(view).toEqual([
      expect.objectContaining({ id: 'T1', title: 'new', description: 'd', completed: false, version: 0, pending: true }),
    ]);
  });

  it('lays edits, completion and deletes over the server’s tasks without changing them', () => {
    const server = [task(), task({ id: 'T2' })];
    const frozen = structuredClone(server);
    const view = applyOps(server, [
      op({ kind: 'update', changes: { description: 'more' }, baseVersion: 1 }),
      op({ kind: 'complete', completed: true, baseVersion: 1 }),
      op({ kind: 'delete', taskId: 'T2', baseVersion: 1 }),
    ]);
    expect(view).toEqual([
      expect.objectContaining({ id: 'T1', description: 'more', completed: true, pending: true, version: 1 }),
    ]);
    expect(server).toEqual(frozen);
  });

  it('keeps pending changes on top after a resync replaces the server state', () => {
    const store = new TaskStore();
    store.applyTask(task());
    const ops = [
      op({ kind: 'update', changes: { title: 'my offline title' }, baseVersion: 1 }),
      op({ kind: 'create', taskId: 'T9', title: 'made offline', description: '' }),
    ];
    store.applySnapshot([task({ version: 2, description: 'their description' }), task({ id: 'T3' })], store.beginResync());

    const view = applyOps(store.list(), ops);

    expect(view.map((t) => [t.id, t.title, t.description, t.pending])).toEqual([
      ['T1', 'my offline title', 'their description', true],
      ['T3', 'Buy milk', '', false],
      ['T9', 'made offline', '', true],
    ]);
  });
});

describe('Outbox bursts and holds', () => {
  it('tells the other tabs once per burst of writes (mark all done queues one op per task), with every op stored by then', async () => {
    const db = userDb();
    let told = 0;
    let storedWhenTold = -1;
    const outbox = outboxOver(db, inTabLock(), () => {
      told++;
      void db.listOps().then((ops) => (storedWhenTold = ops.length));
    });
    for (let i = 1; i <= 50; i++) outbox.enqueue({ kind: 'complete', taskId: `T${i}`, completed: true, baseVersion: 1 });
    await outbox.load();
    await db.listOps();
    expect(told).toBe(1);
    expect(storedWhenTold).toBe(50);
    expect((await reloaded(db)).list().map((op) => op.taskId)).toEqual(Array.from({ length: 50 }, (_, i) => `T${i + 1}`));
  });

  it('does not send a held op before its hold ends, nor the later ops of its task; other tasks go on', async () => {
    const api = new FakeTasksApi();
    api.tasks.set('T1', task());
    api.tasks.set('T2', task({ id: 'T2' }));
    let now = Date.parse(T0);
    const outbox = new Outbox({
      store: userDb(),
      namespace: 'u',
      lock: inTabLock(),
      newId: ulidFactory(),
      now: () => new Date(now),
    });
    outbox.enqueue({ kind: 'delete', taskId: 'T1', baseVersion: 1, holdUntil: now + 6000 });
    outbox.enqueue({ kind: 'complete', taskId: 'T2', completed: true, baseVersion: 1 });
    const { hooks } = recordingHooks();

    await outbox.replay(sendWith(api), hooks);
    expect(api.calls.map((c) => `${c.method} ${c.id}`)).toEqual(['PATCH T2']);
    expect(outbox.nextHoldEnd()).toBe(now + 6000);

    now += 6000;
    await outbox.replay(sendWith(api), hooks);
    expect(api.calls.map((c) => `${c.method} ${c.id}`)).toEqual(['PATCH T2', 'DELETE T1']);
    expect(outbox.nextHoldEnd()).toBeNull();
  });
});
