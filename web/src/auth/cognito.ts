import { NetworkError, UnauthorizedError } from '../api.js';
import type { LockRunner } from '../lock.js';
import type { KeyValueStorage } from '../storage.js';
import { codeChallengeS256, createCodeVerifier, randomString } from './pkce.js';
import { changeNotifier, loadStored, sessionFromToken, type Auth, type Session } from './session.js';

const KEY = 'tasks.auth.cognito';
const PKCE_KEY = 'tasks.auth.pkce';
/** Refresh this long before the ID token expires (Cognito issues 60-minute tokens by default). */
export const REFRESH_MARGIN_MS = 5 * 60_000;

export interface CognitoAuth extends Auth {
  readonly mode: 'cognito';
  /** Redirects to the managed login page. */
  signIn(): Promise<void>;
  /** On page load: finishes a redirect back from the managed login (`?code=&state=`), if any. */
  completeSignIn(): Promise<void>;
}

export interface CognitoAuthOptions {
  /** The user pool domain, e.g. `myapp.auth.eu-west-1.amazoncognito.com` (with or without https://). */
  domain: string;
  clientId: string;
  /** Tokens: localStorage, so every tab of the user shares them. */
  storage: KeyValueStorage;
  /** PKCE state and verifier: sessionStorage, only the tab that started the login needs them. */
  transientStorage: KeyValueStorage;
  lock: LockRunner;
  /** The page URL (location.href); redirect_uri and logout_uri are its origin + '/'. */
  pageUrl: string;
  navigate(url: string): void;
  /** Replaces the address bar's URL without a reload (drops `?code=&state=`). */
  replaceUrl(url: string): void;
  fetch?: typeof fetch;
  now?: () => number;
}

interface Stored {
  idToken: string;
  refreshToken?: string;
}

interface TokenResponse {
  id_token: string;
  access_token: string;
  refresh_token?: string;
  expires_in: number;
}

export function cognitoBaseUrl(domain: string): string {
  return (/^https?:\/\//.test(domain) ? domain : `https://${domain}`).replace(/\/+$/, '');
}

/** Authorization URL of the managed login: authorization code grant with PKCE (RFC 7636, S256). */
export function authorizeUrl(opts: {
  domain: string;
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
}): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: opts.clientId,
    redirect_uri: opts.redirectUri,
    scope: 'openid',
    state: opts.state,
    code_challenge: opts.codeChallenge,
    code_challenge_method: 'S256',
  });
  return `${cognitoBaseUrl(opts.domain)}/oauth2/authorize?${q}`;
}

/**
 * Cognito managed login. The ID token is the bearer: its `aud` is the app
 * client id, which is what the HTTP API JWT authorizer and the WebSocket
 * authorizer check.
 */
export function createCognitoAuth(options: CognitoAuthOptions): CognitoAuth {
  const { storage, transientStorage, clientId, now = Date.now } = options;
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const base = cognitoBaseUrl(options.domain);
  const redirectUri = new URL('/', options.pageUrl).href;
  const changes = changeNotifier(KEY);
  let lastNotice: string | null = null;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;

  function stored(): Stored | null {
    return loadStored<Stored>(storage, KEY);
  }

  function session(): Session | null {
    const s = stored();
    if (!s) return null;
    try {
      return sessionFromToken(s.idToken);
    } catch {
      return null;
    }
  }

  function save(tokens: TokenResponse, previousRefresh?: string): Session {
    const refreshToken = tokens.refresh_token ?? previousRefresh;
    storage.setItem(
      KEY,
      JSON.stringify({ idToken: tokens.id_token, ...(refreshToken ? { refreshToken } : {}) } satisfies Stored),
    );
    lastNotice = null;
    schedule();
    changes.notify();
    return sessionFromToken(tokens.id_token);
  }

  function clear(notice: string | null): void {
    clearTimeout(refreshTimer);
    storage.removeItem(KEY);
    lastNotice = notice;
    changes.notify();
  }

  async function tokenRequest(body: Record<string, string>): Promise<TokenResponse> {
    let response: Response;
    try {
      response = await fetchFn(`${base}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
    } catch (cause) {
      throw new NetworkError('Cognito did not answer', { cause });
    }
    if (!response.ok) {
      const detail = (await response.json().catch(() => ({}))) as { error?: string };
      // invalid_grant: the code or refresh token is expired, used or revoked.
      throw new UnauthorizedError(response.status, 'UNAUTHORIZED', detail.error ?? `HTTP ${response.status}`);
    }
    return (await response.json()) as TokenResponse;
  }

  /** Refreshes once for all tabs: whoever gets the lock first refreshes, the rest reuse its tokens. */
  async function refresh(force: boolean): Promise<string | null> {
    return options.lock(`${KEY}.refresh`, async () => {
      const s = stored();
      const current = session();
      if (!s || !current) return null;
      if (!force && current.expiresAt - now() > REFRESH_MARGIN_MS) return current.token;
      if (!s.refreshToken) {
        clear('Your session ended. Please sign in again.');
        return null;
      }
      try {
        const tokens = await tokenRequest({ grant_type: 'refresh_token', client_id: clientId, refresh_token: s.refreshToken });
        return save(tokens, s.refreshToken).token;
      } catch (error) {
        if (error instanceof UnauthorizedError) {
          clear('Your session ended. Please sign in again.');
          return null;
        }
        throw error;
      }
    });
  }

  function schedule(): void {
    clearTimeout(refreshTimer);
    const s = session();
    if (!s || typeof setTimeout !== 'function') return;
    const delay = Math.max(0, s.expiresAt - REFRESH_MARGIN_MS - now());
    refreshTimer = setTimeout(() => void refresh(false).catch(() => schedule()), Math.min(delay, 2 ** 31 - 1));
  }

  return {
    mode: 'cognito',
    async signIn() {
      const state = randomString(16);
      const verifier = createCodeVerifier();
      transientStorage.setItem(PKCE_KEY, JSON.stringify({ state, verifier }));
      options.navigate(
        authorizeUrl({ domain: base, clientId, redirectUri, state, codeChallenge: await codeChallengeS256(verifier) }),
      );
    },
    async completeSignIn() {
      const url = new URL(options.pageUrl);
      const code = url.searchParams.get('code');
      const state = url.searchParams.get('state');
      const error = url.searchParams.get('error');
      const errorDescription = url.searchParams.get('error_description');
      if (!code && !error) {
        schedule();
        return;
      }
      for (const p of ['code', 'state', 'error', 'error_description']) url.searchParams.delete(p);
      options.replaceUrl(url.href);
      const pending = loadStored<{ state: string; verifier: string }>(transientStorage, PKCE_KEY);
      transientStorage.removeItem(PKCE_KEY);
      if (error) {
        lastNotice = `Sign-in failed: ${errorDescription ?? error}`;
        changes.notify();
        return;
      }
      if (!pending || pending.state !== state) {
        // RFC 6749 §10.12: a response we did not ask for may be a CSRF attempt.
        lastNotice = 'Sign-in failed: the response did not match this browser’s request. Please try again.';
        changes.notify();
        return;
      }
      try {
        save(
          await tokenRequest({
            grant_type: 'authorization_code',
            client_id: clientId,
            code: code!,
            redirect_uri: redirectUri,
            code_verifier: pending.verifier,
          }),
        );
      } catch (e) {
        lastNotice = `Sign-in failed: ${(e as Error).message}`;
        changes.notify();
      }
    },
    session,
    async getToken(forceRefresh = false) {
      const s = session();
      if (!s) return null;
      if (!forceRefresh && s.expiresAt - now() > REFRESH_MARGIN_MS) return s.token;
      return refresh(forceRefresh);
    },
    expire: (reason) => clear(reason),
    signOut() {
      clear(null);
      const q = new URLSearchParams({ client_id: clientId, logout_uri: redirectUri });
      options.navigate(`${base}/logout?${q}`);
    },
    subscribe: changes.subscribe,
    notice: () => lastNotice,
  };
}
