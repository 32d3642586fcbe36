import { appScript, routeFor, RUNTIME_CACHE, SHELL_CACHE, shellFiles } from './offline/shell.js';

/**
 * The service worker: after one visit the dashboard starts with no network
 * (the shell from the cache, then tasks and queued changes from IndexedDB).
 * Deliberately version-free: it names no build, so it never needs replacing
 * for a new deployment, and the deployment is picked up from index.html
 * (network first) on the next online start; the shell cache then moves to
 * the new index.html and its files as one set (offline/shell.ts).
 */

interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  request: Request;
  resultingClientId?: string;
  respondWith(r: Promise<Response> | Response): void;
}
interface WorkerScope {
  registration: { scope: string };
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void>; matchAll(o?: { type?: string }): Promise<{ id: string; postMessage(m: unknown): void }[]> };
  addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', fn: (e: FetchEvent) => void): void;
}
const sw = self as unknown as WorkerScope;
const scope = sw.registration.scope;
/** The shell's document is kept under the scope's URL (`/`), whatever query a navigation had. */
const indexUrl = new URL('./', scope).href;
/** An offline navigation that hangs (lie-fi) falls back to the shell after this long. */
const NAVIGATION_TIMEOUT_MS = 4000;

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      await refreshShell(await fetch(indexUrl, { cache: 'no-cache' }), null);
      await keepConfig(await fetch(new URL('config.json', scope).href, { cache: 'no-cache' }));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => event.waitUntil(sw.clients.claim()));

sw.addEventListener('fetch', (event) => {
  switch (routeFor(event.request, scope)) {
    case 'document':
      return event.respondWith(navigate(event));
    case 'config':
      return event.respondWith(config(event.request));
    case 'shell':
      return event.respondWith(fromShell(event.request));
    default:
      return undefined;
  }
});

async function navigate(event: FetchEvent): Promise<Response> {
  try {
    const response = await withTimeout(fetch(event.request), NAVIGATION_TIMEOUT_MS);
    if (response.ok && (response.headers.get('content-type') ?? '').includes('text/html')) {
      event.waitUntil(refreshShell(response.clone(), event.resultingClientId ?? null).catch(() => undefined));
    }
    return response;
  } catch (error) {
    const cached = await (await caches.open(SHELL_CACHE)).match(indexUrl);
    if (cached) return cached;
    throw error;
  }
}

async function config(request: Request): Promise<Response> {
  try {
    const response = await fetch(request);
    if (response.ok) await keepConfig(response.clone());
    return response;
  } catch (error) {
    const cached = await (await caches.open(RUNTIME_CACHE)).match(request.url);
    if (cached) return cached;
    throw error;
  }
}

async function keepConfig(response: Response): Promise<void> {
  if (response.ok) await (await caches.open(RUNTIME_CACHE)).put(new URL('config.json', scope).href, response);
}

async function fromShell(request: Request): Promise<Response> {
  return (await (await caches.open(SHELL_CACHE)).match(request.url)) ?? fetch(request);
}

/**
 * Moves the shell to this index.html: its files first, the document last,
 * then drops what it no longer names. At every step the stored document names
 * only stored files. Tells the open pages of another version (not the page
 * this navigation creates) that a new one is ready.
 */
async function refreshShell(response: Response, newClientId: string | null): Promise<void> {
  if (!response.ok) return;
  const html = await response.text();
  const cache = await caches.open(SHELL_CACHE);
  const held = await cache.match(indexUrl);
  if (held && (await held.text()) === html) return;
  const files = shellFiles(html, indexUrl);
  for (const file of files) {
    if (await cache.match(file)) continue;
    const asset = await fetch(file, { cache: 'no-cache' });
    if (!asset.ok) throw new Error(`${file}: HTTP ${asset.status}`);
    await cache.put(file, asset);
  }
  await cache.put(indexUrl, new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } }));
  const keep = new Set([indexUrl, ...files]);
  for (const key of await cache.keys()) if (!keep.has(key.url)) await cache.delete(key);
  if (held) {
    const app = appScript(html);
    for (const client of await sw.clients.matchAll({ type: 'window' })) {
      if (client.id !== newClientId) client.postMessage({ type: 'new-version', app });
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
