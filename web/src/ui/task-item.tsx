import { Component, type ComponentType } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { descriptionFits, titleFits, utf16MaxLength } from '../../../lambdas/tasks/task-text.js';
import { LIMITS } from '../../../lib/definitions.js';
import type { ViewTask } from '../state/ops.js';

/** An open editor. Kept by the list, not the row: a row scrolled out of the window may unmount. */
export interface Draft {
  title: string;
  description: string;
  /** What the form was opened on (or last took from a change elsewhere): only fields changed since are sent, against this version. */
  opened: { title: string; description: string; version: number };
  /** Escape or Cancel with unsaved text: asking first. */
  confirmDiscard: boolean;
  /** Inline validation message for the title. */
  error: string | null;
}

export function openDraft(task: ViewTask): Draft {
  const opened = { title: task.title, description: task.description, version: task.version };
  return { title: task.title, description: task.description, opened, confirmDiscard: false, error: null };
}

export function isDirty(draft: Draft): boolean {
  return draft.title !== draft.opened.title || draft.description !== draft.opened.description;
}

/** A change made elsewhere to the text being edited (a completion alone does not count). */
export function remoteTextChange(task: ViewTask, draft: Draft): boolean {
  return (
    task.version > draft.opened.version && (task.title !== draft.opened.title || task.description !== draft.opened.description)
  );
}

/** The inline message for a title or description the rules refuse, or null. */
export function validateText(title: string, description: string): { field: 'title' | 'description'; message: string } | null {
  if (title.trim() === '') return { field: 'title', message: 'Enter a title: spaces alone do not count.' };
  if (!titleFits(title)) return { field: 'title', message: `A title can have at most ${LIMITS.titleMaxChars} characters.` };
  if (!descriptionFits(description))
    return { field: 'description', message: `A description can have at most ${LIMITS.descriptionMaxChars} characters.` };
  return null;
}

export interface RowHandlers {
  onToggle(id: string, completed: boolean): void;
  onDelete(id: string): void;
  onEdit(id: string): void;
  onDraft(id: string, draft: Draft): void;
  /** Escape/Cancel (after confirming, when there was unsaved text). */
  onCloseEditor(id: string): void;
  onSave(id: string): void;
  onShowConflict(id: string): void;
}

export interface TaskItemProps extends RowHandlers {
  task: ViewTask;
  draft: Draft | undefined;
  online: boolean;
  /** 1-based position and list size, for screen readers (only a window of the list is in the DOM). */
  position: number;
  size: number;
  top: number;
  /** The roving tab stop of the list. */
  active: boolean;
  /** Just added here: highlighted for a moment. */
  fresh: boolean;
  rowRef(el: HTMLElement | null): void;
}

const q = (title: string) => `“${title}”`;

/**
 * Renders again only when a prop changed (shallowly): while the list scrolls, the rows that stay
 * get the same task, position and handlers, and are skipped. (preact/compat's memo, without compat.)
 */
function memoized<P extends object>(Inner: ComponentType<P>): ComponentType<P> {
  return class Memo extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      const prev = this.props as Record<string, unknown>;
      const keys = Object.keys(next);
      return (
        keys.length !== Object.keys(prev).length ||
        keys.some((k) => k !== 'children' && prev[k] !== (next as Record<string, unknown>)[k])
      );
    }
    override render() {
      return <Inner {...this.props} />;
    }
  };
}

export const TaskItem = memoized(TaskItemView);

function TaskItemView(props: TaskItemProps) {
  const { task, draft, online, position, size, top, active, fresh, rowRef } = props;
  const [menu, setMenu] = useState(false);
  const classes = ['task'];
  if (task.completed) classes.push('done');
  if (task.pending) classes.push('pending');
  if (task.conflict) classes.push('conflicted');
  if (draft || menu) classes.push('expanded');
  if (fresh) classes.push('fresh');
  if (menu) classes.push('menu-open');
  return (
    <li
      ref={rowRef}
      class={classes.join(' ')}
      style={{ transform: `translateY(${top}px)` }}
      tabIndex={active ? 0 : -1}
      aria-posinset={position}
      aria-setsize={size}
      data-testid={`task-${task.id}`}
      data-completed={String(task.completed)}
      data-pending={String(task.pending)}
      data-version={task.version}
    >
      {draft ? <Editor {...props} draft={draft} /> : <Row {...props} menu={menu} setMenu={setMenu} online={online} />}
    </li>
  );
}

function Row({
  task,
  online,
  menu,
  setMenu,
  onToggle,
  onDelete,
  onEdit,
  onShowConflict,
}: TaskItemProps & { menu: boolean; setMenu(open: boolean): void }) {
  const nameId = `name-${task.id}`;
  const actionsId = `actions-${task.id}`;
  return (
    <>
      <label class="check">
        <input
          type="checkbox"
          checked={task.completed}
          aria-labelledby={nameId}
          onChange={(e) => onToggle(task.id, e.currentTarget.checked)}
        />
      </label>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a mouse shortcut; the keyboard has Enter on the row and the Edit button. */}
      <div class="task-text" onDblClick={() => onEdit(task.id)}>
        <span id={nameId} class="task-title" data-testid="task-title">
          {task.title}
        </span>
        {(task.pending || task.description) && (
          <span class="task-sub">
            {task.pending && (
              <span class="task-state" data-testid="task-pending">
                {task.conflict ? 'Conflict: changed elsewhere' : online ? 'Saving…' : 'Waiting for connection'}
              </span>
            )}
            {task.description && (
              <span class="task-description" data-testid="task-description">
                {task.description}
              </span>
            )}
          </span>
        )}
      </div>
      <button
        type="button"
        class="more"
        aria-expanded={menu}
        aria-controls={actionsId}
        aria-label={`Actions for ${q(task.title)}`}
        onClick={() => setMenu(!menu)}
      >
        <span aria-hidden="true">⋯</span>
      </button>
      <div class="actions" id={actionsId}>
        {task.conflict && (
          <button type="button" class="warn" onClick={() => onShowConflict(task.id)}>
            Resolve conflict<span class="visually-hidden"> for {q(task.title)}</span>
          </button>
        )}
        <button type="button" onClick={() => onEdit(task.id)}>
          Edit<span class="visually-hidden"> {q(task.title)}</span>
        </button>
        <button type="button" class="danger" onClick={() => onDelete(task.id)}>
          Delete<span class="visually-hidden"> {q(task.title)}</span>
        </button>
      </div>
    </>
  );
}

function Editor({ task, draft, onDraft, onCloseEditor, onSave }: TaskItemProps & { draft: Draft }) {
  const titleRef = useRef<HTMLInputElement>(null);
  const keepRef = useRef<HTMLButtonElement>(null);
  const id = task.id;
  const remote = remoteTextChange(task, draft);
  const update = (changes: Partial<Draft>) => onDraft(id, { ...draft, ...changes });

  useEffect(() => {
    // Typing continues where it was if the row was re-mounted; a new editor starts in the title.
    if (!titleRef.current?.form?.contains(document.activeElement)) titleRef.current?.focus();
  }, []);
  useEffect(() => {
    if (draft.confirmDiscard) keepRef.current?.focus();
  }, [draft.confirmDiscard]);

  function cancel() {
    if (isDirty(draft)) update({ confirmDiscard: true });
    else onCloseEditor(id);
  }

  return (
    <form
      class="edit"
      noValidate
      aria-label={`Edit ${q(task.title)}`}
      onSubmit={(e) => {
        e.preventDefault();
        onSave(id);
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          if (draft.confirmDiscard) {
            update({ confirmDiscard: false });
            titleRef.current?.focus();
          } else cancel();
        } else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          onSave(id);
        }
      }}
    >
      {remote && (
        <div class="notice" data-testid="remote-change">
          <p>
            Changed on another device while you were editing: now <strong>{q(task.title)}</strong>
            {task.description !== draft.opened.description && <> with a different description</>}.
          </p>
          <div class="actions">
            <button
              type="button"
              onClick={() => {
                onDraft(id, { ...openDraft(task) });
                titleRef.current?.focus();
              }}
            >
              Use their version
            </button>
            <button
              type="button"
              onClick={() => {
                // Keep my text, now against their version: saving overwrites it on purpose.
                update({ opened: { title: task.title, description: task.description, version: task.version } });
                titleRef.current?.focus();
              }}
            >
              Keep mine
            </button>
          </div>
        </div>
      )}
      <div class="field">
        <label for={`title-${id}`}>Title</label>
        <input
          id={`title-${id}`}
          ref={titleRef}
          value={draft.title}
          required
          maxLength={utf16MaxLength(LIMITS.titleMaxChars)}
          aria-invalid={draft.error ? true : undefined}
          aria-describedby={draft.error ? `title-error-${id}` : undefined}
          onInput={(e) => update({ title: e.currentTarget.value, error: null })}
        />
        {draft.error && (
          <p id={`title-error-${id}`} class="field-error" data-testid="field-error">
            {draft.error}
          </p>
        )}
      </div>
      <div class="field">
        <label for={`description-${id}`}>Description</label>
        <textarea
          id={`description-${id}`}
          value={draft.description}
          rows={3}
          maxLength={utf16MaxLength(LIMITS.descriptionMaxChars)}
          onInput={(e) => update({ description: e.currentTarget.value })}
        />
      </div>
      {draft.confirmDiscard ? (
        <fieldset class="confirm" data-testid="confirm-discard">
          <legend>Discard your unsaved changes?</legend>
          <div class="actions">
            <button type="button" class="danger" onClick={() => onCloseEditor(id)}>
              Discard changes
            </button>
            <button
              type="button"
              ref={keepRef}
              onClick={() => {
                update({ confirmDiscard: false });
                titleRef.current?.focus();
              }}
            >
              Keep editing
            </button>
          </div>
        </fieldset>
      ) : (
        <div class="actions">
          <button type="submit" class="primary">
            Save
          </button>
          <button type="button" onClick={cancel}>
            Cancel
          </button>
        </div>
      )}
    </form>
  );
}
