import type { Task } from '../../../lambdas/contract.js';
import { ApiError, PreconditionFailedError, UnauthorizedError, type Api } from '../api.js';
import type { LockRunner } from '../lock.js';
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

/** Where the ops are kept (UserDb in IndexedDB; tests pass one over memory). */
export interface OpStore {
  listOps(): Promise<Op[]>;
  putOp(op: Op): Promise<void>;
  removeOp(opId: string): Promise<void>;
}

export interface OutboxOptions {
  store: OpStore;
  /** The user's `sub`: each account in a browser has its own queue (and lock). */
  namespace: string;
  lock: LockRunner;
  newId: () => string;
  now?: () => Date;
  /** A write of this tab is stored: the place to tell the other tabs. */
  onStored?(): void;
}

/**
 * The queue of the user's changes not yet confirmed by the server, in
 * IndexedDB so it survives a reload and is shared by the user's tabs. One
 * record per op: tabs only ever add records, and only the lock holder (one
 * replaying tab at a time) rewrites or removes them, so no tab's
 * read-modify-write can clobber another's.
 *
 * IndexedDB is asynchronous and the UI is not: `list()` answers from memory,
 * the ops last read (`load()`, after another tab's change) with this tab's
 * writes on top until they are stored. Writes are stored in the order made.
 */
export class Outbox {
  private readonly lockName: string;
  private stored: Op[] = [];
  /** This tab's writes not stored yet: op, or null for a removal. */
  private readonly unsaved = new Map<string, Op | null>();
  private tail: Promise<unknown> = Promise.resolve();
  /** Writes asked for and not finished. */
  private writing = 0;

  constructor(private readonly options: OutboxOptions) {
    this.lockName = `tasks.outbox.${options.namespace}.replay`;
  }

  list(): Op[] {
    if (this.unsaved.size === 0) return this.stored;
    const byId = new Map(this.stored.map((op) => [op.opId, op]));
    for (const [opId, op] of this.unsaved) {
      if (op) byId.set(opId, op);
      else byId.delete(opId);
    }
    return [...byId.values()].sort((a, b) => (a.opId < b.opId ? -1 : 1));
  }

  /** Reads the queue again (at start, and when another tab changed it); after this tab's pending writes. */
  load(): Promise<void> {
    return this.queue(async () => {
      this.stored = await this.options.store.listOps();
    });
  }

  /** Runs `fn` under the lock replays take (one tab at a time). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.options.lock(this.lockName, fn);
  }

  enqueue(input: NewOp): Op {
    const op = { ...input, opId: this.options.newId(), at: this.now().toISOString() } as Op;
    void this.put(op).catch(() => undefined);
    return op;
  }

  /**
   * Undo: takes back queued ops that were not sent (a held delete, see
   * `holdUntil`). Returns the ops removed; one already sent, or sent by
   * another tab, is not among them.
   */
  cancel(opIds: readonly string[]): Op[] {
    const wanted = new Set(opIds);
    const removed = this.list().filter((op) => wanted.has(op.opId));
    for (const op of removed) void this.remove(op.opId).catch(() => undefined);
    return removed;
  }

  /** Sends held ops with the next replay instead of when their hold ends (the undo toast was dismissed). */
  release(opIds: readonly string[]): void {
    const wanted = new Set(opIds);
    for (const op of this.list()) {
      if (!wanted.has(op.opId) || op.holdUntil === undefined) continue;
      const { holdUntil: _h, ...rest } = op;
      void this.put(rest as Op).catch(() => undefined);
    }
  }

  /** When the earliest held op may be sent (epoch ms), or null when none is held. */
  nextHoldEnd(): number | null {
    const now = this.now().getTime();
    let next: number | null = null;
    for (const op of this.list()) {
      if (op.holdUntil !== undefined && op.holdUntil > now && (next === null || op.holdUntil < next)) next = op.holdUntil;
    }
    return next;
  }

  /**
   * Sends queued ops oldest first until the queue is empty or the network
   * fails. A task with an unresolved conflict holds back its later ops (they
   * build on the conflicted one) but not other tasks' ops.
   */
  replay(send: SendOp, hooks: ReplayHooks): Promise<ReplayOutcome> {
    return this.exclusive(async () => {
      // Another tab may have sent or added ops since this tab last read them.
      await this.load();
      for (;;) {
        const next = this.nextSendable();
        if (!next) return { outcome: 'done' };
        try {
          const task = await send(next);
          await this.settle(next, task);
          hooks.applied(next, task);
        } catch (error) {
          if (error instanceof PreconditionFailedError) {
            if (isReflectedIn(next, error.current)) {
              // An earlier attempt succeeded but its answer was lost (or another tab sent it).
              await this.settle(next, error.current);
              hooks.applied(next, error.current);
            } else {
              await this.put({ ...next, conflict: { current: error.current } });
              hooks.conflict(next, error.current);
            }
          } else if (error instanceof UnauthorizedError) {
            return { outcome: 'unauthorized' };
          } else if (error instanceof ApiError && !error.transient) {
            // A delete of a task already gone, or a replayed create of a task deleted since
            // (409 TASK_DELETED): done, and the task stays deleted; its later ops are moot.
            if ((next.kind === 'delete' && error.status === 404) || (next.kind === 'create' && error.code === 'TASK_DELETED')) {
              await this.settle(next, null);
              hooks.applied(next, null);
              continue;
            }
            // A refused create, or a task gone from the server, takes its later ops with it.
            const dropAll = next.kind === 'create' || error.status === 404;
            const dropped = dropAll ? this.list().filter((op) => op.taskId === next.taskId && op.opId !== next.opId) : [];
            for (const op of [next, ...dropped]) await this.remove(op.opId);
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
      if (choice === 'theirs') void this.remove(op.opId).catch(() => undefined);
      else if (op.kind !== 'create')
        void this.put({ ...op, conflict: undefined, baseVersion: current.version }).catch(() => undefined);
    }
    return current;
  }

  /** Whether an op can go out now: not waiting for the user (conflict) nor held for undo. */
  private sendable(op: Op, now: number): boolean {
    return !op.conflict && (op.holdUntil === undefined || op.holdUntil <= now);
  }

  /** Whether some op could be sent now (the rest wait for a conflict's answer or a hold's end). */
  hasSendable(): boolean {
    return this.nextSendable() !== undefined;
  }

  private nextSendable(): Op | undefined {
    const now = this.now().getTime();
    const blocked = new Set<string>();
    for (const op of this.list()) {
      if (blocked.has(op.taskId)) continue;
      if (this.sendable(op, now)) return op;
      blocked.add(op.taskId);
    }
    return undefined;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** Removes a confirmed op; later ops of its task now build on the server's answer. */
  private async settle(done: Op, task: Task | null): Promise<void> {
    await this.remove(done.opId);
    for (const op of this.list()) {
      if (op.taskId !== done.taskId || op.kind === 'create') continue;
      if (task === null) await this.remove(op.opId);
      else if (op.baseVersion === null || op.baseVersion < task.version) await this.put({ ...op, baseVersion: task.version });
    }
  }

  private put(op: Op): Promise<void> {
    return this.write(op.opId, op);
  }

  private remove(opId: string): Promise<void> {
    return this.write(opId, null);
  }

  /** Shown at once (list), stored in order; rejects when storing failed (the op then lives in memory only). */
  private write(opId: string, op: Op | null): Promise<void> {
    this.unsaved.set(opId, op);
    this.writing++;
    return this.queue(async () => {
      try {
        if (op) await this.options.store.putOp(op);
        else await this.options.store.removeOp(opId);
        this.stored = withOp(this.stored, opId, op);
        if (this.unsaved.get(opId) === op) this.unsaved.delete(opId);
      } finally {
        // Once per burst (mark all done queues an op per task): the other tabs re-read the whole outbox.
        if (--this.writing === 0) this.options.onStored?.();
      }
    });
  }

  private queue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/**
 * `ops` (sorted by opId) with `op` stored under `opId`, or without it (null); a new array, never
 * the one given (list() hands it out). A new op, the usual case, has the largest id: appended.
 */
function withOp(ops: readonly Op[], opId: string, op: Op | null): Op[] {
  const last = ops[ops.length - 1];
  if (op && (!last || last.opId < opId)) return [...ops, op];
  const rest = ops.filter((o) => o.opId !== opId);
  return op ? [...rest, op].sort((a, b) => (a.opId < b.opId ? -1 : 1)) : rest;
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
