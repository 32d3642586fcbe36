import { useEffect, useRef, useState } from 'preact/hooks';
import type { SaveState } from '../sync/engine.js';
import type { ConnectionStatus } from '../sync/socket.js';

const HINT: Record<ConnectionStatus, string> = {
  connecting: 'Connecting to live updates…',
  live: 'Changes from your other devices appear instantly.',
  reconnecting: 'Connection lost; trying again. Your changes are kept.',
  offline: 'You are offline. Changes are saved on this device and sent when you are back.',
};

function saveHint(save: SaveState, now: number): string {
  const when = save.retryAt === null ? '' : ` Trying again in ${Math.max(1, Math.round((save.retryAt - now) / 1000))} s.`;
  return `Your latest changes are not saved to the server yet: ${save.reason}. They are kept on this device.${when}`;
}

/**
 * The connection badge, and a "Not saved" badge while sends fail. The
 * explanation is a toggletip: the badge is a button (keyboard and touch),
 * not a hover-only title.
 */
export function StatusBadge({
  status,
  connectionId,
  save,
}: {
  status: ConnectionStatus;
  connectionId: string | null;
  save: SaveState;
}) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: Event) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', close);
    document.addEventListener('pointerdown', close);
    return () => {
      document.removeEventListener('keydown', close);
      document.removeEventListener('pointerdown', close);
    };
  }, [open]);

  return (
    <div class="status" ref={root}>
      <button type="button" class="status-button" aria-expanded={open} aria-controls="status-help" onClick={() => setOpen(!open)}>
        <span class="visually-hidden">Connection: </span>
        <span class={`badge badge-${status}`} data-testid="connection-status" data-connection-id={connectionId ?? undefined}>
          {status}
        </span>
        {save.failing && (
          <span class="badge badge-failing" data-testid="save-status">
            not saved
          </span>
        )}
        <span class="visually-hidden"> (what does this mean?)</span>
      </button>
      <div id="status-help" class="popover" data-testid="status-help" hidden={!open}>
        <p>{HINT[status]}</p>
        {save.failing && <p>{saveHint(save, Date.now())}</p>}
      </div>
    </div>
  );
}
