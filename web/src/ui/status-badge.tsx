import { useEffect, useRef, useState } from 'preact/hooks';
import type { SaveState } from '../sync/engine.js';
import type { ConnectionStatus } from '../sync/socket.js';

const HINT: Record<ConnectionStatus, string> = {
  connecting: 'Connecting to live updates…',
  live: 'Changes from your other devices appear instantly.',
  reconnecting: 'Connection lost; trying again. Your changes are kept.',
  offline: 'You are offline. Changes are saved on this device and sent when you are back.',
};

const devicesText = (n: number) => `${n} ${n === 1 ? 'device' : 'devices'}`;

function devicesHint(n: number): string {
  return n === 1
    ? 'This is the only device where you have Tasks open right now.'
    : `You have Tasks open on ${n} devices right now (windows and tabs count), this one included.`;
}

function saveHint(save: SaveState, now: number): string {
  const when = save.retryAt === null ? '' : ` Trying again in ${Math.max(1, Math.round((save.retryAt - now) / 1000))} s.`;
  return `Your latest changes are not saved to the server yet: ${save.reason}. They are kept on this device.${when}`;
}

/**
 * The connection badge ("Live · 2 devices" while live, with the count the
 * server sends), and a "Not saved" badge while sends fail. The explanation is
 * a toggletip: the badge is a button (keyboard and touch), not a hover-only title.
 */
export function StatusBadge({
  status,
  connectionId,
  devices = null,
  save,
}: {
  status: ConnectionStatus;
  connectionId: string | null;
  /** Shown while live, once the server said it. */
  devices?: number | null;
  save: SaveState;
}) {
  const count = status === 'live' ? devices : null;
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
        <span class={`badge badge-${status}${count !== null ? ' with-devices' : ''}`} data-testid="connection-badge">
          <span class="status-word" data-testid="connection-status" data-connection-id={connectionId ?? undefined}>
            {status}
          </span>
          {count !== null && (
            <span class="devices" data-testid="device-count" data-devices={count}>
              <span aria-hidden="true"> · </span>
              {devicesText(count)}
            </span>
          )}
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
        {count !== null && <p>{devicesHint(count)}</p>}
        {save.failing && <p>{saveHint(save, Date.now())}</p>}
      </div>
    </div>
  );
}
