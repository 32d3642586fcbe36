import type { Task } from '../../../lambdas/contract.js';

/**
 * What one tab tells the user's other tabs (IndexedDB has no `storage`
 * event): the outbox changed (read it again), or a queued op's answer, so
 * the other tabs show the confirmed task at once instead of waiting for
 * its WebSocket event (which may have been lost).
 */
export type TabMessage =
  | { type: 'ops' }
  | { type: 'task'; task: Task }
  | { type: 'deleted'; taskId: string; version: number | null };

export interface TabChannel {
  /** To every other tab (never to this one). */
  post(message: TabMessage): void;
  subscribe(listener: (message: TabMessage) => void): () => void;
  close(): void;
}

/** A BroadcastChannel named per user; a silent one where the browser has none. */
export function broadcastChannel(name: string): TabChannel {
  if (typeof BroadcastChannel !== 'function')
    return { post: () => undefined, subscribe: () => () => undefined, close: () => undefined };
  const channel = new BroadcastChannel(name);
  const listeners = new Set<(message: TabMessage) => void>();
  channel.onmessage = (e: MessageEvent) => listeners.forEach((l) => l(e.data as TabMessage));
  return {
    post(message) {
      try {
        channel.postMessage(message);
      } catch {
        // Closed: nothing to tell.
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => channel.close(),
  };
}

/** Tests: channels of one hub deliver to each other asynchronously, like BroadcastChannel. */
export function memoryTabHub(): { channel(): TabChannel } {
  const all = new Set<Set<(message: TabMessage) => void>>();
  return {
    channel() {
      const listeners = new Set<(message: TabMessage) => void>();
      all.add(listeners);
      return {
        post(message) {
          const copy = structuredClone(message);
          for (const other of all) if (other !== listeners) void Promise.resolve().then(() => other.forEach((l) => l(copy)));
        },
        subscribe(listener) {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        close: () => void all.delete(listeners),
      };
    },
  };
}
