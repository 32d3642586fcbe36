/** Runs `fn` while holding the named lock. */
export type LockRunner = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Cross-tab mutual exclusion with the Web Locks API (held until `fn` settles,
 * released by the browser if the tab dies). Where it is missing, only this
 * tab is serialised; the contract's idempotent create and If-Match on every
 * other op keep a rare double replay from another tab harmless.
 */
export function browserLock(): LockRunner {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks) return <T>(name: string, fn: () => Promise<T>) => locks.request(name, fn) as Promise<T>;
  return inTabLock();
}

export function inTabLock(): LockRunner {
  const tails = new Map<string, Promise<unknown>>();
  return (name, fn) => {
    const prev = tails.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    tails.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  };
}
