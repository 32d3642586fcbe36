import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { RuntimeConfig } from '../../../lambdas/contract.js';
import { createApi } from '../api.js';
import type { Auth, Session } from '../auth/session.js';
import { openRecordDb } from '../idb.js';
import { browserLock } from '../lock.js';
import { UserDb, userDbName } from '../state/local-db.js';
import type { ViewTask } from '../state/ops.js';
import { listView, parseFilter, withFilter, type Filter } from '../state/view.js';
import { browserStorage } from '../storage.js';
import { SyncEngine } from '../sync/engine.js';
import { browserNetwork } from '../sync/network.js';
import { broadcastChannel } from '../sync/tabs.js';
import { ConflictDialog } from './conflict-dialog.js';
import { CreateForm } from './create-form.js';
import { Messages } from './messages.js';
import { OrphanDrafts } from './orphans.js';
import { ShortcutsDialog } from './shortcuts.js';
import { StatusBadge } from './status-badge.js';
import { isDirty, openDraft, remoteTextChange, validateText, type Draft } from './task-item.js';
import { TaskList, type ListControl } from './task-list.js';
import { Toolbar } from './toolbar.js';
import { useEngineState } from './use-engine.js';

/** How long a delete can be undone: the toast shows this long, and the DELETE is held as long (docs/design.md, "Undo"). */
export const UNDO_MS = 6000;
/** How long a task added here stays highlighted. */
const FRESH_MS = 2500;

interface Toast {
  id: number;
  text: string;
  opIds: string[];
  until: number;
}

const q = (title: string) => `“${title}”`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function Dashboard({
  config,
  auth,
  session,
  onSignOut,
}: {
  config: RuntimeConfig;
  auth: Auth;
  session: Session;
  onSignOut(): void;
}) {
  const { engine, db, channel } = useMemo(() => {
    // Everything this user keeps in the browser is theirs alone: one database and channel per `sub`.
    const db = new UserDb(openRecordDb(userDbName(session.sub)));
    const channel = broadcastChannel(userDbName(session.sub));
    const engine = new SyncEngine({
      api: createApi({ apiUrl: config.apiUrl, auth }),
      wsUrl: config.wsUrl,
      getToken: (forceRefresh) => auth.getToken(forceRefresh),
      onUnauthorized: () => auth.expire('Your session expired. Please sign in again.'),
      userKey: session.sub,
      db,
      channel,
      legacyStorage: browserStorage('localStorage'),
      lock: browserLock(),
      network: browserNetwork(),
      heartbeatMs: config.heartbeatMs,
    });
    return { engine, db, channel };
  }, [config, auth, session.sub]);
  useEffect(() => {
    engine.start();
    return () => {
      engine.stop();
      channel.close();
      // After the writes already asked for (sign-out's clear among them).
      db.close();
    };
  }, [engine, db, channel]);

  const state = useEngineState(engine);
  const [deferred, setDeferred] = useState<string[]>([]);
  const conflict = state.conflicts.find((c) => !deferred.includes(c.taskId));

  const titleRef = useRef<HTMLInputElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const list = useRef<ListControl | null>(null);
  const [filter, setFilterState] = useState<Filter>(() => parseFilter(location.search));
  const [query, setQueryState] = useState('');
  const [drafts, setDrafts] = useState<ReadonlyMap<string, Draft>>(new Map());
  // Tasks shown whatever the filter and search say until those change: just added, or just
  // completed in the Active view (a row vanishing under the pointer or the focus is disorienting).
  const [stick, setStick] = useState<ReadonlySet<string>>(new Set());
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const [toast, setToast] = useState<Toast | null>(null);
  const [announcement, setAnnouncement] = useState({ n: 0, text: '' });
  const [help, setHelp] = useState(false);
  const announce = useCallback((text: string) => setAnnouncement((a) => ({ n: a.n + 1, text })), []);

  const byId = useMemo(() => new Map(state.tasks.map((t) => [t.id, t])), [state.tasks]);
  const keep = useMemo(() => new Set([...stick, ...drafts.keys()]), [stick, drafts]);
  const view = useMemo(() => listView(state.tasks, filter, query, keep), [state.tasks, filter, query, keep]);
  const online = state.status !== 'offline';

  // Sign-in lands in the new task's title.
  useEffect(() => titleRef.current?.focus(), []);

  // The filter lives in the URL: links, reload and Back keep it.
  useEffect(() => {
    const onPop = () => {
      setFilterState(parseFilter(location.search));
      setStick(new Set());
    };
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const setFilter = (next: Filter) => {
    if (next !== filter) history.pushState(null, '', withFilter(location.href, next));
    setFilterState(next);
    setStick(new Set());
    announce(`Showing ${next === 'all' ? 'all' : next} tasks.`);
  };
  const setQuery = (next: string) => {
    setQueryState(next);
    setStick(new Set());
  };

  const updateDrafts = (fn: (m: Map<string, Draft>) => void) =>
    setDrafts((prev) => {
      const next = new Map(prev);
      fn(next);
      return next;
    });

  /**
   * Focus after an action: a row, or the new task field when there is none. After the render
   * the action caused (Preact renders in a microtask; a timer would be throttled in a background tab).
   */
  const focusAfter = (id: string | null | undefined) => {
    queueMicrotask(() => {
      if (id && list.current?.focusRow(id)) return;
      if (!list.current?.focusIndex(0)) titleRef.current?.focus();
    });
  };

  // ---- actions ----

  const create = (title: string, description: string): boolean => {
    const id = engine.createTask(title, description);
    if (!id) return false;
    setStick((s) => new Set(s).add(id));
    setFresh((s) => new Set(s).add(id));
    setTimeout(
      () =>
        setFresh((s) => {
          const next = new Set(s);
          next.delete(id);
          return next;
        }),
      FRESH_MS,
    );
    announce(`Added ${q(title.trim())}.`);
    return true;
  };

  const toggle = (id: string, completed: boolean) => {
    const task = byId.get(id);
    if (!task) return;
    engine.setCompleted(id, completed);
    setStick((s) => new Set(s).add(id));
    announce(completed ? `Completed ${q(task.title)}.` : `Marked ${q(task.title)} as not done.`);
  };

  const showUndo = (text: string, opIds: string[]) => {
    if (opIds.length === 0) return;
    const until = Date.now() + UNDO_MS;
    setToast({ id: until, text, opIds, until });
  };

  const remove = (id: string) => {
    const task = byId.get(id);
    if (!task) return;
    const i = view.rows.findIndex((t) => t.id === id);
    const next = view.rows[i + 1] ?? view.rows[i - 1];
    updateDrafts((m) => m.delete(id));
    showUndo(`Deleted ${q(task.title)}.`, engine.deleteTasks([id], UNDO_MS));
    announce(`Deleted ${q(task.title)}. Press U to undo.`);
    focusAfter(next?.id);
  };

  const clearCompleted = () => {
    const ids = state.tasks.filter((t) => t.completed).map((t) => t.id);
    if (ids.length === 0) return;
    updateDrafts((m) => {
      for (const id of ids) m.delete(id);
    });
    const text = `Cleared ${plural(ids.length, 'completed task')}.`;
    showUndo(text, engine.deleteTasks(ids, UNDO_MS));
    announce(`${text} Press U to undo.`);
    focusAfter(view.rows.find((t) => !t.completed)?.id);
  };

  const shownNotDone = view.rows.filter((t) => !t.completed);
  const allShownDone = view.rows.length > 0 && shownNotDone.length === 0;
  const markAll = () => {
    const done = !allShownDone;
    const ids = (done ? shownNotDone : view.rows).map((t) => t.id);
    const n = engine.setCompletedMany(ids, done);
    setStick((s) => new Set([...s, ...ids]));
    announce(done ? `Marked ${plural(n, 'task')} done.` : `Marked ${plural(n, 'task')} as not done.`);
  };

  const undo = () => {
    if (!toast) return;
    const restored = engine.undo(toast.opIds);
    setToast(null);
    if (restored.length === 0) {
      announce('Too late to undo: the delete was already sent.');
      return;
    }
    setStick((s) => new Set([...s, ...restored]));
    announce(`Restored ${plural(restored.length, 'task')}.`);
    focusAfter(restored[0]);
  };

  const dismissToast = () => {
    if (!toast) return;
    engine.release(toast.opIds);
    setToast(null);
    focusAfter(list.current?.focusedId());
  };

  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(
      () => setToast((current) => (current?.id === toast.id ? null : current)),
      Math.max(0, toast.until - Date.now()),
    );
    return () => clearTimeout(t);
  }, [toast]);

  const edit = (id: string) => {
    const task = byId.get(id);
    if (task && !drafts.has(id)) updateDrafts((m) => m.set(id, openDraft(task)));
  };

  const closeEditor = (id: string) => {
    updateDrafts((m) => m.delete(id));
    focusAfter(id);
  };

  const save = (id: string) => {
    const draft = drafts.get(id);
    const task = byId.get(id);
    if (!draft || !task) return;
    const invalid = validateText(draft.title, draft.description);
    if (invalid) {
      updateDrafts((m) => m.set(id, { ...draft, error: invalid.message }));
      document.getElementById(invalid.field === 'title' ? `title-${id}` : `description-${id}`)?.focus();
      return;
    }
    const changes: { title?: string; description?: string } = {};
    if (draft.title !== draft.opened.title) changes.title = draft.title;
    if (draft.description !== draft.opened.description) changes.description = draft.description;
    // Their change to the text, not answered in the form, becomes a conflict (If-Match on the
    // version the form was opened on); a change that leaves the text alone (completed) does not.
    const base = remoteTextChange(task, draft) ? draft.opened.version : task.version;
    if (!engine.updateTask(id, changes, base)) return;
    updateDrafts((m) => m.delete(id));
    if (isDirty(draft)) announce(`Saved ${q(draft.title.trim())}.`);
    focusAfter(id);
  };

  // A task being edited was deleted elsewhere: its editor becomes an orphan that keeps the text.
  const orphans = [...drafts].filter(([id]) => !byId.has(id) && state.load === 'ready');
  const orphanCount = orphans.length;
  const lastOrphans = useRef(0);
  useEffect(() => {
    if (orphanCount > lastOrphans.current) {
      const [, draft] = orphans.at(-1)!;
      announce(
        `${q(draft.opened.title)} was deleted on another device while you were editing it. Your text is kept: restore it or discard it.`,
      );
      if (document.activeElement === document.body || document.activeElement === null) {
        (document.querySelector('[data-testid="deleted-while-editing"] input') as HTMLInputElement | null)?.focus();
      }
    }
    lastOrphans.current = orphanCount;
  }, [orphanCount]);

  const restoreOrphan = (id: string) => {
    const draft = drafts.get(id);
    if (!draft) return;
    const invalid = validateText(draft.title, draft.description);
    if (invalid) {
      updateDrafts((m) => m.set(id, { ...draft, error: invalid.message }));
      return;
    }
    const created = engine.createTask(draft.title, draft.description);
    if (!created) return;
    updateDrafts((m) => m.delete(id));
    setStick((s) => new Set(s).add(created));
    announce(`Restored ${q(draft.title.trim())} as a new task.`);
    focusAfter(created);
  };

  const discardOrphan = (id: string) => {
    updateDrafts((m) => m.delete(id));
    focusAfter(null);
  };

  // ---- keyboard shortcuts (outside text fields; `?` lists them) ----
  const keys = useRef<(e: KeyboardEvent) => void>(() => undefined);
  keys.current = (e: KeyboardEvent) => {
    if (e.defaultPrevented || e.altKey || e.metaKey) return;
    const target = e.target as HTMLElement;
    if (target.closest('input, textarea, select, [contenteditable], dialog')) return;
    if (help || conflict) return;
    if (e.ctrlKey) {
      if (e.key === 'z' && toast) {
        e.preventDefault();
        undo();
      }
      return;
    }
    const focusRow = () => {
      if (!list.current?.focusedId()) list.current?.focusIndex(0);
    };
    const actions: Record<string, () => void> = {
      '?': () => setHelp(true),
      '/': () => searchRef.current?.focus(),
      n: () => titleRef.current?.focus(),
      j: focusRow,
      k: focusRow,
      u: () => toast && undo(),
      '1': () => setFilter('all'),
      '2': () => setFilter('active'),
      '3': () => setFilter('completed'),
    };
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => keys.current(e);
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const showConflictFor = (id: string) => setDeferred((d) => d.filter((x) => x !== id));
  const closeConflict = (taskId: string) => focusAfter(taskId);

  return (
    <>
      <header class="top">
        <h1>Tasks</h1>
        <StatusBadge status={state.status} connectionId={state.connectionId} devices={state.devices} save={state.save} />
        <p class="user">
          <span class="visually-hidden">Signed in as </span>
          <strong data-testid="user-name">{session.name || session.sub}</strong>
        </p>
        <button
          type="button"
          class="icon-button"
          aria-label="Keyboard shortcuts"
          title="Keyboard shortcuts (?)"
          onClick={() => setHelp(true)}
        >
          ?
        </button>
        <button
          type="button"
          onClick={() => {
            // Queued changes stay for this user's next sign-in; the cached list does not.
            void engine.forgetTasks();
            onSignOut();
          }}
        >
          Sign out
        </button>
      </header>
      <main class="content">
        <CreateForm onCreate={create} titleRef={titleRef} />
        {orphans.length > 0 && (
          <OrphanDrafts
            orphans={orphans}
            onChange={(id, draft) => updateDrafts((m) => m.set(id, draft))}
            onRestore={restoreOrphan}
            onDiscard={discardOrphan}
          />
        )}
        {state.tasks.length > 0 && (
          <Toolbar
            view={view}
            filter={filter}
            query={query}
            searchRef={searchRef}
            onFilter={setFilter}
            onQuery={setQuery}
            onMarkAll={markAll}
            onClearCompleted={clearCompleted}
            allShownDone={allShownDone}
            counting={state.partial}
          />
        )}
        <ListOrPlaceholder
          state={state}
          rows={view.rows}
          filter={filter}
          query={query}
          onRetry={() => void engine.resync()}
          onShowAll={() => {
            setQuery('');
            setFilter('all');
          }}
          onNew={() => titleRef.current?.focus()}
          onHelp={() => setHelp(true)}
        >
          <TaskList
            rows={view.rows}
            drafts={drafts}
            online={online}
            fresh={fresh}
            control={list}
            onToggle={toggle}
            onDelete={remove}
            onEdit={edit}
            onDraft={(id, draft) => updateDrafts((m) => m.set(id, draft))}
            onCloseEditor={closeEditor}
            onSave={save}
            onShowConflict={showConflictFor}
          />
        </ListOrPlaceholder>
      </main>
      <aside class="bottom-stack" aria-label="Notifications">
        {toast && (
          <div class="toast" data-testid="undo-toast">
            <span>{toast.text}</span>
            <button type="button" onClick={undo}>
              Undo
            </button>
            <button type="button" class="icon" aria-label="Dismiss" onClick={dismissToast}>
              ×
            </button>
          </div>
        )}
        <Messages messages={state.messages} onDismiss={(id) => engine.dismissMessage(id)} />
        {/* Additions, completions, deletions: said politely to screen readers (sync results are in Messages). */}
        <div class="visually-hidden" role="status" data-testid="announcer">
          {announcement.text}
          {announcement.n % 2 === 1 ? '\u00a0' : ''}
        </div>
      </aside>
      {help && (
        <ShortcutsDialog
          onClose={() => {
            setHelp(false);
          }}
        />
      )}
      {conflict && (
        <ConflictDialog
          key={conflict.taskId}
          conflict={conflict}
          onResolve={(choice) => {
            engine.resolveConflict(conflict.taskId, choice);
            announce(choice === 'mine' ? 'Kept your version; sending it.' : 'Took their version.');
            closeConflict(conflict.taskId);
          }}
          onLater={() => {
            setDeferred((d) => [...d, conflict.taskId]);
            closeConflict(conflict.taskId);
          }}
        />
      )}
    </>
  );
}

function ListOrPlaceholder({
  state,
  rows,
  filter,
  query,
  onRetry,
  onShowAll,
  onNew,
  onHelp,
  children,
}: {
  state: { tasks: ViewTask[]; load: 'loading' | 'ready' | 'error'; loadError: string | null };
  rows: ViewTask[];
  filter: Filter;
  query: string;
  onRetry(): void;
  onShowAll(): void;
  onNew(): void;
  onHelp(): void;
  children: preact.ComponentChildren;
}) {
  if (state.tasks.length === 0) {
    if (state.load === 'loading') {
      return (
        <p class="placeholder" role="status" data-testid="tasks-loading">
          Loading tasks…
        </p>
      );
    }
    if (state.load === 'error') {
      return (
        <div class="placeholder error" role="alert" data-testid="tasks-error">
          <p>{state.loadError}</p>
          <button type="button" onClick={onRetry}>
            Retry
          </button>
        </div>
      );
    }
    return (
      <div class="empty" data-testid="tasks-empty">
        <h2>No tasks yet</h2>
        <p>
          Type a title above and press Enter to add your first task. Tasks sync to your other devices as you go, and work offline
          too.
        </p>
        <p>
          <button type="button" onClick={onNew}>
            Add a task
          </button>{' '}
          <button type="button" onClick={onHelp}>
            Keyboard shortcuts
          </button>
        </p>
      </div>
    );
  }
  if (rows.length === 0) {
    const why = query
      ? `No ${filter === 'all' ? '' : `${filter} `}tasks match “${query}”.`
      : filter === 'active'
        ? 'Nothing left to do: every task is done.'
        : 'No completed tasks yet.';
    return (
      <div class="empty" data-testid="tasks-none-match">
        <p>{why}</p>
        <button type="button" onClick={onShowAll}>
          Show all tasks
        </button>
      </div>
    );
  }
  return <>{children}</>;
}
