import { useEffect, useRef, useState } from 'preact/hooks';
import { LIMITS } from '../../../lib/definitions.js';
import type { TaskChanges, ViewTask } from '../state/ops.js';
import { utf16MaxLength } from '../../../lambdas/tasks/task-text.js';

export interface TaskItemProps {
  task: ViewTask;
  online: boolean;
  onToggle(id: string, completed: boolean): void;
  /** `baseVersion`: the version the edit form was opened on, sent as If-Match. */
  onSave(id: string, changes: TaskChanges, baseVersion: number): boolean;
  onDelete(id: string): void;
  onShowConflict(id: string): void;
}

export function TaskItem({ task, online, onToggle, onSave, onDelete, onShowConflict }: TaskItemProps) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description);
  // What the form was opened on: only fields changed since then are sent, against that version.
  const [opened, setOpened] = useState<Pick<ViewTask, 'title' | 'description' | 'version'>>(task);
  const titleRef = useRef<HTMLInputElement>(null);
  const editRef = useRef<HTMLButtonElement>(null);
  const wasEditing = useRef(false);

  useEffect(() => {
    if (editing) titleRef.current?.focus();
    else if (wasEditing.current) editRef.current?.focus();
    wasEditing.current = editing;
  }, [editing]);

  function startEdit() {
    setTitle(task.title);
    setDescription(task.description);
    setOpened({ title: task.title, description: task.description, version: task.version });
    setEditing(true);
  }

  function save(e: Event) {
    e.preventDefault();
    const changes: TaskChanges = {};
    if (title !== opened.title) changes.title = title;
    if (description !== opened.description) changes.description = description;
    if (onSave(task.id, changes, opened.version)) setEditing(false);
  }

  const checkboxId = `done-${task.id}`;
  return (
    <li
      class={`task${task.completed ? ' done' : ''}${task.pending ? ' pending' : ''}${task.conflict ? ' conflicted' : ''}`}
      data-testid={`task-${task.id}`}
      data-completed={String(task.completed)}
      data-pending={String(task.pending)}
      data-version={task.version}
    >
      {editing ? (
        <form class="edit" onSubmit={save} onKeyDown={(e) => e.key === 'Escape' && setEditing(false)} aria-label={`Edit “${task.title}”`}>
          <div class="field">
            <label for={`title-${task.id}`}>Title</label>
            <input
              id={`title-${task.id}`}
              ref={titleRef}
              value={title}
              required
              maxLength={utf16MaxLength(LIMITS.titleMaxChars)}
              onInput={(e) => setTitle(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for={`description-${task.id}`}>Description</label>
            <textarea
              id={`description-${task.id}`}
              value={description}
              rows={3}
              maxLength={utf16MaxLength(LIMITS.descriptionMaxChars)}
              onInput={(e) => setDescription(e.currentTarget.value)}
            />
          </div>
          <div class="actions">
            <button type="submit" class="primary">
              Save
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <div class="task-main">
            <input
              type="checkbox"
              id={checkboxId}
              checked={task.completed}
              onChange={(e) => onToggle(task.id, e.currentTarget.checked)}
            />
            <div class="task-text">
              <label for={checkboxId} class="task-title" data-testid="task-title">
                {task.title}
              </label>
              {task.description && (
                <p class="task-description" data-testid="task-description">
                  {task.description}
                </p>
              )}
              {task.pending && (
                <p class="task-state" data-testid="task-pending">
                  {task.conflict ? 'Conflict: changed elsewhere' : online ? 'Saving…' : 'Waiting for connection'}
                </p>
              )}
            </div>
          </div>
          <div class="actions">
            {task.conflict && (
              <button type="button" class="warn" onClick={() => onShowConflict(task.id)}>
                Resolve conflict<span class="visually-hidden"> for “{task.title}”</span>
              </button>
            )}
            <button type="button" ref={editRef} onClick={startEdit}>
              Edit<span class="visually-hidden"> “{task.title}”</span>
            </button>
            <button type="button" class="danger" onClick={() => onDelete(task.id)}>
              Delete<span class="visually-hidden"> “{task.title}”</span>
            </button>
          </div>
        </>
      )}
    </li>
  );
}
