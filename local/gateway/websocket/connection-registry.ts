import type { WebSocket } from 'ws';
import type { ConnectionFacts } from './event-builders.js';

/**
 * One live connection. Kept small on purpose (the emulator should hold
 * thousands of idle sockets): the facts needed to build later events, the
 * socket, and two timestamps; no per-connection timers or buffers.
 */
export interface Connection extends ConnectionFacts {
  readonly socket: WebSocket;
  /** Last frame from the client (epoch ms); the idle timeout counts from here. */
  lastActiveAt: number;
  /** Set when the gateway closes the socket, so `$disconnect` reports the gateway's code. */
  closeCode?: number;
  closeReason?: string;
}

export type ExpiryReason = 'idle' | 'max-duration';

/** The WebSocket API's connection table, keyed by connectionId. */
export class ConnectionRegistry {
  private readonly connections = new Map<string, Connection>();

  add(connection: Connection): void {
    this.connections.set(connection.connectionId, connection);
  }

  get(connectionId: string): Connection | undefined {
    return this.connections.get(connectionId);
  }

  remove(connectionId: string): boolean {
    return this.connections.delete(connectionId);
  }

  get size(): number {
    return this.connections.size;
  }

  [Symbol.iterator](): IterableIterator<Connection> {
    return this.connections.values();
  }

  /**
   * Connections that outlived the maximum duration or have been idle too long
   * at `now`. One sweep over the table replaces two timers per connection.
   */
  *expired(now: number, idleTimeoutMs: number, maxDurationMs: number): Generator<[Connection, ExpiryReason]> {
    for (const connection of this.connections.values()) {
      if (connection.closeCode !== undefined) continue;
      if (now - connection.connectedAt >= maxDurationMs) yield [connection, 'max-duration'];
      else if (now - connection.lastActiveAt >= idleTimeoutMs) yield [connection, 'idle'];
    }
  }
}
