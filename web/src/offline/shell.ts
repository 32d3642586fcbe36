/**
 * The app shell the service worker keeps for offline starts (sw.ts): one
 * index.html and exactly the files it names, stored together so an offline
 * start never mixes a document with another version's script or styles.
 * Pure; unit-tested.
 */

/** The shell's cache; one consistent set at a time. */
export const SHELL_CACHE = 'tasks-shell';
/** The last good config.json (deployment endpoints: unhashed, so network first). */
export const RUNTIME_CACHE = 'tasks-runtime';

/** Same-origin files an index.html names (script, stylesheet, icon, manifest), as absolute URLs. */
export function shellFiles(html: string, indexUrl: string): string[] {
  const origin = new URL(indexUrl).origin;
  const out = new Set<string>();
  for (const m of html.matchAll(/<(?:script|link)\b[^>]*?\s(?:src|href)="([^"]+)"/g)) {
    const url = new URL(m[1]!, indexUrl);
    if (url.origin === origin) out.add(url.href);
  }
  return [...out];
}

/** The hashed script an index.html loads (app-<hash>.js), which names its version. */
export function appScript(html: string): string | null {
  return /<script\b[^>]*\ssrc="([^"]*app-[A-Z0-9]+\.js)"/.exec(html)?.[1]?.split('/').pop() ?? null;
}

export type Route = 'document' | 'config' | 'shell' | 'network';

/**
 * How the worker answers a GET: navigations network first (a new deployment
 * shows on the next online start) with the shell as the offline fallback;
 * config.json network first with its last good copy; the shell's files from
 * the shell; everything else (API, token issuer, other origins) untouched.
 */
export function routeFor(request: { url: string; mode: string; method: string }, scope: string): Route {
  if (request.method !== 'GET') return 'network';
  const url = new URL(request.url);
  const base = new URL(scope);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) return 'network';
  if (request.mode === 'navigate') return 'document';
  const name = url.pathname.slice(base.pathname.length);
  if (name === 'config.json') return 'config';
  if (/^(app|styles)-[A-Z0-9]+\.(js|css)$/.test(name) || name === 'favicon.svg' || name === 'manifest.webmanifest')
    return 'shell';
  return 'network';
}
