import type { Page } from 'playwright-core';

/**
 * What the dashboard keeps queued for the user in IndexedDB (its one
 * `tasks.<sub>` database, store `ops`), read in the page: the outbox's
 * internals, which some tests check directly.
 */
export function queuedOps(page: Page): Promise<Array<{ kind: string; taskId: string }>> {
  return page.evaluate(async () => {
    const names = (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith('tasks.'));
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(names[0]!);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    try {
      return await new Promise<Array<{ kind: string; taskId: string }>>((resolve, reject) => {
        const r = db.transaction('ops').objectStore('ops').getAll();
        r.onsuccess = () => resolve(r.result as Array<{ kind: string; taskId: string }>);
        r.onerror = () => reject(r.error);
      });
    } finally {
      db.close();
    }
  });
}
