/**
 * A small key-value transaction API with two implementations: IndexedDB in
 * the browser, Maps in memory (unit tests, and the fallback where IndexedDB
 * is unusable, e.g. some private modes). Out-of-line string keys only: the
 * sync state needs nothing more, and the wrapper stays at about 1 KB.
 */

export type StoreName = 'tasks' | 'deleted' | 'ops' | 'meta';
export const STORES: readonly StoreName[] = ['tasks', 'deleted', 'ops', 'meta'];

/** One transaction's operations. Await only these inside `run` (IndexedDB commits once nothing is pending). */
export interface Tx {
  get<T>(store: StoreName, key: string): Promise<T | undefined>;
  getAll<T>(store: StoreName): Promise<T[]>;
  /** The values of the last `count` keys, last first. */
  getLast<T>(store: StoreName, count: number): Promise<T[]>;
  put(store: StoreName, key: string, value: unknown): Promise<void>;
  delete(store: StoreName, key: string): Promise<void>;
  clear(store: StoreName): Promise<void>;
}

export interface RecordDb {
  /** False for the in-memory stand-in: data is gone at reload. */
  readonly persistent: Promise<boolean>;
  /** Runs `fn` in one transaction: every write of it is stored, or none (the promise rejects). */
  run<T>(stores: readonly StoreName[], mode: 'readonly' | 'readwrite', fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Closes once the transactions already asked for are done. */
  close(): void;
}

const request = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/** IndexedDB database `name` (one per user), or memory where IndexedDB cannot be opened. */
export function openRecordDb(name: string, factory: IDBFactory | undefined = globalThis.indexedDB): RecordDb {
  const fallback = memoryRecordDb();
  const opened = new Promise<IDBDatabase | null>((resolve) => {
    try {
      const r = factory!.open(name, 1);
      r.onupgradeneeded = () => STORES.forEach((s) => r.result.objectStoreNames.contains(s) || r.result.createObjectStore(s));
      r.onsuccess = () => {
        // Another tab deleting or upgrading the database: let it.
        r.result.onversionchange = () => r.result.close();
        resolve(r.result);
      };
      r.onerror = () => resolve(null);
    } catch {
      resolve(null);
    }
  });
  let pending = 0;
  let closing = false;
  const closeIfIdle = () => {
    if (closing && pending === 0) void opened.then((db) => db?.close());
  };
  return {
    persistent: opened.then((db) => db !== null),
    async run(stores, mode, fn) {
      if (closing) throw new Error(`${name} is closed`);
      pending++;
      try {
        const db = await opened;
        if (!db) return await fallback.run(stores, mode, fn);
        return await new Promise((resolve, reject) => {
          const t = db.transaction(stores as StoreName[], mode);
          let result: unknown;
          t.oncomplete = () => resolve(result as never);
          t.onabort = t.onerror = () => reject(t.error ?? new Error('transaction aborted'));
          const s = (n: StoreName) => t.objectStore(n);
          const tx: Tx = {
            get: (n, k) => request(s(n).get(k)),
            getAll: (n) => request(s(n).getAll()),
            getLast: <T>(n: StoreName, count: number) =>
              new Promise<T[]>((resolve, reject) => {
                const out: T[] = [];
                const r = s(n).openCursor(null, 'prev');
                r.onerror = () => reject(r.error);
                r.onsuccess = () => {
                  const cursor = r.result;
                  if (!cursor || out.length >= count) return resolve(out);
                  out.push(cursor.value as T);
                  cursor.continue();
                };
              }),
            put: (n, k, v) => request(s(n).put(v, k)).then(() => undefined),
            delete: (n, k) => request(s(n).delete(k)),
            clear: (n) => request(s(n).clear()),
          };
          fn(tx).then(
            (value) => (result = value),
            (error: unknown) => {
              try {
                t.abort();
              } catch {
                // Already finished or aborted.
              }
              reject(error);
            },
          );
        });
      } finally {
        pending--;
        closeIfIdle();
      }
    },
    close() {
      closing = true;
      closeIfIdle();
    },
  };
}

/**
 * Maps with IndexedDB's observable rules: values are copies (structured
 * clone), transactions run one at a time and a failed one leaves nothing.
 */
export function memoryRecordDb(): RecordDb {
  let data = new Map<StoreName, Map<string, unknown>>(STORES.map((s) => [s, new Map()]));
  let tail: Promise<unknown> = Promise.resolve();
  let closed = false;
  return {
    persistent: Promise.resolve(false),
    run(_stores, _mode, fn) {
      if (closed) return Promise.reject(new Error('closed'));
      const attempt = async () => {
        const staged = new Map([...data].map(([k, m]) => [k, new Map(m)]));
        const store = (n: StoreName) => staged.get(n)!;
        const tx: Tx = {
          get: async (n, k) => structuredClone(store(n).get(k)) as never,
          getAll: async (n) =>
            [...store(n).entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => structuredClone(v)) as never,
          getLast: async (n, count) =>
            [...store(n).entries()]
              .sort(([a], [b]) => (a < b ? 1 : -1))
              .slice(0, count)
              .map(([, v]) => structuredClone(v)) as never,
          put: async (n, k, v) => void store(n).set(k, structuredClone(v)),
          delete: async (n, k) => void store(n).delete(k),
          clear: async (n) => store(n).clear(),
        };
        const result = await fn(tx);
        data = staged;
        return result;
      };
      const run = tail.then(attempt, attempt);
      tail = run.catch(() => undefined);
      return run;
    },
    close() {
      closed = true;
    },
  };
}
