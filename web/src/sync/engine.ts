import { LIMITS } from '../../../lib/definitions.js';
import type { ServerFrame, Task } from '../../../lambdas/contract.js';
import { UnauthorizedError, type Api } from '../api.js';
import type { LockRunner } from '../lock.js';
import { readJson, type KeyValueStorage } from '../storage.js';
import { applyOps, type NewOp, type Op, type TaskChanges, type ViewTask } from '../state/ops.js';
import { Outbox, sendWith, type ReplayHooks, type SendOp } from '../state/outbox.js';
import { TaskStore } from '../state/store.js';
import { ulidFactory } from '../ulid.js';
import { backoffDelay } from './backoff.js';
import type { NetworkStatus } from './network.js';
import { LiveSocket, type ConnectionStatus, type SocketLike } from './socket.js';

export interface Conflict {
  taskId: string;
  /** The task as my queued changes would leave it; null when my change deletes it. */
  mine: Task | null;
  /** The server's current task (from the 412's `error.current`). */
  theirs: Task;
}

export interface Message {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

export interface EngineState {
  tasks: ViewTask[];
  status: ConnectionStatus;
  /** loading: nothing to show yet; error: the first listing failed and nothing is cached. */
  load: 'loading' | 'ready' | 'error';
  loadError: string | null;
  conflicts: Conflict[];
  messages: Message[];
  /** From AUTH_SUCCESS; handy when reading server logs. */
  connectionId: string | null;
}

export interface EngineOptions {
  api: Api;
  wsUrl: string;
  getToken(): Promise<string | null>;
  /** The API refused even a fresh token, or there is none: the user must sign in. */
  onUnauthorized(): void;
  /** The user's `sub`; namespaces the outbox and the cache in storage. */
  userKey: string;
  storage: KeyValueStorage;
  lock: LockRunner;
  network: NetworkStatus;
  /** `storage` events from other tabs (key null = cleared). */
  subscribeStorage?(listener: (key: string | null) => void): () => void;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
  newId?: () => string;
  now?: () => Date;
}

const INFO_TTL_MS = 6000;
const OFFLINE_NO_DATA = 'You are offline. Your tasks will load when the connection is back.';

/** Where the last known tasks are kept so a reload (even offline) shows them at once. */
export function cacheKey(userKey: string): string {
  return `tasks.cache.${userKey}`;
}
const MAX_MESSAGES = 5;

/**
 * The client's moving parts in one place: the socket feeds the store, user
 * changes go to the outbox and are laid over the store optimistically, and
 * every (re)connect resyncs the store and replays the outbox.
 */
export class SyncEngine {
  readonly store = new TaskStore();
  readonly outbox: Outbox;
  private readonly socket: LiveSocket;
  private readonly listeners = new Set<() => void>();
  private readonly cacheKey: string;
  private state: EngineState;
  private dirty = true;
  private messages: Message[] = [];
  private messageSeq = 0;
  private load: EngineState['load'];
  private loadError: string | null = null;
  private connectionId: string | null = null;
  private resyncGeneration = 0;
  private resyncAttempt = 0;
  private replayAttempt = 0;
  private replaying = false;
  private replayAgain = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private cleanups: (() => void)[] = [];
  private readonly send: SendOp;
  private readonly idFactory: () => string;

  constructor(private readonly options: EngineOptions) {
    this.cacheKey = cacheKey(options.userKey);
    this.idFactory = options.newId ?? ulidFactory();
    this.outbox = new Outbox({
      storage: options.storage,
      namespace: options.userKey,
      lock: options.lock,
      newId: this.idFactory,
      now: options.now,
    });
    this.send = sendWith(options.api);
    const cached = readJson<Task[]>(options.storage, this.cacheKey);
    if (Array.isArray(cached)) this.store.seed(cached);
    this.load = Array.isArray(cached) ? 'ready' : 'loading';
    this.socket = new LiveSocket({
      wsUrl: options.wsUrl,
      getToken: options.getToken,
      network: options.network,
      createSocket: options.createSocket,
      random: options.random,
      onStatus: () => this.changed(),
      onFrame: (frame) => this.onFrame(frame),
      onConnected: () => {
        void this.resync();
        void this.replay();
      },
      onSignedOut: () => options.onUnauthorized(),
    });
    this.state = this.compute();
  }

  start(): void {
    this.cleanups.push(
      this.options.network.subscribe((online) => {
        if (online) void this.replay();
        this.changed();
      }),
    );
    if (this.options.subscribeStorage) {
      this.cleanups.push(
        this.options.subscribeStorage((key) => {
          // Another tab queued, sent or resolved a change: show the same thing here.
          if (this.outbox.owns(key)) this.changed();
        }),
      );
    }
    this.socket.start();
    if (this.options.network.online()) {
      // Do not wait for the socket to show tasks; the resync after it opens catches up.
      void this.resync();
      void this.replay();
    } else if (this.load === 'loading') {
      this.load = 'error';
      this.loadError = OFFLINE_NO_DATA;
    }
  }

  stop(): void {
    this.socket.stop();
    this.cleanups.forEach((c) => c());
    this.cleanups = [];
    this.timers.forEach((t) => clearTimeout(t));
    this.timers.clear();
    this.resyncGeneration++;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getState(): EngineState {
    if (this.dirty) {
      this.state = this.compute();
      this.dirty = false;
    }
    return this.state;
  }

  // ---- user actions (optimistic: shown at once, sent by the outbox) ----

  createTask(title: string, description = ''): string | null {
    const input = this.validate({ title, description });
    if (!input) return null;
    const op = this.enqueue({ kind: 'create', taskId: this.idFactory(), title: input.title!, description: input.description ?? '' });
    return op.taskId;
  }

  /**
   * `baseVersion` is the version the user started editing from (an edit form
   * opened before a remote change must not overwrite it silently: If-Match
   * turns that into a conflict). Defaults to the version held now.
   */
  updateTask(id: string, changes: TaskChanges, baseVersion?: number): boolean {
    const input = this.validate(changes);
    const task = this.viewTask(id);
    if (!input || !task) return false;
    const diff: TaskChanges = {};
    if (input.title !== undefined && input.title !== task.title) diff.title = input.title;
    if (input.description !== undefined && input.description !== task.description) diff.description = input.description;
    if (diff.title === undefined && diff.description === undefined) return true;
    const base = baseVersion !== undefined && baseVersion > 0 ? baseVersion : this.baseVersion(id);
    this.enqueue({ kind: 'update', taskId: id, changes: diff, baseVersion: base });
    return true;
  }

  setCompleted(id: string, completed: boolean): void {
    if (!this.viewTask(id)) return;
    this.enqueue({ kind: 'complete', taskId: id, completed, baseVersion: this.baseVersion(id) });
  }

  deleteTask(id: string): void {
    if (!this.viewTask(id)) return;
    this.enqueue({ kind: 'delete', taskId: id, baseVersion: this.baseVersion(id) });
  }

  resolveConflict(taskId: string, choice: 'mine' | 'theirs'): void {
    const current = this.outbox.resolveConflict(taskId, choice);
    if (current) this.store.applyTask(current);
    this.changed();
    if (choice === 'mine') void this.replay();
  }

  dismissMessage(id: number): void {
    this.messages = this.messages.filter((m) => m.id !== id);
    this.changed();
  }

  /** Re-fetches everything (also the error state's Retry button). */
  async resync(): Promise<void> {
    const generation = ++this.resyncGeneration;
    const mark = this.store.beginResync();
    try {
      const tasks = await this.options.api.listAllTasks();
      if (generation !== this.resyncGeneration) return;
      this.store.applySnapshot(tasks, mark);
      this.resyncAttempt = 0;
      this.load = 'ready';
      this.loadError = null;
      this.saveCache();
      this.changed();
    } catch (error) {
      if (generation !== this.resyncGeneration) return;
      if (error instanceof UnauthorizedError) {
        this.options.onUnauthorized();
        return;
      }
      if (this.load === 'loading') {
        this.load = 'error';
        this.loadError = this.options.network.online()
          ? `Could not load your tasks: ${(error as Error).message}`
          : OFFLINE_NO_DATA;
        this.changed();
      }
      // Offline: the socket's reconnect will resync. Online: the API had a bad moment; retry.
      if (this.options.network.online()) this.later(() => void this.resync(), backoffDelay(this.resyncAttempt++, this.options.random));
    }
  }

  /** Sends queued changes; one tab at a time across the user's tabs (see Outbox). */
  async replay(): Promise<void> {
    if (this.replaying) {
      this.replayAgain = true;
      return;
    }
    if (!this.options.network.online()) return;
    this.replaying = true;
    try {
      do {
        this.replayAgain = false;
        const result = await this.outbox.replay(this.send, this.hooks);
        if (result.outcome === 'unauthorized') {
          this.options.onUnauthorized();
          return;
        }
        if (result.outcome === 'retry') {
          if (this.options.network.online()) {
            this.later(() => void this.replay(), backoffDelay(this.replayAttempt++, this.options.random));
          }
          return;
        }
        this.replayAttempt = 0;
      } while (this.replayAgain);
    } finally {
      this.replaying = false;
    }
  }

  private readonly hooks: ReplayHooks = {
    applied: (op, task) => {
      if (task) this.store.applyTask(task);
      else this.store.remove(op.taskId);
      this.saveCache();
      this.changed();
    },
    conflict: (_op, current) => {
      this.store.applyTask(current);
      this.changed();
    },
    rejected: (op, error) => {
      const title = this.store.get(op.taskId)?.title ?? (op.kind === 'create' ? op.title : 'the task');
      const what = { create: 'add', update: 'save', complete: 'update', delete: 'delete' }[op.kind];
      const why = error.status === 404 ? 'it was deleted elsewhere' : error.message;
      this.notify('error', `Could not ${what} “${title}”: ${why}. Your change was undone.`);
    },
  };

  private onFrame(frame: ServerFrame): void {
    if (frame.type === 'AUTH_SUCCESS') {
      this.connectionId = frame.connectionId;
      this.changed();
      return;
    }
    if (this.store.applyFrame(frame)) {
      this.saveCache();
      this.changed();
    }
  }

  private enqueue(op: NewOp): Op {
    const queued = this.outbox.enqueue(op);
    this.changed();
    void this.replay();
    return queued;
  }

  private validate(input: TaskChanges): TaskChanges | null {
    const out: TaskChanges = {};
    if (input.title !== undefined) {
      out.title = input.title.trim();
      if (out.title.length < 1 || out.title.length > LIMITS.titleMaxChars) {
        this.notify('error', `A title needs 1 to ${LIMITS.titleMaxChars} characters.`);
        return null;
      }
    }
    if (input.description !== undefined) {
      out.description = input.description;
      if (out.description.length > LIMITS.descriptionMaxChars) {
        this.notify('error', `A description can have at most ${LIMITS.descriptionMaxChars} characters.`);
        return null;
      }
    }
    return out;
  }

  /** The version the user is looking at: what an edit's If-Match should name. */
  private baseVersion(id: string): number | null {
    return this.store.get(id)?.version ?? null;
  }

  private viewTask(id: string): ViewTask | undefined {
    return this.getState().tasks.find((t) => t.id === id);
  }

  private notify(kind: Message['kind'], text: string): void {
    const message = { id: ++this.messageSeq, kind, text };
    this.messages = [...this.messages, message].slice(-MAX_MESSAGES);
    if (kind === 'info') this.later(() => this.dismissMessage(message.id), INFO_TTL_MS);
    this.changed();
  }

  private saveCache(): void {
    try {
      this.options.storage.setItem(this.cacheKey, JSON.stringify(this.store.list()));
    } catch {
      // Storage full: the cache only speeds up the next start.
    }
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private changed(): void {
    this.dirty = true;
    this.listeners.forEach((l) => l());
  }

  private compute(): EngineState {
    const ops = this.outbox.list();
    const serverTasks = this.store.list();
    const conflicts: Conflict[] = [];
    for (const op of ops) {
      if (!op.conflict || conflicts.some((c) => c.taskId === op.taskId)) continue;
      const theirs = op.conflict.current;
      const mine = applyOps([theirs], ops.filter((o) => o.taskId === op.taskId))[0] ?? null;
      conflicts.push({ taskId: op.taskId, theirs, mine: mine && stripView(mine) });
    }
    return {
      tasks: applyOps(serverTasks, ops),
      status: this.options.network.online() ? this.socket.currentStatus : 'offline',
      load: this.load,
      loadError: this.loadError,
      conflicts,
      messages: this.messages,
      connectionId: this.connectionId,
    };
  }
}

function stripView({ pending: _p, conflict: _c, ...task }: ViewTask): Task {
  return task;
}
