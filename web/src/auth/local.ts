import { ApiError, NetworkError, UnauthorizedError } from '../api.js';
import type { KeyValueStorage } from '../storage.js';
import { changeNotifier, loadStored, sessionFromToken, type Auth, type Session } from './session.js';

const KEY = 'tasks.auth.local';
/** Fetch a new token this long before the current one expires. */
const RENEW_MARGIN_MS = 60_000;

export interface LocalAuth extends Auth {
  readonly mode: 'local';
  signIn(username: string): Promise<Session>;
}

export interface LocalAuthOptions {
  /** The local runtime's token issuer (docs/design.md, "Local mode"). */
  tokenUrl: string;
  storage: KeyValueStorage;
  fetch?: typeof fetch;
  now?: () => number;
}

interface Stored {
  token: string;
  username: string;
}

/**
 * Local mode: a username is all it takes (the local issuer has no
 * passwords), so an expiring token is renewed silently for the same
 * username instead of sending the user back to the form.
 */
export function createLocalAuth({
  tokenUrl,
  storage,
  fetch: fetchFn = globalThis.fetch.bind(globalThis),
  now = Date.now,
}: LocalAuthOptions): LocalAuth {
  const changes = changeNotifier(KEY);
  let lastNotice: string | null = null;
  let renewing: Promise<Session> | null = null;

  async function issue(username: string): Promise<Session> {
    let response: Response;
    try {
      response = await fetchFn(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username }),
      });
    } catch (cause) {
      throw new NetworkError('The token issuer did not answer', { cause });
    }
    if (!response.ok) {
      const message = `The token issuer refused (HTTP ${response.status})`;
      throw response.status >= 500
        ? new ApiError(response.status, 'UNKNOWN', message)
        : new UnauthorizedError(response.status, 'UNAUTHORIZED', message);
    }
    const { token } = (await response.json()) as { token: string; expiresAt: string };
    const session = sessionFromToken(token, username);
    storage.setItem(KEY, JSON.stringify({ token, username } satisfies Stored));
    lastNotice = null;
    changes.notify();
    return session;
  }

  function stored(): (Session & { username: string }) | null {
    const s = loadStored<Stored>(storage, KEY);
    if (!s) return null;
    try {
      return { ...sessionFromToken(s.token, s.username), username: s.username };
    } catch {
      return null;
    }
  }

  return {
    mode: 'local',
    signIn(username) {
      return issue(username.trim());
    },
    session: stored,
    async getToken(forceRefresh = false) {
      const s = stored();
      if (!s) return null;
      if (!forceRefresh && s.expiresAt - now() > RENEW_MARGIN_MS) return s.token;
      renewing ??= issue(s.username).finally(() => (renewing = null));
      return (await renewing).token;
    },
    expire(reason) {
      lastNotice = reason;
      storage.removeItem(KEY);
      changes.notify();
    },
    signOut() {
      lastNotice = null;
      storage.removeItem(KEY);
      changes.notify();
    },
    subscribe: changes.subscribe,
    notice: () => lastNotice,
  };
}
