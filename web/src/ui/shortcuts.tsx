import { useEffect, useRef } from 'preact/hooks';

export const SHORTCUTS: readonly [keys: string[], what: string][] = [
  [['n'], 'New task: go to the title field'],
  [['/'], 'Search'],
  [['j', '↓'], 'Next task'],
  [['k', '↑'], 'Previous task'],
  [['x', 'Space'], 'Mark the task done or not done'],
  [['Enter', 'e'], 'Edit the task (or double-click it)'],
  [['Delete', '#'], 'Delete the task'],
  [['u'], 'Undo the last delete, while its notice shows'],
  [['1', '2', '3'], 'Show all, active or completed tasks'],
  [['Ctrl', 'Enter'], 'Save, in a form'],
  [['Esc'], 'Cancel editing, clear the search, close'],
  [['?'], 'Show these shortcuts'],
];

/** The shortcuts, in a native modal dialog (focus trapped, Escape closes, focus returns to where it was). */
export function ShortcutsDialog({ onClose }: { onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal?.();
    return () => dialog?.close?.();
  }, []);
  return (
    <dialog
      ref={ref}
      class="shortcuts"
      data-testid="shortcuts-dialog"
      aria-labelledby="shortcuts-heading"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id="shortcuts-heading">Keyboard shortcuts</h2>
      <p>Anywhere outside a text field. The task keys act on the focused task.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">Keys</th>
            <th scope="col">What they do</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={what}>
              <td>
                {keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && (keys[0] === 'Ctrl' ? ' + ' : ' or ')}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="actions">
        <button type="button" class="primary" onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}
