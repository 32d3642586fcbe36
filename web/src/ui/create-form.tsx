import type { RefObject } from 'preact';
import { useState } from 'preact/hooks';
import { utf16MaxLength } from '../../../lambdas/tasks/task-text.js';
import { LIMITS } from '../../../lib/definitions.js';
import { validateText } from './task-item.js';

/**
 * The new-task form. A title the rules refuse is explained under the field
 * (never a silent no-op); after adding, focus stays in the title for the next one.
 */
export function CreateForm({
  onCreate,
  titleRef,
}: {
  onCreate(title: string, description: string): boolean;
  titleRef: RefObject<HTMLInputElement | null>;
}) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<{ field: 'title' | 'description'; message: string } | null>(null);

  function submit(e: Event) {
    e.preventDefault();
    const invalid = validateText(title, description);
    if (invalid) {
      setError(invalid);
      (invalid.field === 'title'
        ? titleRef.current
        : (document.getElementById('new-description') as HTMLTextAreaElement | null)
      )?.focus();
      return;
    }
    if (onCreate(title, description)) {
      setTitle('');
      setDescription('');
      setError(null);
      titleRef.current?.focus();
    }
  }

  const titleError = error?.field === 'title' ? error.message : null;
  const descriptionError = error?.field === 'description' ? error.message : null;
  return (
    <form class="create" onSubmit={submit} aria-label="Add a task" noValidate>
      <div class="field">
        <label for="new-title">New task title</label>
        <input
          id="new-title"
          ref={titleRef}
          value={title}
          required
          maxLength={utf16MaxLength(LIMITS.titleMaxChars)}
          autocomplete="off"
          aria-invalid={titleError ? true : undefined}
          aria-describedby={titleError ? 'new-title-error' : undefined}
          onInput={(e) => {
            setTitle(e.currentTarget.value);
            if (error?.field === 'title') setError(null);
          }}
        />
        {titleError && (
          <p id="new-title-error" class="field-error" data-testid="field-error">
            {titleError}
          </p>
        )}
      </div>
      <div class="field">
        <label for="new-description">New task description (optional)</label>
        <textarea
          id="new-description"
          value={description}
          rows={2}
          maxLength={utf16MaxLength(LIMITS.descriptionMaxChars)}
          aria-invalid={descriptionError ? true : undefined}
          aria-describedby={descriptionError ? 'new-description-error' : undefined}
          onInput={(e) => {
            setDescription(e.currentTarget.value);
            if (error?.field === 'description') setError(null);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e);
          }}
        />
        {descriptionError && (
          <p id="new-description-error" class="field-error" data-testid="field-error">
            {descriptionError}
          </p>
        )}
      </div>
      <button type="submit" class="primary">
        Add task
      </button>
    </form>
  );
}
