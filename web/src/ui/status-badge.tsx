import type { ConnectionStatus } from '../sync/socket.js';

const HINT: Record<ConnectionStatus, string> = {
  connecting: 'Connecting to live updates…',
  live: 'Changes from your other devices appear instantly.',
  reconnecting: 'Connection lost; trying again. Your changes are kept.',
  offline: 'You are offline. Changes are saved here and sent when you are back.',
};

export function StatusBadge({ status, connectionId }: { status: ConnectionStatus; connectionId: string | null }) {
  return (
    <p class="status" title={HINT[status]}>
      <span class="visually-hidden">Connection: </span>
      <span class={`badge badge-${status}`} data-testid="connection-status" data-connection-id={connectionId ?? undefined}>
        {status}
      </span>
    </p>
  );
}
