import type { Task } from '../../../lambdas/contract.js';

export type TaskChanges = { title?: string; description?: string };

interface OpBase {
  /** ULID: queue order, and a stable key in storage. */
  opId: string;
  taskId: string;
  /** When the user made the change (ISO). */
  at: string;
  /** Set when the server answered 412: its current task. */
  conflict?: { current: Task };
  /**
   * Not sent before this time (epoch ms): a delete the user can still undo.
   * Shown at once (applyOps ignores it); the task's later ops wait behind it.
   */
  holdUntil?: number;
}

export interface CreateOp extends OpBase {
  kind: 'create';
  title: string;
  description: string;
}

/**
 * `baseVersion` is the version the change was made against, sent as
 * If-Match; null while the task exists only in this outbox (its create is
 * queued ahead) and filled in when that create succeeds.
 */
export interface UpdateOp extends OpBase {
  kind: 'update';
  changes: TaskChanges;
  baseVersion: number | null;
}

export interface CompleteOp extends OpBase {
  kind: 'complete';
  completed: boolean;
  baseVersion: number | null;
}

export interface DeleteOp extends OpBase {
  kind: 'delete';
  baseVersion: number | null;
}

export type Op = CreateOp | UpdateOp | CompleteOp | DeleteOp;
export type NewOp =
  | Omit<CreateOp, 'opId' | 'at'>
  | Omit<UpdateOp, 'opId' | 'at'>
  | Omit<CompleteOp, 'opId' | 'at'>
  | Omit<DeleteOp, 'opId' | 'at'>;

/** The view of a task no op touches, per server task object: the same object on every call, so 10,000 untouched tasks cost no allocation (and keep their identity for caches keyed by it). */
const untouched = new WeakMap<Task, ViewTask>();

function viewOf(task: Task): ViewTask {
  let view = untouched.get(task);
  if (!view) {
    view = { ...task, pending: false, conflict: false };
    untouched.set(task, view);
  }
  return view;
}

export interface ViewTask extends Task {
  /** Local changes not yet confirmed by the server. */
  pending: boolean;
  /** A queued change was refused with 412 and waits for the user's choice. */
  conflict: boolean;
}

/**
 * What the user sees: the server's tasks with the queued ops laid on top in
 * order (optimistic UI), oldest first (by id). Pure, and cheap for what ops
 * do not touch: called on every change. Views are read-only: a task no op
 * touches gets the same view object every time.
 */
export function applyOps(tasks: readonly Task[], ops: readonly Op[]): ViewTask[] {
  if (ops.length === 0) return byId(tasks.map(viewOf));
  const view = new Map<string, ViewTask>();
  for (const t of tasks) view.set(t.id, viewOf(t));
  for (const op of ops) {
    const held = view.get(op.taskId);
    if (op.kind === 'create') {
      if (!held) {
        view.set(op.taskId, {
          id: op.taskId,
          title: op.title,
          description: op.description,
          completed: false,
          createdAt: op.at,
          updatedAt: op.at,
          version: 0,
          pending: true,
          conflict: false,
        });
      }
      continue;
    }
    if (!held) continue;
    if (op.kind === 'delete') {
      view.delete(op.taskId);
      continue;
    }
    const next: ViewTask = { ...held, pending: true, conflict: held.conflict || !!op.conflict, updatedAt: op.at };
    if (op.kind === 'update') Object.assign(next, definedOnly(op.changes));
    else next.completed = op.completed;
    view.set(op.taskId, next);
  }
  return byId([...view.values()]);
}

/** Sorts by id in place, after a linear check: the store's list comes sorted, and so it mostly stays. */
function byId<T extends { id: string }>(list: T[]): T[] {
  for (let i = 1; i < list.length; i++) {
    if (list[i - 1]!.id > list[i]!.id) return list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  return list;
}

/** Whether the server's task already shows the op's effect (a replay after an unseen success). */
export function isReflectedIn(op: Op, task: Task): boolean {
  switch (op.kind) {
    case 'create':
      return task.title === op.title && task.description === op.description;
    case 'update':
      return (
        (op.changes.title === undefined || op.changes.title === task.title) &&
        (op.changes.description === undefined || op.changes.description === task.description)
      );
    case 'complete':
      return task.completed === op.completed;
    case 'delete':
      return false;
  }
}

function definedOnly(changes: TaskChanges): TaskChanges {
  const out: TaskChanges = {};
  if (changes.title !== undefined) out.title = changes.title;
  if (changes.description !== undefined) out.description = changes.description;
  return out;
}
