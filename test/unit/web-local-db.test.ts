import { describe, expect, it } from 'vitest';
import type { Task } from '../../lambdas/contract.js';
import { memoryRecordDb, openRecordDb, type RecordDb, type Tx } from '../../web/src/idb.js';
import { hasLegacyStorage, migrateLegacyStorage, UserDb, userDbName } from '../../web/src/state/local-db.js';
import type { Op } from '../../web/src/state/ops.js';
import { DELETED_KEEP_MS } from '../../web/src/state/store.js';
import { memoryStorage } from '../../web/src/storage.js';

const T0 = '2026-11-27T10:00:00.000Z';

function task(overrides: Partial<Task> = {}): Task {
  return {
    id: '01JDTASK00000000000000000A',
    title: 'Buy milk',
    description: '',
    completed: false,
    createdAt: T0,
    updatedAt: T0,
    version: 1,
    ...overrides,
  };
}

const op = (opId: string, taskId = 'T1'): Op => ({ opId, taskId, kind: 'delete', at: T0, baseVersion: 1 });

/** A memory database that says it persists (as IndexedDB does), for the migration. */
function persistentMemory(): RecordDb {
  return { ...memoryRecordDb(), persistent: Promise.resolve(true) };
}

/** Wraps a database so that writing `store` fails inside the transaction (a quota error, say). */
function failingOn(store: string, inner = memoryRecordDb()): RecordDb {
  return {
    ...inner,
    run: (stores, mode, fn) =>
      inner.run(stores, mode, (tx) =>
        fn({
          ...tx,
          put: (n: Parameters<Tx['put']>[0], k: string, v: unknown) =>
            n === store ? Promise.reject(new Error('QuotaExceededError')) : tx.put(n, k, v),
        }),
      ),
  };
}

describe('memoryRecordDb', () => {
  it('keeps nothing of a transaction that failed part way', async () => {
    const db = memoryRecordDb();
    await db.run(['meta'], 'readwrite', (tx) => tx.put('meta', 'a', 1));
    const failed = db.run(['meta'], 'readwrite', async (tx) => {
      await tx.put('meta', 'a', 2);
      await tx.put('meta', 'b', 2);
      throw new Error('boom');
    });
    await expect(failed).rejects.toThrow('boom');
    expect(await db.run(['meta'], 'readonly', (tx) => Promise.all([tx.get('meta', 'a'), tx.get('meta', 'b')]))).toEqual([
      1,
      undefined,
    ]);
  });

  it('hands out copies, as IndexedDB’s structured clone does', async () => {
    const db = memoryRecordDb();
    const value = { n: 1 };
    await db.run(['meta'], 'readwrite', (tx) => tx.put('meta', 'k', value));
    value.n = 2;
    const read = await db.run(['meta'], 'readonly', (tx) => tx.get<{ n: number }>('meta', 'k'));
    expect(read).toEqual({ n: 1 });
  });

  it('is what openRecordDb falls back to without IndexedDB (and says it does not persist)', async () => {
    const db = openRecordDb('tasks.test', undefined);
    expect(await db.persistent).toBe(false);
    await db.run(['meta'], 'readwrite', (tx) => tx.put('meta', 'k', 'v'));
    expect(await db.run(['meta'], 'readonly', (tx) => tx.get('meta', 'k'))).toBe('v');
  });
});

describe('UserDb tasks', () => {
  it('starts empty, without a token', async () => {
    expect(await new UserDb(memoryRecordDb()).load()).toEqual({ tasks: [], deleted: [], syncToken: null });
  });

  it('stores the tasks of a write with its token, and reads them back after a reload', async () => {
    const records = memoryRecordDb();
    const a = task();
    const b = task({ id: '01JDTASK00000000000000000B', version: 3 });
    await new UserDb(records).write({ upserts: [b, a], syncToken: 'tok-1' });
    expect(await new UserDb(records).load()).toEqual({ tasks: [a, b], deleted: [], syncToken: 'tok-1' });
  });

  it('merges by version: an older copy never replaces a newer one', async () => {
    const db = new UserDb(memoryRecordDb());
    await db.write({ upserts: [task({ version: 3, title: 'v3' })] });
    await db.write({ upserts: [task({ version: 2, title: 'v2' })] });
    await db.write({ upserts: [task({ version: 3, title: 'dup' })] });
    expect((await db.load()).tasks).toEqual([task({ version: 3, title: 'v3' })]);
  });

  it('applies versioned deletes like the store, and keeps later stale copies out', async () => {
    const db = new UserDb(memoryRecordDb(), () => 42);
    await db.write({ upserts: [task({ version: 3 })] });
    await db.write({ deletes: [{ id: task().id, version: 3 }] }); // not newer: ignored
    expect((await db.load()).tasks).toHaveLength(1);
    await db.write({ deletes: [{ id: task().id, version: 4 }] });
    await db.write({ upserts: [task({ version: 3 })] });
    expect(await db.load()).toEqual({ tasks: [], deleted: [{ id: task().id, version: 4, at: 42 }], syncToken: null });
  });

  it('keeps an upsert and a delete of the same id in one write deleted', async () => {
    const db = new UserDb(memoryRecordDb());
    await db.write({ upserts: [task({ version: 1 })], deletes: [{ id: task().id, version: 2 }] });
    expect((await db.load()).tasks).toEqual([]);
  });

  it('stores neither the changes nor the token when the write fails', async () => {
    const records = failingOn('meta');
    const db = new UserDb(records);
    await expect(db.write({ upserts: [task()], syncToken: 'tok-2' })).rejects.toThrow('QuotaExceededError');
    expect(await db.load()).toEqual({ tasks: [], deleted: [], syncToken: null });
  });

  it('keeps the stored state covering the stored token whichever tab writes last', async () => {
    // Tab A pulled v5 with token t5; tab B, behind (its event was lost), then writes what it has with t4.
    const records = memoryRecordDb();
    const tabA = new UserDb(records);
    const tabB = new UserDb(records);
    await tabA.write({ upserts: [task({ version: 5, title: 'v5' })], syncToken: 't5' });
    await tabB.write({ upserts: [task({ version: 4, title: 'v4' })], syncToken: 't4' });
    const loaded = await new UserDb(records).load();
    // t4 is older: a catch-up from it sends v5 again at worst; nothing is lost.
    expect(loaded).toEqual({ tasks: [task({ version: 5, title: 'v5' })], deleted: [], syncToken: 't4' });
  });

  it('drops the token on null (a refused token) and keeps it on undefined', async () => {
    const db = new UserDb(memoryRecordDb());
    await db.write({ syncToken: 't1' });
    await db.write({ upserts: [task()] });
    expect((await db.load()).syncToken).toBe('t1');
    await db.write({ syncToken: null });
    expect((await db.load()).syncToken).toBeNull();
  });

  it('forgets deleted ids older than the keep period when loading', async () => {
    let now = 1_000;
    const records = memoryRecordDb();
    const db = new UserDb(records, () => now);
    await db.write({ deletes: [{ id: 'old', version: 2 }] });
    now += DELETED_KEEP_MS;
    await db.write({ deletes: [{ id: 'recent', version: 2 }] });
    now += 1;
    expect((await db.load()).deleted.map((d) => d.id)).toEqual(['recent']);
    // Gone from the database too, not only from the answer.
    const stored = await records.run(['deleted'], 'readonly', (tx) => tx.getAll<{ id: string }>('deleted'));
    expect(stored.map((d) => d.id)).toEqual(['recent']);
  });

  it('clears the cached tasks and token on sign-out but keeps the queued ops', async () => {
    const db = new UserDb(memoryRecordDb());
    await db.write({ upserts: [task()], deletes: [{ id: 'x', version: 2 }], syncToken: 't' });
    await db.putOp(op('01OP1'));
    await db.clearTasks();
    expect(await db.load()).toEqual({ tasks: [], deleted: [], syncToken: null });
    expect(await db.listOps()).toEqual([op('01OP1')]);
  });

  it('names one database per user', () => {
    expect(userDbName('sub-a')).not.toBe(userDbName('sub-b'));
  });
});

describe('UserDb ops', () => {
  it('lists ops oldest first by op id and removes them one by one', async () => {
    const db = new UserDb(memoryRecordDb());
    await db.putOp(op('01OP3'));
    await db.putOp(op('01OP1'));
    await db.putOp(op('01OP2'));
    await db.removeOp('01OP1');
    expect((await db.listOps()).map((o) => o.opId)).toEqual(['01OP2', '01OP3']);
  });
});

describe('migration from localStorage', () => {
  it('moves the queued ops of that user, drops the cached list, and leaves other users alone', async () => {
    const storage = memoryStorage();
    storage.setItem('tasks.outbox.sub-a.01OP1', JSON.stringify(op('01OP1')));
    storage.setItem('tasks.outbox.sub-a.01OP2', JSON.stringify(op('01OP2', 'T2')));
    storage.setItem('tasks.outbox.sub-a.bad', '{not json');
    storage.setItem('tasks.cache.sub-a', JSON.stringify([task()]));
    storage.setItem('tasks.outbox.sub-b.01OP9', JSON.stringify(op('01OP9')));
    storage.setItem('tasks.auth.local', 'keep');
    const db = new UserDb(persistentMemory());
    expect(hasLegacyStorage(storage, 'sub-a')).toBe(true);

    await migrateLegacyStorage(storage, 'sub-a', db);

    expect((await db.listOps()).map((o) => o.opId)).toEqual(['01OP1', '01OP2']);
    expect(hasLegacyStorage(storage, 'sub-a')).toBe(false);
    expect(storage.getItem('tasks.outbox.sub-b.01OP9')).not.toBeNull();
    expect(storage.getItem('tasks.auth.local')).toBe('keep');
  });

  it('moves nothing into a database that would not survive a reload', async () => {
    const storage = memoryStorage();
    storage.setItem('tasks.outbox.sub-a.01OP1', JSON.stringify(op('01OP1')));
    const db = new UserDb(memoryRecordDb());
    await migrateLegacyStorage(storage, 'sub-a', db);
    expect(await db.listOps()).toEqual([]);
    expect(storage.getItem('tasks.outbox.sub-a.01OP1')).not.toBeNull();
  });

  it('keeps an op in localStorage when storing it fails', async () => {
    const storage = memoryStorage();
    storage.setItem('tasks.outbox.sub-a.01OP1', JSON.stringify(op('01OP1')));
    const db = new UserDb({ ...failingOn('ops'), persistent: Promise.resolve(true) });
    await expect(migrateLegacyStorage(storage, 'sub-a', db)).rejects.toThrow('QuotaExceededError');
    expect(storage.getItem('tasks.outbox.sub-a.01OP1')).not.toBeNull();
  });
});

describe('UserDb.loadNewest', () => {
  it('reads the newest tasks (last ids) first, newest first, without reading the rest', async () => {
    const db = new UserDb(memoryRecordDb());
    const tasks = ['01A', '01C', '01B', '01D'].map((id) => ({
      id,
      title: id,
      description: '',
      completed: false,
      createdAt: '',
      updatedAt: '',
      version: 1,
    }));
    await db.write({ upserts: tasks });
    expect((await db.loadNewest(2)).map((t) => t.id)).toEqual(['01D', '01C']);
    expect((await db.loadNewest(10)).map((t) => t.id)).toEqual(['01D', '01C', '01B', '01A']);
  });
});
