import { useEffect, useMemo, useState } from 'preact/hooks';
import type { RuntimeConfig } from '../../../lambdas/contract.js';
import { createApi } from '../api.js';
import type { Auth, Session } from '../auth/session.js';
import { openRecordDb } from '../idb.js';
import { browserLock } from '../lock.js';
import { UserDb, userDbName } from '../state/local-db.js';
import { browserStorage } from '../storage.js';
import { SyncEngine } from '../sync/engine.js';
import { browserNetwork } from '../sync/network.js';
import { broadcastChannel } from '../sync/tabs.js';
import { ConflictDialog } from './conflict-dialog.js';
import { CreateForm } from './create-form.js';
import { Messages } from './messages.js';
import { StatusBadge } from './status-badge.js';
import { TaskList } from './task-list.js';
import { useEngineState } from './use-engine.js';

export function Dashboard({ config, auth, session, onSignOut }: { config: RuntimeConfig; auth: Auth; session: Session; onSignOut(): void }) {
  const { engine, db, channel } = useMemo(() => {
    // Everything this user keeps in the browser is theirs alone: one database and channel per `sub`.
    const db = new UserDb(openRecordDb(userDbName(session.sub)));
    const channel = broadcastChannel(userDbName(session.sub));
    const engine = new SyncEngine({
      api: createApi({ apiUrl: config.apiUrl, auth }),
      wsUrl: config.wsUrl,
      getToken: () => auth.getToken(),
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

  return (
    <>
      <header class="top">
        <h1>Tasks</h1>
        <StatusBadge status={state.status} connectionId={state.connectionId} />
        <p class="user">
          Signed in as <strong data-testid="user-name">{session.name || session.sub}</strong>
        </p>
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
        <CreateForm onCreate={(title, description) => engine.createTask(title, description) !== null} />
        <TaskList
          state={state}
          onRetry={() => void engine.resync()}
          onToggle={(id, completed) => engine.setCompleted(id, completed)}
          onSave={(id, changes, baseVersion) => engine.updateTask(id, changes, baseVersion)}
          onDelete={(id) => engine.deleteTask(id)}
          onShowConflict={(id) => setDeferred((d) => d.filter((x) => x !== id))}
        />
      </main>
      <Messages messages={state.messages} onDismiss={(id) => engine.dismissMessage(id)} />
      {conflict && (
        <ConflictDialog
          key={conflict.taskId}
          conflict={conflict}
          onResolve={(choice) => engine.resolveConflict(conflict.taskId, choice)}
          onLater={() => setDeferred((d) => [...d, conflict.taskId])}
        />
      )}
    </>
  );
}
