import { useEffect, useRef } from 'preact/hooks';
import type { Task } from '../../../lambdas/contract.js';
import type { Conflict } from '../sync/engine.js';

/**
 * A native modal <dialog>: the browser traps focus inside it, restores focus
 * afterwards and closes it on Escape ("decide later").
 */
export function ConflictDialog({
  conflict,
  onResolve,
  onLater,
}: {
  conflict: Conflict;
  onResolve(choice: 'mine' | 'theirs'): void;
  onLater(): void;
}) {
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
        <Version testId="conflict-mine" heading="Your version" task={conflict.mine} other={conflict.theirs} />
        <Version testId="conflict-theirs" heading="Their version (saved)" task={conflict.theirs} other={conflict.mine} />
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

function Version({ heading, task, other, testId }: { heading: string; task: Task | null; other: Task | null; testId: string }) {
  // Mark what differs so the choice is quick to make; the hidden text says it to screen readers.
  const field = (label: string, value: string, otherValue: string | undefined, id?: string) => {
    const differs = other !== null && value !== otherValue;
    return (
      <>
        <dt>{label}</dt>
        <dd class={differs ? 'differs' : undefined}>
          <span data-testid={id}>{value}</span>
          {differs && <span class="visually-hidden"> (differs)</span>}
        </dd>
      </>
    );
  };
  const done = (t: Task | null) => (t ? (t.completed ? 'Done' : 'Not done') : undefined);
  return (
    <section class="version" data-testid={testId} aria-label={heading}>
      <h3>{heading}</h3>
      {task ? (
        <dl>
          {field('Title', task.title, other?.title, 'conflict-title')}
          {field('Description', task.description || '—', other ? other.description || '—' : undefined, 'conflict-description')}
          {field('Status', done(task)!, done(other))}
          <dt>Changed</dt>
          <dd>{new Date(task.updatedAt).toLocaleString()}</dd>
        </dl>
      ) : (
        <p data-testid="conflict-deleted">Deleted</p>
      )}
    </section>
  );
}
