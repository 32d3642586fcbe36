import { useRef, useState } from 'preact/hooks';
import { LIMITS } from '../../../lib/definitions.js';
import { utf16MaxLength } from '../../../lambdas/tasks/task-text.js';

export function CreateForm({ onCreate }: { onCreate(title: string, description: string): boolean }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const titleRef = useRef<HTMLInputElement>(null);

  function submit(e: Event) {
    e.preventDefault();
    if (!title.trim()) {
      titleRef.current?.focus();
      return;
    }
    if (onCreate(title, description)) {
      setTitle('');
      setDescription('');
      titleRef.current?.focus();
    }
  }

  return (
    <form class="create" onSubmit={submit} aria-label="Add a task">
      <div class="field">
        <label for="new-title">New task title</label>
        <input
          id="new-title"
          ref={titleRef}
          value={title}
          required
          maxLength={utf16MaxLength(LIMITS.titleMaxChars)}
          autocomplete="off"
          onInput={(e) => setTitle(e.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="new-description">New task description (optional)</label>
        <textarea
          id="new-description"
          value={description}
          rows={2}
          maxLength={utf16MaxLength(LIMITS.descriptionMaxChars)}
          onInput={(e) => setDescription(e.currentTarget.value)}
        />
      </div>
      <button type="submit" class="primary">
        Add task
      </button>
    </form>
  );
}
