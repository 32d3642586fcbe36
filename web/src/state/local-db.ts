import type { Task } from '../../../lambdas/contract.js';
import type { RecordDb } from '../idb.js';
import { keysWithPrefix, readJson, type KeyValueStorage } from '../storage.js';
import type { Op } from './ops.js';
import { deleteApplies, DELETED_KEEP_MS, supersedes, type DeletedMark } from './store.js';

/** What a reload starts from. */
export interface LocalTasks {
  tasks: Task[];
  deleted: DeletedMark[];
  /** Where `GET /tasks/changes` continues; null before the first full listing. */
  syncToken: string | null;
}

/** One atomic write: upserts, deletes and (when present) the sync token they bring the state up to. */
export interface TaskWrite {
  upserts?: readonly Task[];
  deletes?: readonly { id: string; version: number | null }[];
  /** Written only in the same transaction as the changes it covers. */
  syncToken?: string | null;
}

/** IndexedDB database name of a user's data (`sub` namespaces it, like every storage key). */
export function userDbName(sub: string): string {
  return `tasks.${sub}`;
}

const TOKEN = 'syncToken';

/**
 * One user's local data in IndexedDB: the server's tasks, the deleted ids
 * (store.ts, rule on deleted ids), the sync token and the outbox's ops.
 *
 * Every tab of the user writes here, each from its own in-memory state, so a
 * write never replaces the stored state: it merges by version, task by task,
 * in one transaction with the token it brings. Stored tasks thus only ever
 * move forward, and a stored token is never ahead of the stored tasks (the
 * write that stored it stored its changes too), whichever tab wrote last. An
 * older token overwriting a newer one only costs a longer catch-up.
 */
export class UserDb {
  constructor(
    readonly records: RecordDb,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tasks, deleted ids and token; deleted ids older than DELETED_KEEP_MS are dropped here. */
  load(): Promise<LocalTasks> {
    return this.records.run(['tasks', 'deleted', 'meta'], 'readwrite', async (tx) => {
      const [tasks, deleted, syncToken] = await Promise.all([
        tx.getAll<Task>('tasks'),
        tx.getAll<DeletedMark>('deleted'),
        tx.get<string>('meta', TOKEN),
      ]);
      const cutoff = this.now() - DELETED_KEEP_MS;
      const expired = deleted.filter((d) => d.at < cutoff);
      await Promise.all(expired.map((d) => tx.delete('deleted', d.id)));
      return {
        tasks,
        deleted: deleted.filter((d) => d.at >= cutoff),
        syncToken: typeof syncToken === 'string' ? syncToken : null,
      };
    });
  }

  /**
   * The newest `count` tasks (ids are ULIDs: the last keys), newest first: a reload shows its
   * first screen from these while load() reads the rest (10,000 tasks take ~120 ms to read).
   */
  loadNewest(count: number): Promise<Task[]> {
    return this.records.run(['tasks'], 'readonly', (tx) => tx.getLast<Task>('tasks', count));
  }

  write(change: TaskWrite): Promise<void> {
    const { upserts = [], deletes = [] } = change;
    if (upserts.length === 0 && deletes.length === 0 && change.syncToken === undefined) return Promise.resolve();
    return this.records.run(['tasks', 'deleted', 'meta'], 'readwrite', async (tx) => {
      const at = this.now();
      await Promise.all(
        deletes.map(async ({ id, version }) => {
          const [held, mark] = await Promise.all([tx.get<Task>('tasks', id), tx.get<DeletedMark>('deleted', id)]);
          if (!deleteApplies(version, held)) return;
          await tx.put('deleted', id, { id, version: version ?? mark?.version ?? null, at } satisfies DeletedMark);
          if (held) await tx.delete('tasks', id);
        }),
      );
      // After the deletes: an upsert of an id deleted in this same write stays out.
      await Promise.all(
        upserts.map(async (task) => {
          const [held, mark] = await Promise.all([tx.get<Task>('tasks', task.id), tx.get<DeletedMark>('deleted', task.id)]);
          if (!mark && supersedes(task, held)) await tx.put('tasks', task.id, task);
        }),
      );
      if (change.syncToken === null) await tx.delete('meta', TOKEN);
      else if (change.syncToken !== undefined) await tx.put('meta', TOKEN, change.syncToken);
    });
  }

  /** Forgets the cached list and token (sign-out); queued ops stay for the next sign-in. */
  clearTasks(): Promise<void> {
    return this.records.run(['tasks', 'deleted', 'meta'], 'readwrite', async (tx) => {
      await Promise.all([tx.clear('tasks'), tx.clear('deleted'), tx.clear('meta')]);
    });
  }

  /** Queued ops, oldest first (op ids are ULIDs). */
  async listOps(): Promise<Op[]> {
    const ops = await this.records.run(['ops'], 'readonly', (tx) => tx.getAll<Op>('ops'));
    return ops
      .filter((op) => op && typeof op.opId === 'string' && typeof op.taskId === 'string')
      .sort((a, b) => (a.opId < b.opId ? -1 : 1));
  }

  putOp(op: Op): Promise<void> {
    return this.records.run(['ops'], 'readwrite', (tx) => tx.put('ops', op.opId, op));
  }

  removeOp(opId: string): Promise<void> {
    return this.records.run(['ops'], 'readwrite', (tx) => tx.delete('ops', opId));
  }

  close(): void {
    this.records.close();
  }
}

/**
 * Moves what the localStorage version of the dashboard kept for `sub` into
 * `db`: queued ops (`tasks.outbox.<sub>.<opId>`, each removed only once
 * stored) and the cached list (`tasks.cache.<sub>`, dropped: with no token
 * the first catch-up lists everything anyway). Run it under the outbox's
 * lock so no tab replays while ops move. Nothing moves into a database that
 * would not survive a reload.
 */
export async function migrateLegacyStorage(storage: KeyValueStorage, sub: string, db: UserDb): Promise<void> {
  if (!(await db.records.persistent)) return;
  storage.removeItem(`tasks.cache.${sub}`);
  for (const key of keysWithPrefix(storage, `tasks.outbox.${sub}.`)) {
    const op = readJson<Op>(storage, key);
    if (op && typeof op.opId === 'string' && typeof op.taskId === 'string') await db.putOp(op);
    storage.removeItem(key);
  }
}

/** Whether a localStorage of the previous version holds something to migrate for `sub`. */
export function hasLegacyStorage(storage: KeyValueStorage, sub: string): boolean {
  return storage.getItem(`tasks.cache.${sub}`) !== null || keysWithPrefix(storage, `tasks.outbox.${sub}.`).length > 0;
}
