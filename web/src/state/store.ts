import type { ServerFrame, Task, TaskEvent } from '../../../lambdas/contract.js';

interface Entry {
  task: Task;
  /** Value of the change counter when this entry was last written. */
  seq: number;
}

/**
 * The server's state as this tab knows it: no I/O, no timers. Every write
 * goes through here (socket events, HTTP responses, resync snapshots), and
 * the contract's rule decides: a task is replaced only by a strictly newer
 * `version`; delivery is at-least-once, so equal or older ones are dropped.
 */
export class TaskStore {
  private readonly tasks = new Map<string, Entry>();
  /**
   * Ids deleted while this tab watched. A deleted task never comes back
   * (ids are client ULIDs, never reused), so a late redelivered
   * TASK_UPDATED, or a snapshot read just before the delete, cannot resurrect it.
   */
  private readonly tombstones = new Map<string, number>();
  private seq = 0;

  /** Applies a socket frame; returns whether anything changed. */
  applyFrame(frame: ServerFrame): boolean {
    if (frame.type === 'BATCH') {
      let changed = false;
      for (const event of frame.events) changed = this.applyEvent(event) || changed;
      return changed;
    }
    if (frame.type === 'TASK_CREATED' || frame.type === 'TASK_UPDATED' || frame.type === 'TASK_DELETED') {
      return this.applyEvent(frame);
    }
    return false;
  }

  applyEvent(event: TaskEvent): boolean {
    if (event.type === 'TASK_DELETED') return this.remove(event.taskId);
    return this.applyTask(event.task);
  }

  /** A task from an event or an HTTP response. */
  applyTask(task: Task): boolean {
    if (this.tombstones.has(task.id)) return false;
    const held = this.tasks.get(task.id);
    if (held && task.version <= held.task.version) return false;
    this.tasks.set(task.id, { task, seq: ++this.seq });
    return true;
  }

  /** A TASK_DELETED event or a 204 from DELETE. */
  remove(id: string): boolean {
    if (this.tombstones.has(id)) return false;
    this.tombstones.set(id, ++this.seq);
    return this.tasks.delete(id);
  }

  /** Marks the start of a `GET /tasks` resync; pass the mark to applySnapshot. */
  beginResync(): number {
    return this.seq;
  }

  /**
   * Replaces the server state with a full listing fetched after `mark`.
   * Versions only grow, so a listed task replaces ours only when newer. A task
   * we hold but the listing lacks was deleted while we were not listening,
   * unless it reached us after `mark` (an event that raced the listing).
   */
  applySnapshot(tasks: readonly Task[], mark: number): boolean {
    let changed = false;
    const listed = new Set<string>();
    for (const task of tasks) {
      listed.add(task.id);
      if (this.tombstones.has(task.id)) continue;
      const held = this.tasks.get(task.id);
      if (held && held.task.version >= task.version) continue;
      this.tasks.set(task.id, { task, seq: ++this.seq });
      changed = true;
    }
    for (const [id, entry] of this.tasks) {
      if (!listed.has(id) && entry.seq <= mark) {
        this.tasks.delete(id);
        changed = true;
      }
    }
    return changed;
  }

  /** Seeds the store from a cache; behaves like a snapshot read before anything else. */
  seed(tasks: readonly Task[]): void {
    for (const task of tasks) if (!this.tasks.has(task.id)) this.tasks.set(task.id, { task, seq: 0 });
  }

  get(id: string): Task | undefined {
    return this.tasks.get(id)?.task;
  }

  isDeleted(id: string): boolean {
    return this.tombstones.has(id);
  }

  /** Oldest first: ids are ULIDs, so id order is creation order (as `GET /tasks`). */
  list(): Task[] {
    return [...this.tasks.values()].map((e) => e.task).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
