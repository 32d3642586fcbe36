import { LIMITS } from '../../../lib/definitions.js';
import type { ServerFrame, Task } from '../../../lambdas/contract.js';
import { descriptionFits, normalizeTitle, titleFits } from '../../../lambdas/tasks/task-text.js';
import { ApiError, UnauthorizedError, type Api } from '../api.js';
import type { LockRunner } from '../lock.js';
import type { KeyValueStorage } from '../storage.js';
import { hasLegacyStorage, migrateLegacyStorage, type TaskWrite, type UserDb } from '../state/local-db.js';
import { applyOps, type NewOp, type Op, type TaskChanges, type ViewTask } from '../state/ops.js';
import { Outbox, sendWith, type ReplayHooks, type SendOp } from '../state/outbox.js';
import { DELETED_KEEP_MS, deleteVersion, TaskStore, taskEvents } from '../state/store.js';
import { ulidFactory } from '../ulid.js';
import { backoffDelay } from './backoff.js';
import type { NetworkStatus } from './network.js';
import { LiveSocket, type ConnectionStatus, type SocketLike } from './socket.js';
import type { TabChannel, TabMessage } from './tabs.js';

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

/**
 * Whether this tab's queued changes are getting through. `failing` is set by
 * a send that failed on the network or with a 5xx/429 (retried with backoff),
 * or one that has not answered for SLOW_SAVE_MS; cleared by the next success.
 */
export interface SaveState {
  failing: boolean;
  /** Why, in words, while failing. */
  reason: string | null;
  /** When the next attempt is due (epoch ms), while failing. */
  retryAt: number | null;
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
  /**
   * On how many devices (open connections, this one included) the user is live:
   * AUTH_SUCCESS's `devices`, then each PRESENCE frame's. Null while not live
   * or before the connection's first count.
   */
  devices: number | null;
  save: SaveState;
  /** Only the newest tasks are read from IndexedDB yet (a reload's first screen): counts are not known. */
  partial: boolean;
}

export interface EngineOptions {
  api: Api;
  wsUrl: string;
  /** `forceRefresh`: the server said the token expired; a new one even if it looks valid. */
  getToken(forceRefresh?: boolean): Promise<string | null>;
  /** The API refused even a fresh token, or there is none: the user must sign in. */
  onUnauthorized(): void;
  /** The user's `sub`; namespaces the outbox's lock (the database is the user's already). */
  userKey: string;
  /** This user's tasks, deleted ids, sync token and outbox (IndexedDB; memory in tests). */
  db: UserDb;
  /** The user's other tabs (BroadcastChannel). */
  channel?: TabChannel;
  /** localStorage of the previous version: its queued ops move into `db` once. */
  legacyStorage?: KeyValueStorage;
  lock: LockRunner;
  network: NetworkStatus;
  /** Heartbeat period (config.json `heartbeatMs`). */
  heartbeatMs?: number;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
  newId?: () => string;
  now?: () => Date;
}

const INFO_TTL_MS = 6000;
const OFFLINE_NO_DATA = 'You are offline. Your tasks will load when the connection is back.';
const MAX_MESSAGES = 5;
/** Tasks read first on a reload (more than a screen of rows), before all of them. */
const FIRST_SCREEN_TASKS = 100;
/** A send still unanswered after this long is shown as failing (the request itself times out at 15 s). */
export const SLOW_SAVE_MS = 4000;
const NOT_FAILING: SaveState = { failing: false, reason: null, retryAt: null };

/**
 * The client's moving parts in one place: the socket feeds the store, user
 * changes go to the outbox and are laid over the store optimistically, and
 * every (re)connect catches up and replays the outbox.
 *
 * Catching up: with no sync token (first visit, or the token was refused)
 * list everything (`GET /tasks`) and keep the last page's token; with one,
 * ask only for the changes since it (`GET /tasks/changes`, again at once
 * while `hasMore`). A token too old for the server's tombstones (410
 * RESYNC_REQUIRED) or one it cannot read (400) falls back to the full list,
 * silently. This runs at start (after the cached state is read from
 * IndexedDB and shown), on every (re)connect, and when a heartbeat's PONG
 * says `behind` (events were lost on the way). Everything the server says is
 * written to IndexedDB, the token in the same transaction as the changes it
 * covers.
 */
export class SyncEngine {
  readonly store: TaskStore;
  readonly outbox: Outbox;
  private readonly socket: LiveSocket;
  private readonly listeners = new Set<() => void>();
  private readonly db: UserDb;
  /** Resolves once the state kept in IndexedDB is in the store and the outbox. */
  private readonly loaded: Promise<void>;
  private syncToken: string | null = null;
  private state: EngineState;
  private dirty = true;
  private messages: Message[] = [];
  private messageSeq = 0;
  private load: EngineState['load'];
  private loadError: string | null = null;
  private connectionId: string | null = null;
  private devices: number | null = null;
  /** Bumped by stop(): answers of requests started before are ignored. */
  private generation = 0;
  private stopped = false;
  private catching: Promise<void> | null = null;
  private catchAgain = false;
  private catchAttempt = 0;
  private replayAttempt = 0;
  private replaying = false;
  private replayAgain = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private save: SaveState = NOT_FAILING;
  /** The message that says saving fails, while it does. */
  private saveMessageId: number | null = null;
  /** Changes waited (offline, failing sends, or queued by an earlier visit): say how many went out once they do. */
  private backlog = false;
  private synced = 0;
  private holdTimer: ReturnType<typeof setTimeout> | null = null;
  private partial = false;
  private holdTimerAt = 0;
  private cleanups: (() => void)[] = [];
  private readonly send: SendOp;
  private readonly idFactory: () => string;

  constructor(private readonly options: EngineOptions) {
    this.idFactory = options.newId ?? ulidFactory();
    this.store = new TaskStore(() => this.nowMs());
    this.db = options.db;
    this.outbox = new Outbox({
      store: options.db,
      namespace: options.userKey,
      lock: options.lock,
      newId: this.idFactory,
      now: options.now,
      onStored: () => options.channel?.post({ type: 'ops' }),
    });
    this.send = sendWith(options.api);
    this.load = 'loading';
    this.socket = new LiveSocket({
      wsUrl: options.wsUrl,
      getToken: options.getToken,
      network: options.network,
      createSocket: options.createSocket,
      random: options.random,
      heartbeatMs: options.heartbeatMs,
      pingSince: () => this.syncToken,
      onStatus: (status) => {
        // A count belongs to the connection it came on; the next one brings its own.
        if (status !== 'live') this.devices = null;
        this.changed();
      },
      onFrame: (frame) => this.onFrame(frame),
      onConnected: () => {
        // Only the changes since the token (or everything, the first time).
        void this.catchUp();
        void this.replay();
      },
      onSignedOut: () => options.onUnauthorized(),
    });
    this.loaded = this.loadLocal();
    this.state = this.compute();
  }

  start(): void {
    this.cleanups.push(
      this.options.network.subscribe((online) => {
        if (online) void this.replay();
        this.changed();
      }),
    );
    if (this.options.channel) this.cleanups.push(this.options.channel.subscribe((m) => this.onTabMessage(m)));
    this.socket.start();
    const generation = this.generation;
    void this.loaded.then(() => {
      if (generation !== this.generation) return;
      if (this.options.network.online()) {
        // Do not wait for the socket to show tasks; the catch-up after it opens follows.
        void this.catchUp();
        void this.replay();
      } else if (this.load === 'loading') {
        this.load = 'error';
        this.loadError = OFFLINE_NO_DATA;
        this.changed();
      }
    });
  }

  stop(): void {
    this.socket.stop();
    this.cleanups.forEach((c) => c());
    this.cleanups = [];
    this.timers.forEach((t) => clearTimeout(t));
    this.timers.clear();
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    this.generation++;
    this.stopped = true;
  }

  /** Sign-out: stops, and forgets the cached list and token (queued changes stay for the next sign-in). */
  forgetTasks(): Promise<void> {
    this.stop();
    return this.db.clearTasks().catch(() => undefined);
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
    const op = this.enqueue({
      kind: 'create',
      taskId: this.idFactory(),
      title: input.title!,
      description: input.description ?? '',
    });
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

  /**
   * Deletes that can be taken back for `holdMs` (the undo toast): hidden at
   * once here and in the user's other tabs (the outbox is shared), sent when
   * the hold ends, or at once with release(). Returns the ops' ids for undo().
   * Undo never re-creates a deleted id (the server would refuse it): the
   * DELETE simply was not sent (docs/design.md, "Undo").
   */
  deleteTasks(ids: readonly string[], holdMs = 0): string[] {
    const holdUntil = holdMs > 0 ? this.nowMs() + holdMs : undefined;
    const opIds: string[] = [];
    for (const id of ids) {
      if (!this.viewTask(id)) continue;
      opIds.push(this.outbox.enqueue({ kind: 'delete', taskId: id, baseVersion: this.baseVersion(id), holdUntil }).opId);
    }
    if (opIds.length > 0) this.afterEnqueue();
    return opIds;
  }

  /** Takes back held deletes not sent yet; returns the ids of the tasks that are back. */
  undo(opIds: readonly string[]): string[] {
    const restored = this.outbox.cancel(opIds).map((op) => op.taskId);
    if (restored.length > 0) this.changed();
    return restored;
  }

  /** Sends held deletes now (the toast was dismissed). */
  release(opIds: readonly string[]): void {
    this.outbox.release(opIds);
    this.changed();
    void this.replay();
  }

  /** Marks several tasks done (or not done) at once; those already so are left alone. */
  setCompletedMany(ids: readonly string[], completed: boolean): number {
    const view = new Map(this.getState().tasks.map((t) => [t.id, t]));
    let n = 0;
    for (const id of ids) {
      const task = view.get(id);
      if (!task || task.completed === completed) continue;
      this.outbox.enqueue({ kind: 'complete', taskId: id, completed, baseVersion: this.baseVersion(id) });
      n++;
    }
    if (n > 0) this.afterEnqueue();
    return n;
  }

  resolveConflict(taskId: string, choice: 'mine' | 'theirs'): void {
    const current = this.outbox.resolveConflict(taskId, choice);
    if (current && this.store.applyTask(current)) this.persist({ upserts: [current] });
    this.changed();
    if (choice === 'mine') void this.replay();
  }

  dismissMessage(id: number): void {
    this.messages = this.messages.filter((m) => m.id !== id);
    this.changed();
  }

  /** The error state's Retry button: catch up now. */
  resync(): Promise<void> {
    return this.catchUp();
  }

  /**
   * Brings the store up to the server's state (see the class comment). One
   * at a time: asked again while running, it runs once more after, since the
   * new reason (a reconnect, a PONG `behind`) may concern changes made after
   * the running request read the feed.
   */
  catchUp(): Promise<void> {
    if (this.catching) {
      this.catchAgain = true;
      return this.catching;
    }
    const generation = this.generation;
    this.catching = (async () => {
      try {
        await this.loaded;
        do {
          this.catchAgain = false;
          if (!(await this.catchUpOnce(generation))) return;
        } while (this.catchAgain && generation === this.generation);
      } finally {
        this.catching = null;
      }
    })();
    return this.catching;
  }

  /** One catch-up; false when it failed (a retry is scheduled if worth it) or the engine stopped. */
  private async catchUpOnce(generation: number): Promise<boolean> {
    try {
      const token = this.syncToken;
      if (token === null) {
        await this.listEverything(generation);
      } else {
        try {
          await this.pullChanges(token, generation);
        } catch (error) {
          // 410 RESYNC_REQUIRED: the token is older than the server keeps deletes. 400: a
          // corrupted or foreign token. Either way the token cannot be used: list everything.
          if (!(error instanceof ApiError) || error.transient || error instanceof UnauthorizedError) throw error;
          if (generation !== this.generation) return false;
          this.syncToken = null;
          await this.listEverything(generation);
        }
      }
      if (generation !== this.generation) return false;
      this.catchAttempt = 0;
      this.store.forgetDeletedBefore(this.nowMs() - DELETED_KEEP_MS);
      if (this.load !== 'ready' || this.loadError !== null) {
        this.load = 'ready';
        this.loadError = null;
        this.changed();
      }
      return true;
    } catch (error) {
      if (generation !== this.generation) return false;
      if (error instanceof UnauthorizedError) {
        this.options.onUnauthorized();
        return false;
      }
      if (this.load === 'loading') {
        this.load = 'error';
        this.loadError = this.options.network.online()
          ? `Could not load your tasks: ${(error as Error).message}`
          : OFFLINE_NO_DATA;
        this.changed();
      }
      // Offline: the socket's reconnect will catch up. Online: the API had a bad moment; retry.
      if (this.options.network.online())
        this.later(() => void this.catchUp(), backoffDelay(this.catchAttempt++, this.options.random));
      return false;
    }
  }

  /** `GET /tasks/changes` from `token` until `hasMore` is false. */
  private async pullChanges(token: string, generation: number): Promise<void> {
    let since = token;
    for (;;) {
      const page = await this.options.api.listChanges(since);
      if (generation !== this.generation) return;
      const upserts: Task[] = [];
      const deletes: { id: string; version: number | null }[] = [];
      let changed = false;
      for (const entry of page.changes) {
        if (entry.type === 'upsert') {
          changed = this.store.applyTask(entry.task) || changed;
          upserts.push(entry.task);
        } else {
          changed = this.store.applyDelete(entry.taskId, entry.version) || changed;
          deletes.push({ id: entry.taskId, version: entry.version });
        }
      }
      this.syncToken = page.syncToken;
      this.persist({ upserts, deletes, syncToken: page.syncToken });
      if (changed) this.changed();
      // A server repeating the same token would keep us here forever.
      if (!page.hasMore || page.syncToken === since) return;
      since = page.syncToken;
    }
  }

  /** Every page of `GET /tasks`, replacing the store's state; keeps the last page's token. */
  private async listEverything(generation: number): Promise<void> {
    const mark = this.store.beginResync();
    const { tasks, syncToken } = await this.options.api.listAllTasks();
    if (generation !== this.generation) return;
    const { changed, removed } = this.store.applySnapshot(tasks, mark);
    this.syncToken = syncToken;
    this.persist({
      upserts: tasks.filter((t) => !this.store.isDeleted(t.id)),
      deletes: removed.map((id) => ({ id, version: null })),
      syncToken,
    });
    if (changed) this.changed();
  }

  /** Sends queued changes; one tab at a time across the user's tabs (see Outbox). */
  async replay(): Promise<void> {
    if (this.replaying) {
      this.replayAgain = true;
      return;
    }
    if (!this.options.network.online()) {
      if (this.outbox.hasSendable()) this.backlog = true;
      return;
    }
    this.replaying = true;
    const generation = this.generation;
    try {
      // Ops of the previous version move over first (loadLocal).
      await this.loaded;
      do {
        this.replayAgain = false;
        const result = await this.outbox.replay((op) => this.sendWatched(op), this.hooks);
        if (generation !== this.generation) return;
        if (result.outcome === 'unauthorized') {
          this.options.onUnauthorized();
          return;
        }
        if (result.outcome === 'retry') {
          this.backlog = true;
          if (this.options.network.online()) {
            const delay = backoffDelay(this.replayAttempt++, this.options.random);
            this.later(() => void this.replay(), delay);
            this.setFailing(describeFailure(result.error), this.nowMs() + delay);
          }
          return;
        }
        this.replayAttempt = 0;
      } while (this.replayAgain);
      this.saved();
      this.scheduleHoldEnd();
    } finally {
      this.replaying = false;
    }
  }

  /**
   * Sends one op. A request that has not answered after SLOW_SAVE_MS is shown
   * as failing at once: the user should not wait for its 15 s timeout.
   */
  private sendWatched(op: Op): Promise<Task | null> {
    const generation = this.generation;
    const watchdog = setTimeout(() => {
      if (generation === this.generation && !this.save.failing) this.setFailing('the server is not answering', null);
    }, SLOW_SAVE_MS);
    return this.send(op).finally(() => clearTimeout(watchdog));
  }

  /** Saving fails (or hangs): the badge says so, and one message, kept up to date, says why. */
  private setFailing(reason: string, retryAt: number | null): void {
    this.save = { failing: true, reason, retryAt };
    const text = `Your changes are not saved yet: ${reason}. They are kept here and sent again automatically.`;
    if (this.saveMessageId === null || !this.messages.some((m) => m.id === this.saveMessageId)) {
      this.saveMessageId = this.notify('error', text);
    } else {
      this.messages = this.messages.map((m) => (m.id === this.saveMessageId ? { ...m, text } : m));
      this.changed();
    }
  }

  /** Everything sendable went out: clear the failure, and say how many waiting changes were synced. */
  private saved(): void {
    if (this.save.failing) {
      this.save = NOT_FAILING;
      if (this.saveMessageId !== null) this.dismissMessage(this.saveMessageId);
      this.saveMessageId = null;
      this.changed();
    }
    if (this.backlog && this.synced > 0) {
      this.notify('info', `${this.synced} ${this.synced === 1 ? 'change' : 'changes'} synced.`);
    }
    if (!this.outbox.hasSendable()) {
      this.backlog = false;
      this.synced = 0;
    }
  }

  /** A replay when the earliest held delete may go out (the undo toast has expired). */
  private scheduleHoldEnd(): void {
    const at = this.outbox.nextHoldEnd();
    if (at === null || this.stopped) return;
    if (this.holdTimer !== null && this.holdTimerAt <= at) return;
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimerAt = at;
    this.holdTimer = setTimeout(
      () => {
        this.holdTimer = null;
        if (!this.stopped) void this.replay();
      },
      Math.max(0, at - this.nowMs()) + 10,
    );
  }

  private readonly hooks: ReplayHooks = {
    applied: (op, task) => {
      // A create answered "deleted since" (task null) is dropped silently, not counted as synced.
      if (this.backlog && (task !== null || op.kind !== 'create')) this.synced++;
      if (task) {
        this.store.applyTask(task);
        this.persist({ upserts: [task] });
        this.options.channel?.post({ type: 'task', task });
      } else {
        // Our DELETE's 204 (or 404, or a create answered 409 TASK_DELETED): gone for good.
        this.store.applyDelete(op.taskId, null);
        this.persist({ deletes: [{ id: op.taskId, version: null }] });
        this.options.channel?.post({ type: 'deleted', taskId: op.taskId, version: null });
      }
      this.changed();
    },
    conflict: (_op, current) => {
      this.store.applyTask(current);
      this.persist({ upserts: [current] });
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
      this.devices = deviceCount(frame.devices) ?? this.devices;
      this.changed();
      return;
    }
    if (frame.type === 'PRESENCE') {
      // Absolute counts, at least once and possibly late: the newest frame wins.
      const devices = deviceCount(frame.devices);
      if (devices !== null && devices !== this.devices) {
        this.devices = devices;
        this.changed();
      }
      return;
    }
    if (frame.type === 'PONG') {
      // Changes after our token exist: events we hold already, or ones lost on the way.
      if (frame.behind === true) void this.catchUp();
      return;
    }
    if (frame.type === 'ERROR') {
      // TOKEN_EXPIRED: the socket reconnects with a fresh token, and that connection's catch-up
      // follows; the sync token is fine.
      if (frame.code === 'TOKEN_EXPIRED') return;
      // Otherwise the only message we send that the server can refuse is a ping whose `since` it
      // cannot read: the pull then answers 400 and the catch-up lists everything, with a new token.
      if (this.syncToken !== null) void this.catchUp();
      return;
    }
    const events = taskEvents(frame);
    if (events.length === 0) return;
    const upserts: Task[] = [];
    const deletes: { id: string; version: number | null }[] = [];
    for (const event of events) {
      if (event.type === 'TASK_DELETED') deletes.push({ id: event.taskId, version: deleteVersion(event) });
      else upserts.push(event.task);
    }
    const changed = this.store.applyFrame(frame);
    this.persist({ upserts, deletes });
    if (changed) this.changed();
  }

  /** Another tab of this user changed the outbox or got an answer for one of its ops. */
  private onTabMessage(message: TabMessage): void {
    if (message.type === 'ops') {
      // Show it, and send it if that tab cannot (closed right after, or its requests fail):
      // the lock keeps the tabs from sending an op twice.
      void this.outbox.load().then(
        () => {
          this.changed();
          if (this.outbox.list().some((op) => !op.conflict)) void this.replay();
        },
        () => undefined,
      );
      return;
    }
    const changed =
      message.type === 'task' ? this.store.applyTask(message.task) : this.store.applyDelete(message.taskId, message.version);
    if (changed) this.changed();
  }

  /** Reads what IndexedDB kept (and, once, what the localStorage version kept) into the store and outbox. */
  private async loadLocal(): Promise<void> {
    try {
      const legacy = this.options.legacyStorage;
      if (legacy && hasLegacyStorage(legacy, this.options.userKey)) {
        await this.outbox.exclusive(() => migrateLegacyStorage(legacy, this.options.userKey, this.db));
      }
      // The first screen first: the newest tasks (and the queued changes) show while the rest is read.
      const [newest] = await Promise.all([this.db.loadNewest(FIRST_SCREEN_TASKS).catch(() => []), this.outbox.load()]);
      if (newest.length > 0 && this.load === 'loading') {
        this.store.seed(newest);
        this.load = 'ready';
        this.partial = true;
        this.changed();
      }
      const local = await this.db.load();
      this.partial = false;
      // Changes an earlier visit could not send: say so once they are.
      if (this.outbox.list().length > 0) this.backlog = true;
      this.store.seed(local.tasks, local.deleted);
      this.syncToken ??= local.syncToken;
      // A token means a listing succeeded before: an empty list is a real answer then.
      if (this.load === 'loading' && (local.syncToken !== null || local.tasks.length > 0)) this.load = 'ready';
    } catch {
      // IndexedDB unusable: everything comes from the server.
      this.partial = false;
    }
    this.changed();
  }

  /**
   * Stores server state; a failed write only makes the next start's catch-up longer.
   * Not after stop(): an answer arriving after sign-out must not refill the cleared cache.
   */
  private persist(write: TaskWrite): void {
    if (this.stopped) return;
    void this.db.write(write).catch(() => undefined);
  }

  private nowMs(): number {
    return (this.options.now?.() ?? new Date()).getTime();
  }

  private enqueue(op: NewOp): Op {
    const queued = this.outbox.enqueue(op);
    this.afterEnqueue();
    return queued;
  }

  private afterEnqueue(): void {
    this.changed();
    void this.replay();
  }

  private validate(input: TaskChanges): TaskChanges | null {
    const out: TaskChanges = {};
    if (input.title !== undefined) {
      out.title = normalizeTitle(input.title);
      if (!titleFits(out.title)) {
        this.notify('error', `A title needs 1 to ${LIMITS.titleMaxChars} characters.`);
        return null;
      }
    }
    if (input.description !== undefined) {
      out.description = input.description;
      if (!descriptionFits(out.description)) {
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

  private notify(kind: Message['kind'], text: string): number {
    const message = { id: ++this.messageSeq, kind, text };
    this.messages = [...this.messages, message].slice(-MAX_MESSAGES);
    if (kind === 'info') this.later(() => this.dismissMessage(message.id), INFO_TTL_MS);
    this.changed();
    return message.id;
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
      const mine =
        applyOps(
          [theirs],
          ops.filter((o) => o.taskId === op.taskId),
        )[0] ?? null;
      conflicts.push({ taskId: op.taskId, theirs, mine: mine && stripView(mine) });
    }
    const status = this.options.network.online() ? this.socket.currentStatus : 'offline';
    return {
      tasks: applyOps(serverTasks, ops),
      status,
      load: this.load,
      loadError: this.loadError,
      conflicts,
      messages: this.messages,
      connectionId: this.connectionId,
      devices: status === 'live' ? this.devices : null,
      save: this.save,
      partial: this.partial,
    };
  }
}

/** A server's device count, if it is one (a positive integer: this connection is one of them). */
function deviceCount(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : null;
}

/** A failed send's reason in words. */
function describeFailure(error: unknown): string {
  if (error instanceof ApiError) return error.status === 429 ? 'the server is busy' : `the server answered ${error.status}`;
  return 'the server cannot be reached';
}

function stripView({ pending: _p, conflict: _c, ...task }: ViewTask): Task {
  return task;
}
