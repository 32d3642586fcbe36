import { useEffect, useRef } from 'preact/hooks';
import type { Task } from '../../../lambdas/contract.js';
import type { Conflict } from '../sync/engine.js';

/**
 * A native modal <dialog>: the browser traps focus inside it, restores focus
 * afterwards and closes it on Escape ("decide later").
 */
export function ConflictDialog({ conflict, onResolve, onLater }: { conflict: Conflict; onResolve(choice: 'mine' | 'theirs'): void; onLater(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal?.();
    return () => dialog?.close?.();
  }, [conflict.taskId]);

  return (
    <dialog
      ref={ref}
      class="conflict"
      data-testid="conflict-dialog"
      aria-labelledby="conflict-heading"
      onCancel={(e) => {
        e.preventDefault();
        onLater();
      }}
    >
      <h2 id="conflict-heading">This task was changed elsewhere</h2>
      <p>Your change was made to an older version. Which one should stay?</p>
      <div class="versions">
        <Version testId="conflict-mine" heading="Your version" task={conflict.mine} />
        <Version testId="conflict-theirs" heading="Their version (saved)" task={conflict.theirs} />
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={() => onResolve('mine')}>
          Keep mine
        </button>
        <button type="button" onClick={() => onResolve('theirs')}>
          Take theirs
        </button>
        <button type="button" onClick={onLater}>
          Decide later
        </button>
      </div>
    </dialog>
  );
}

function Version({ heading, task, testId }: { heading: string; task: Task | null; testId: string }) {
  return (
    <section class="version" data-testid={testId} aria-label={heading}>
      <h3>{heading}</h3>
      {task ? (
        <dl>
          <dt>Title</dt>
          <dd data-testid="conflict-title">{task.title}</dd>
          <dt>Description</dt>
          <dd data-testid="conflict-description">{task.description || '—'}</dd>
          <dt>Status</dt>
          <dd>{task.completed ? 'Done' : 'Not done'}</dd>
          <dt>Changed</dt>
          <dd>{new Date(task.updatedAt).toLocaleString()}</dd>
        </dl>
      ) : (
        <p>Deleted</p>
      )}
    </section>
  );
}
