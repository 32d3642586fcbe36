import type { Task } from '../../../lambdas/contract.js';
import { ApiError, PreconditionFailedError, UnauthorizedError, type Api } from '../api.js';
import type { LockRunner } from '../lock.js';
import { keysWithPrefix, readJson, type KeyValueStorage } from '../storage.js';
import { isReflectedIn, type NewOp, type Op } from './ops.js';

/** Sends one op; resolves with the server's task (null for a delete). */
export type SendOp = (op: Op) => Promise<Task | null>;

export interface ReplayHooks {
  /** The server accepted the op (or already had its effect); task null means deleted. */
  applied(op: Op, task: Task | null): void;
  /** 412 the op's effect is not in: the op now carries `conflict` and waits for the user. */
  conflict(op: Op, current: Task): void;
  /** The server refused the op; it and `dropped` (ops that depended on it) are gone. */
  rejected(op: Op, error: ApiError, dropped: Op[]): void;
}

export type ReplayOutcome =
  | { outcome: 'done' }
  /** Network failure, 429 or 5xx: the op stays queued; try again later. */
  | { outcome: 'retry'; error: unknown }
  /** 401 after a token refresh: stays queued until the user signs in again. */
  | { outcome: 'unauthorized' };

export interface OutboxOptions {
  storage: KeyValueStorage;
  /** The user's `sub`: each account in a browser has its own queue. */
  namespace: string;
  lock: LockRunner;
  newId: () => string;
  now?: () => Date;
}

/**
 * The queue of the user's changes not yet confirmed by the server, in
 * localStorage so it survives a reload and is shared by the user's tabs.
 * One key per op: tabs only ever add keys, and only the lock holder (one
 * replaying tab at a time) rewrites or removes them, so no tab's
 * read-modify-write can clobber another's.
 */
export class Outbox {
  private readonly prefix: string;

  constructor(private readonly options: OutboxOptions) {
    this.prefix = `tasks.outbox.${options.namespace}.`;
  }

  /** Whether a storage key (from a `storage` event) belongs to this queue. */
  owns(key: string | null): boolean {
    return key === null || key.startsWith(this.prefix);
  }

  list(): Op[] {
    const ops: Op[] = [];
    for (const key of keysWithPrefix(this.options.storage, this.prefix)) {
      const op = readJson<Op>(this.options.storage, key);
      if (op && typeof op.opId === 'string' && typeof op.taskId === 'string') ops.push(op);
    }
    return ops.sort((a, b) => (a.opId < b.opId ? -1 : 1));
  }

  enqueue(input: NewOp): Op {
    const op = { ...input, opId: this.options.newId(), at: (this.options.now?.() ?? new Date()).toISOString() } as Op;
    this.put(op);
    return op;
  }

  /**
   * Sends queued ops oldest first until the queue is empty or the network
   * fails. A task with an unresolved conflict holds back its later ops (they
   * build on the conflicted one) but not other tasks' ops.
   */
  replay(send: SendOp, hooks: ReplayHooks): Promise<ReplayOutcome> {
    return this.options.lock(`${this.prefix}replay`, async () => {
      for (;;) {
        const next = this.nextSendable();
        if (!next) return { outcome: 'done' };
        try {
          const task = await send(next);
          this.settle(next, task);
          hooks.applied(next, task);
        } catch (error) {
          if (error instanceof PreconditionFailedError) {
            if (isReflectedIn(next, error.current)) {
              // An earlier attempt succeeded but its answer was lost (or another tab sent it).
              this.settle(next, error.current);
              hooks.applied(next, error.current);
            } else {
              this.put({ ...next, conflict: { current: error.current } });
              hooks.conflict(next, error.current);
            }
          } else if (error instanceof UnauthorizedError) {
            return { outcome: 'unauthorized' };
          } else if (error instanceof ApiError && !error.transient) {
            if (next.kind === 'delete' && error.status === 404) {
              this.settle(next, null);
              hooks.applied(next, null);
              continue;
            }
            // A refused create, or a task gone from the server, takes its later ops with it.
            const dropAll = next.kind === 'create' || error.status === 404;
            const dropped = dropAll ? this.list().filter((op) => op.taskId === next.taskId && op.opId !== next.opId) : [];
            for (const op of [next, ...dropped]) this.remove(op.opId);
            hooks.rejected(next, error, dropped);
          } else {
            return { outcome: 'retry', error };
          }
        }
      }
    });
  }

  /**
   * The user's answer to a conflict. "mine" re-bases every queued op of the
   * task on the server's current version so the next replay overwrites it on
   * purpose; "theirs" drops them. Returns the server's task (to show), if any.
   */
  resolveConflict(taskId: string, choice: 'mine' | 'theirs'): Task | undefined {
    const ops = this.list().filter((op) => op.taskId === taskId);
    const current = ops.find((op) => op.conflict)?.conflict?.current;
    if (!current) return undefined;
    for (const op of ops) {
      if (choice === 'theirs') this.remove(op.opId);
      else if (op.kind !== 'create') this.put({ ...op, conflict: undefined, baseVersion: current.version });
    }
    return current;
  }

  private nextSendable(): Op | undefined {
    const blocked = new Set<string>();
    for (const op of this.list()) {
      if (blocked.has(op.taskId)) continue;
      if (op.conflict) blocked.add(op.taskId);
      else return op;
    }
    return undefined;
  }

  /** Removes a confirmed op; later ops of its task now build on the server's answer. */
  private settle(done: Op, task: Task | null): void {
    this.remove(done.opId);
    for (const op of this.list()) {
      if (op.taskId !== done.taskId || op.kind === 'create') continue;
      if (task === null) this.remove(op.opId);
      else if (op.baseVersion === null || op.baseVersion < task.version) this.put({ ...op, baseVersion: task.version });
    }
  }

  private put(op: Op): void {
    this.options.storage.setItem(this.prefix + op.opId, JSON.stringify(op));
  }

  private remove(opId: string): void {
    this.options.storage.removeItem(this.prefix + opId);
  }
}

/** Sends an op with the HTTP API; edits carry If-Match with their base version. */
export function sendWith(api: Pick<Api, 'createTask' | 'updateTask' | 'completeTask' | 'deleteTask'>): SendOp {
  return async (op) => {
    switch (op.kind) {
      case 'create':
        return api.createTask({ id: op.taskId, title: op.title, description: op.description });
      case 'update':
        return api.updateTask(op.taskId, op.changes, op.baseVersion);
      case 'complete':
        return api.completeTask(op.taskId, op.completed, op.baseVersion);
      case 'delete':
        await api.deleteTask(op.taskId, op.baseVersion);
        return null;
    }
  };
}
