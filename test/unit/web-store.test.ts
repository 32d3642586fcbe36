import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Task, TaskEvent } from '../../lambdas/contract.js';
import { TaskStore } from '../../web/src/state/store.js';

function task(overrides: Partial<Task> = {}): Task {
  return {
    id: '01JDTASK00000000000000000A',
    title: 'Buy milk',
    description: '',
    completed: false,
    createdAt: '2026-11-27T10:00:00.000Z',
    updatedAt: '2026-11-27T10:00:00.000Z',
    version: 1,
    ...overrides,
  };
}

function updated(t: Task): TaskEvent {
  return { type: 'TASK_UPDATED', eventId: `e-${t.id}-${t.version}`, at: t.updatedAt, taskId: t.id, task: structuredClone(t) };
}

function created(t: Task): TaskEvent {
  return { ...updated(t), type: 'TASK_CREATED' } as TaskEvent;
}

function deleted(id: string, version: number): TaskEvent {
  return { type: 'TASK_DELETED', eventId: `d-${id}`, at: '2026-11-27T11:00:00.000Z', taskId: id, version };
}

describe('TaskStore events', () => {
  it('adds a created task', () => {
    const store = new TaskStore();
    expect(store.applyFrame(created(task()))).toBe(true);
    expect(store.list()).toEqual([task()]);
  });

  it('applies an update with a newer version', () => {
    const store = new TaskStore();
    store.applyFrame(created(task()));
    expect(store.applyFrame(updated(task({ version: 2, title: 'Buy oat milk' })))).toBe(true);
    expect(store.get(task().id)?.title).toBe('Buy oat milk');
  });

  it('drops a duplicate event (same version)', () => {
    const store = new TaskStore();
    store.applyFrame(updated(task({ version: 2, title: 'first' })));
    expect(store.applyFrame(updated(task({ version: 2, title: 'redelivered' })))).toBe(false);
    expect(store.get(task().id)?.title).toBe('first');
  });

  it('drops a stale event (older version)', () => {
    const store = new TaskStore();
    store.applyFrame(updated(task({ version: 3, title: 'v3' })));
    expect(store.applyFrame(updated(task({ version: 2, title: 'v2' })))).toBe(false);
    expect(store.get(task().id)?.version).toBe(3);
  });

  it('removes a deleted task and keeps a late lower-version update from resurrecting it', () => {
    const store = new TaskStore();
    store.applyFrame(created(task()));
    expect(store.applyFrame(deleted(task().id, 3))).toBe(true);
    expect(store.applyFrame(updated(task({ version: 2 })))).toBe(false);
    expect(store.list()).toEqual([]);
    expect(store.isDeleted(task().id)).toBe(true);
  });

  it('removes a held task only when the delete’s version is higher', () => {
    const store = new TaskStore();
    store.applyTask(task({ version: 4 }));
    // Not possible from a correct server (a delete is the next version), so it must not remove anything.
    expect(store.applyDelete(task().id, 4)).toBe(false);
    expect(store.get(task().id)?.version).toBe(4);
    expect(store.isDeleted(task().id)).toBe(false);
    expect(store.applyDelete(task().id, 5)).toBe(true);
    expect(store.list()).toEqual([]);
  });

  it('remembers a delete of a task it never held, so a late copy of it stays out', () => {
    const store = new TaskStore();
    expect(store.applyFrame(deleted(task().id, 2))).toBe(false);
    expect(store.applyFrame(created(task()))).toBe(false);
    expect(store.list()).toEqual([]);
  });

  it('removes whatever the version when the delete’s version is unknown (own 204, or a server without versioned deletes)', () => {
    const store = new TaskStore();
    store.applyTask(task({ version: 9 }));
    const legacy = { type: 'TASK_DELETED', eventId: 'd', at: 'x', taskId: task().id } as unknown as TaskEvent;
    expect(store.applyFrame(legacy)).toBe(true);
    expect(store.applyTask(task({ version: 10 }))).toBe(false);
  });

  it('forgets deleted ids after the keep period, and not before', () => {
    let now = 1_000;
    const store = new TaskStore(() => now);
    store.applyDelete('01JDTASK00000000000000000A', 2);
    now = 5_000;
    store.applyDelete('01JDTASK00000000000000000B', 2);
    store.forgetDeletedBefore(2_000);
    expect(store.isDeleted('01JDTASK00000000000000000A')).toBe(false);
    expect(store.isDeleted('01JDTASK00000000000000000B')).toBe(true);
  });

  it('applies the events of a BATCH frame in order', () => {
    const store = new TaskStore();
    const a = task({ id: '01JDTASK00000000000000000A' });
    const b = task({ id: '01JDTASK00000000000000000B' });
    const changed = store.applyFrame({
      type: 'BATCH',
      events: [
        created(a),
        created(b),
        updated({ ...a, version: 2, completed: true }),
        deleted(b.id, 2),
        updated({ ...a, version: 2, title: 'dup' }),
      ],
    });
    expect(changed).toBe(true);
    expect(store.list()).toEqual([{ ...a, version: 2, completed: true }]);
  });

  it('ignores frames that carry no task change', () => {
    const store = new TaskStore();
    expect(store.applyFrame({ type: 'PONG' })).toBe(false);
    expect(store.applyFrame({ type: 'AUTH_SUCCESS', userId: 'u', connectionId: 'c', devices: 2 })).toBe(false);
    expect(store.applyFrame({ type: 'PRESENCE', devices: 3 })).toBe(false);
    expect(store.applyFrame({ type: 'ERROR', code: 'BAD_REQUEST', message: 'x' })).toBe(false);
    expect(store.applyFrame({ type: 'ERROR', code: 'TOKEN_EXPIRED', message: 'x' })).toBe(false);
  });

  it('lists tasks oldest first by ULID', () => {
    const store = new TaskStore();
    store.applyTask(task({ id: '01JDTASK00000000000000000C' }));
    store.applyTask(task({ id: '01JDTASK00000000000000000A' }));
    store.applyTask(task({ id: '01JDTASK00000000000000000B' }));
    expect(store.list().map((t) => t.id.at(-1))).toEqual(['A', 'B', 'C']);
  });

  it('ends at the highest version whatever the delivery order and duplicates', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 40 }), (versions) => {
        const store = new TaskStore();
        for (const v of versions) store.applyFrame(updated(task({ version: v, title: `v${v}` })));
        const max = Math.max(...versions);
        expect(store.get(task().id)).toEqual(task({ version: max, title: `v${max}` }));
      }),
    );
  });

  it('ends deleted whatever the order, once the delete (the last version) arrived', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 30 }), fc.nat(), (versions, at) => {
        const store = new TaskStore();
        const deleteAt = at % (versions.length + 1);
        const events = versions.map((v) => updated(task({ version: v })));
        events.splice(deleteAt, 0, deleted(task().id, 21));
        for (const event of events) store.applyFrame(event);
        expect(store.list()).toEqual([]);
      }),
    );
  });
});

describe('TaskStore resync', () => {
  it('takes newer versions from the listing and drops tasks it no longer lists', () => {
    const store = new TaskStore();
    const kept = task({ id: '01JDTASK00000000000000000A', version: 1 });
    const gone = task({ id: '01JDTASK00000000000000000B' });
    store.applyTask(kept);
    store.applyTask(gone);
    const mark = store.beginResync();
    const result = store.applySnapshot([{ ...kept, version: 4, title: 'changed offline' }], mark);
    expect(store.list()).toEqual([{ ...kept, version: 4, title: 'changed offline' }]);
    expect(result).toEqual({ changed: true, removed: [gone.id] });
    // Gone for good: a late redelivered event of it does not bring it back.
    expect(store.applyFrame(updated({ ...gone, version: 2 }))).toBe(false);
  });

  it('keeps what arrived by event while the listing was in flight', () => {
    const store = new TaskStore();
    const a = task({ id: '01JDTASK00000000000000000A' });
    store.applyTask(a);
    const mark = store.beginResync();
    const raced = task({ id: '01JDTASK00000000000000000B' });
    store.applyFrame(created(raced));
    store.applyFrame(updated({ ...a, version: 3, title: 'newer than listing' }));
    store.applySnapshot([{ ...a, version: 2, title: 'listing' }], mark);
    expect(store.list()).toEqual([{ ...a, version: 3, title: 'newer than listing' }, raced]);
  });

  it('does not bring back a task deleted while the listing was in flight', () => {
    const store = new TaskStore();
    const a = task();
    store.applyTask(a);
    const mark = store.beginResync();
    store.applyFrame(deleted(a.id, 2));
    expect(store.applySnapshot([a], mark)).toEqual({ changed: false, removed: [] });
    expect(store.list()).toEqual([]);
  });

  it('never lowers a version even if the listing is older', () => {
    const store = new TaskStore();
    store.applyTask(task({ version: 5 }));
    const mark = store.beginResync();
    store.applySnapshot([task({ version: 4 })], mark);
    expect(store.get(task().id)?.version).toBe(5);
  });

  it('seeds deleted ids from IndexedDB so a copy read before the delete stays out', () => {
    const store = new TaskStore();
    store.seed([task({ id: '01JDTASK00000000000000000B' })], [{ id: task().id, version: 3, at: 0 }]);
    expect(store.applyTask(task({ version: 2 }))).toBe(false);
    expect(store.list().map((t) => t.id)).toEqual(['01JDTASK00000000000000000B']);
  });

  it('lets a resync replace cached tasks seeded at start', () => {
    const store = new TaskStore();
    store.seed([task({ id: '01JDTASK00000000000000000A' }), task({ id: '01JDTASK00000000000000000B' })]);
    store.applySnapshot([task({ id: '01JDTASK00000000000000000B', version: 2 })], store.beginResync());
    expect(store.list()).toEqual([task({ id: '01JDTASK00000000000000000B', version: 2 })]);
  });
});
