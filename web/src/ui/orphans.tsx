import { utf16MaxLength } from '../../../lambdas/tasks/task-text.js';
import { LIMITS } from '../../../lib/definitions.js';
import type { Draft } from './task-item.js';

/**
 * Editors whose task was deleted elsewhere (another device, another tab):
 * the typed text is kept, with the choice to add it back as a new task (a
 * deleted id is never re-created) or to let it go.
 */
export function OrphanDrafts({
  orphans,
  onChange,
  onRestore,
  onDiscard,
}: {
  orphans: [string, Draft][];
  onChange(id: string, draft: Draft): void;
  onRestore(id: string): void;
  onDiscard(id: string): void;
}) {
  return (
    <>
      {orphans.map(([id, draft]) => (
        <section key={id} class="orphan" data-testid="deleted-while-editing" aria-labelledby={`orphan-${id}`}>
          <h2 id={`orphan-${id}`}>“{draft.opened.title}” was deleted on another device while you were editing it</h2>
          <p>Your text is kept here. Add it back as a new task, or discard it.</p>
          <form
            class="edit"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              onRestore(id);
            }}
          >
            <div class="field">
              <label for={`orphan-title-${id}`}>Title</label>
              <input
                id={`orphan-title-${id}`}
                value={draft.title}
                maxLength={utf16MaxLength(LIMITS.titleMaxChars)}
                aria-invalid={draft.error ? true : undefined}
                aria-describedby={draft.error ? `orphan-error-${id}` : undefined}
                onInput={(e) => onChange(id, { ...draft, title: e.currentTarget.value, error: null })}
              />
              {draft.error && (
                <p id={`orphan-error-${id}`} class="field-error" data-testid="field-error">
                  {draft.error}
                </p>
              )}
            </div>
            <div class="field">
              <label for={`orphan-description-${id}`}>Description</label>
              <textarea
                id={`orphan-description-${id}`}
                value={draft.description}
                rows={3}
                maxLength={utf16MaxLength(LIMITS.descriptionMaxChars)}
                onInput={(e) => onChange(id, { ...draft, description: e.currentTarget.value })}
              />
            </div>
            <div class="actions">
              <button type="submit" class="primary">
                Restore as a new task
              </button>
              <button type="button" onClick={() => onDiscard(id)}>
                Discard
              </button>
            </div>
          </form>
        </section>
      ))}
    </>
  );
}
