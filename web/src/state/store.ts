import type { ServerFrame, Task, TaskEvent } from '../../../lambdas/contract.js';
import { STREAM_MAPPING } from '../../../lib/definitions.js';

/**
 * Deleted ids, the rule (the same here and in IndexedDB, see local-db.ts):
 *
 * - A delete is the task's last version v (the contract makes a delete the
 *   next version, and a deleted id is never created again: a replayed create
 *   answers 409 TASK_DELETED). A delete of version v removes a held task whose
 *   version is lower than v; a delete whose version is unknown (our own 204,
 *   a listing that no longer has the task) removes it whatever its version.
 * - After a delete no upsert of that id can be newer, so every upsert that
 *   still arrives is a stale copy (a TASK_UPDATED redelivered by the stream's
 *   retries, or an HTTP answer or listing read before the delete) and is
 *   dropped. The change feed itself never sends one (one entry per task: its
 *   latest state), so only those two sources need guarding against.
 * - Both are bounded in time: a stream record is retried for at most the
 *   event source mapping's maxRecordAge after it was written (before the
 *   delete), and a request in flight times out after 15 s. So the deleted id
 *   is remembered, with its version and when we learned of it, for
 *   DELETED_KEEP_MS (twice maxRecordAge), in memory and in IndexedDB, then
 *   forgotten. Without IndexedDB's copy a reload within that time could let
 *   a late redelivered event bring the task back until the next listing.
 */
export const DELETED_KEEP_MS = 2 * STREAM_MAPPING.maxRecordAgeSeconds * 1000;

/** A deleted id as remembered; `version` null when the delete's version is unknown. */
export interface DeletedMark {
  id: string;
  version: number | null;
  /** Epoch ms when this client learned of the delete. */
  at: number;
}

/** Whether a task replaces the held one: versions only grow, equal or older copies are duplicates. */
export function supersedes(incoming: Task, held: Task | undefined): boolean {
  return !held || incoming.version > held.version;
}

/** Whether a delete of `version` (null: unknown) removes the held task (see the rule above). */
export function deleteApplies(version: number | null, held: Task | undefined): boolean {
  return version === null || !held || held.version < version;
}

interface Entry {
  task: Task;
  /** Value of the change counter when this entry was last written. */
  seq: number;
}

/**
 * The server's state as this tab knows it: no I/O, no timers. Every write
 * goes through here (socket events, HTTP responses, change-feed entries,
 * listings), and the contract's rule decides: a task is replaced only by a
 * strictly newer `version`; delivery is at-least-once, so equal or older
 * ones are dropped; deletes are versioned (rule above).
 */
export class TaskStore {
  private readonly tasks = new Map<string, Entry>();
  private readonly deleted = new Map<string, DeletedMark>();
  private seq = 0;
  /** `list()`'s answer until the tasks change: 10,000 tasks are sorted once, not on every render. */
  private sorted: readonly Task[] | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /** Applies a socket frame; returns whether anything changed. */
  applyFrame(frame: ServerFrame): boolean {
    let changed = false;
    for (const event of taskEvents(frame)) changed = this.applyEvent(event) || changed;
    return changed;
  }

  applyEvent(event: TaskEvent): boolean {
    if (event.type === 'TASK_DELETED') return this.applyDelete(event.taskId, deleteVersion(event));
    return this.applyTask(event.task);
  }

  /** A task from an event, an HTTP response or a change-feed upsert. */
  applyTask(task: Task): boolean {
    if (this.deleted.has(task.id)) return false;
    if (!supersedes(task, this.tasks.get(task.id)?.task)) return false;
    this.tasks.set(task.id, { task, seq: ++this.seq });
    this.sorted = null;
    return true;
  }

  /**
   * A TASK_DELETED event, a change-feed delete, or our own DELETE's 204
   * (version null). Returns whether the list changed.
   */
  applyDelete(id: string, version: number | null): boolean {
    const held = this.tasks.get(id)?.task;
    if (!deleteApplies(version, held)) return false;
    this.deleted.set(id, { id, version: version ?? this.deleted.get(id)?.version ?? null, at: this.now() });
    ++this.seq;
    if (!this.tasks.delete(id)) return false;
    this.sorted = null;
    return true;
  }

  /** Marks the start of a `GET /tasks` listing; pass the mark to applySnapshot. */
  beginResync(): number {
    return this.seq;
  }

  /**
   * Takes a full listing fetched after `mark`. Versions only grow, so a listed
   * task replaces ours only when newer. A task we hold but the listing lacks
   * was deleted while we were not listening, unless it reached us after
   * `mark` (an event that raced the listing); it is removed and remembered as
   * deleted (version unknown). Returns the removed ids.
   */
  applySnapshot(tasks: readonly Task[], mark: number): { changed: boolean; removed: string[] } {
    let changed = false;
    const listed = new Set<string>();
    for (const task of tasks) {
      listed.add(task.id);
      changed = this.applyTask(task) || changed;
    }
    const removed = [...this.tasks].filter(([id, entry]) => !listed.has(id) && entry.seq <= mark).map(([id]) => id);
    for (const id of removed) this.applyDelete(id, null);
    return { changed: changed || removed.length > 0, removed };
  }

  /** Seeds the store from IndexedDB: behaves like a listing read before anything else. */
  seed(tasks: readonly Task[], deleted: readonly DeletedMark[] = []): void {
    this.sorted = null;
    for (const mark of deleted) {
      if (!this.deleted.has(mark.id)) this.deleted.set(mark.id, mark);
      this.tasks.delete(mark.id);
    }
    for (const task of tasks) {
      if (this.deleted.has(task.id) || !supersedes(task, this.tasks.get(task.id)?.task)) continue;
      this.tasks.set(task.id, { task, seq: this.tasks.get(task.id)?.seq ?? 0 });
    }
  }

  /** Forgets deleted ids learned before `at` (epoch ms); see DELETED_KEEP_MS. */
  forgetDeletedBefore(at: number): void {
    for (const [id, mark] of this.deleted) if (mark.at < at) this.deleted.delete(id);
  }

  get(id: string): Task | undefined {
    return this.tasks.get(id)?.task;
  }

  isDeleted(id: string): boolean {
    return this.deleted.has(id);
  }

  /** Oldest first: ids are ULIDs, so id order is creation order (as `GET /tasks`). */
  list(): readonly Task[] {
    this.sorted ??= [...this.tasks.values()].map((e) => e.task).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }
}

/** The task events a frame carries, in order (a BATCH's, or the frame itself). */
export function taskEvents(frame: ServerFrame): TaskEvent[] {
  if (frame.type === 'BATCH') return frame.events;
  if (frame.type === 'TASK_CREATED' || frame.type === 'TASK_UPDATED' || frame.type === 'TASK_DELETED') return [frame];
  return [];
}

/** A TASK_DELETED's version; null from a server older than versioned deletes. */
export function deleteVersion(event: { version?: unknown }): number | null {
  return typeof event.version === 'number' ? event.version : null;
}
