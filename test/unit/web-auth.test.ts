import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCognitoAuth, REFRESH_MARGIN_MS } from '../../web/src/auth/cognito.js';
import { createLocalAuth } from '../../web/src/auth/local.js';
import { base64url, codeChallengeS256 } from '../../web/src/auth/pkce.js';
import { inTabLock } from '../../web/src/lock.js';
import { memoryStorage } from '../../web/src/storage.js';
import { displayName } from '../../web/src/auth/session.js';

const NOW = Date.parse('2026-11-27T10:00:00.000Z');

/** An unsigned token: the client only reads claims, the API verifies signatures. */
function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => base64url(new TextEncoder().encode(JSON.stringify(o)));
  return `${part({ alg: 'RS256', kid: 'k1' })}.${part(claims)}.c2ln`;
}

type Seen = { url: string; body: string; headers: Record<string, string> };

function fakeFetch(...responses: Response[]) {
  const seen: Seen[] = [];
  const fn = (async (url: string, init: RequestInit) => {
    seen.push({ url, body: String(init.body), headers: init.headers as Record<string, string> });
    const next = responses.shift();
    if (!next) throw new TypeError('Failed to fetch');
    return next;
  }) as typeof fetch;
  return { fn, seen };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('local auth', () => {
  const issued = (username: string, expSeconds: number) =>
    json(200, {
      token: jwt({ sub: `sub-${username}`, username, exp: expSeconds }),
      expiresAt: new Date(expSeconds * 1000).toISOString(),
    });

  it('signs in with a username at the token URL and keeps the session', async () => {
    const { fn, seen } = fakeFetch(issued('alice', NOW / 1000 + 3600));
    const storage = memoryStorage();
    const auth = createLocalAuth({ tokenUrl: 'http://127.0.0.1:3000/local-auth/token', storage, fetch: fn });

    const session = await auth.signIn(' alice ');

    expect(seen[0]).toMatchObject({ url: 'http://127.0.0.1:3000/local-auth/token', body: '{"username":"alice"}' });
    expect(session).toMatchObject({ sub: 'sub-alice', name: 'alice', expiresAt: NOW + 3600_000 });
    const reloaded = createLocalAuth({ tokenUrl: 'x', storage, fetch: fn });
    expect(reloaded.session()?.sub).toBe('sub-alice');
    expect(await reloaded.getToken()).toBe(session.token);
  });

  it('renews an expiring token for the same username without asking again', async () => {
    const { fn, seen } = fakeFetch(issued('alice', NOW / 1000 + 30), issued('alice', NOW / 1000 + 3600));
    const auth = createLocalAuth({ tokenUrl: 'http://t/token', storage: memoryStorage(), fetch: fn, now: () => NOW });
    const first = await auth.signIn('alice');

    const token = await auth.getToken();

    expect(token).not.toBe(first.token);
    expect(seen.map((s) => s.body)).toEqual(['{"username":"alice"}', '{"username":"alice"}']);
  });

  it('forgets the session when told it expired, and says why', async () => {
    const { fn } = fakeFetch(issued('alice', NOW / 1000 + 3600));
    const auth = createLocalAuth({ tokenUrl: 'http://t/token', storage: memoryStorage(), fetch: fn });
    await auth.signIn('alice');
    const changes = vi.fn();
    auth.subscribe(changes);

    auth.expire('Your session expired.');

    expect(auth.session()).toBeNull();
    expect(await auth.getToken()).toBeNull();
    expect(auth.notice()).toBe('Your session expired.');
    expect(changes).toHaveBeenCalled();
  });
});

describe('cognito auth', () => {
  const domain = 'tasks.auth.eu-west-1.amazoncognito.com';
  const idToken = (expSeconds: number, n = 1) =>
    jwt({ sub: 'sub-bob', 'cognito:username': 'bob', aud: 'client-1', token_use: 'id', exp: expSeconds, n });

  function setup(pageUrl: string, ...responses: Response[]) {
    const { fn, seen } = fakeFetch(...responses);
    const storage = memoryStorage();
    const transientStorage = memoryStorage();
    const navigate = vi.fn<(url: string) => void>();
    const replaceUrl = vi.fn<(url: string) => void>();
    const make = (url = pageUrl) =>
      createCognitoAuth({
        domain,
        clientId: 'client-1',
        storage,
        transientStorage,
        lock: inTabLock(),
        pageUrl: url,
        navigate,
        replaceUrl,
        fetch: fn,
      });
    return { auth: make(), make, seen, storage, transientStorage, navigate, replaceUrl };
  }

  it('redirects to the managed login with a PKCE challenge of the verifier it keeps', async () => {
    const { auth, navigate, transientStorage } = setup('https://d111.cloudfront.net/');

    await auth.signIn();

    const url = new URL(navigate.mock.calls[0]![0]);
    const pending = JSON.parse(transientStorage.getItem('tasks.auth.pkce')!) as { state: string; verifier: string };
    expect(url.searchParams.get('state')).toBe(pending.state);
    expect(url.searchParams.get('code_challenge')).toBe(await codeChallengeS256(pending.verifier));
    expect(url.searchParams.get('redirect_uri')).toBe('https://d111.cloudfront.net/');
  });

  it('exchanges the returned code with the verifier and cleans the URL', async () => {
    const exp = NOW / 1000 + 3600;
    const { auth, seen, replaceUrl, transientStorage } = setup(
      'https://d111.cloudfront.net/?code=abc&state=s1',
      json(200, { id_token: idToken(exp), access_token: 'at', refresh_token: 'rt', expires_in: 3600, token_type: 'Bearer' }),
    );
    transientStorage.setItem('tasks.auth.pkce', JSON.stringify({ state: 's1', verifier: 'v1' }));

    await auth.completeSignIn();

    expect(seen[0]?.url).toBe(`https://${domain}/oauth2/token`);
    expect(seen[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(seen[0]!.body))).toEqual({
      grant_type: 'authorization_code',
      client_id: 'client-1',
      code: 'abc',
      redirect_uri: 'https://d111.cloudfront.net/',
      code_verifier: 'v1',
    });
    expect(replaceUrl).toHaveBeenCalledWith('https://d111.cloudfront.net/');
    expect(auth.session()).toMatchObject({ sub: 'sub-bob', name: 'bob', token: idToken(exp) });
    expect(transientStorage.getItem('tasks.auth.pkce')).toBeNull();
  });

  it('refuses a redirect whose state it did not issue', async () => {
    const { auth, seen, transientStorage } = setup('https://app/?code=abc&state=forged');
    transientStorage.setItem('tasks.auth.pkce', JSON.stringify({ state: 's1', verifier: 'v1' }));

    await auth.completeSignIn();

    expect(seen).toEqual([]);
    expect(auth.session()).toBeNull();
    expect(auth.notice()).toMatch(/did not match/);
  });

  it('refreshes with the refresh token before the ID token expires', async () => {
    const soon = NOW / 1000 + 3600;
    const later = NOW / 1000 + 7200;
    const { auth, seen, storage } = setup(
      'https://app/',
      json(200, { id_token: idToken(later, 2), access_token: 'at2', expires_in: 3600, token_type: 'Bearer' }),
    );
    storage.setItem('tasks.auth.cognito', JSON.stringify({ idToken: idToken(soon), refreshToken: 'rt' }));
    await auth.completeSignIn(); // schedules the proactive refresh

    await vi.advanceTimersByTimeAsync(3600_000 - REFRESH_MARGIN_MS);

    expect(Object.fromEntries(new URLSearchParams(seen[0]!.body))).toEqual({
      grant_type: 'refresh_token',
      client_id: 'client-1',
      refresh_token: 'rt',
    });
    expect(await auth.getToken()).toBe(idToken(later, 2));
    expect(JSON.parse(storage.getItem('tasks.auth.cognito')!)).toEqual({ idToken: idToken(later, 2), refreshToken: 'rt' });
  });

  it('signs out when the refresh token is refused', async () => {
    const { auth, storage } = setup('https://app/', json(400, { error: 'invalid_grant' }));
    storage.setItem('tasks.auth.cognito', JSON.stringify({ idToken: idToken(NOW / 1000 + 60), refreshToken: 'revoked' }));

    expect(await auth.getToken()).toBeNull();
    expect(auth.session()).toBeNull();
    expect(auth.notice()).toMatch(/sign in again/);
  });

  it('signs out at the managed login’s logout endpoint', () => {
    const { auth, navigate, storage } = setup('https://d111.cloudfront.net/tasks?x=1');
    storage.setItem('tasks.auth.cognito', JSON.stringify({ idToken: idToken(NOW / 1000 + 3600) }));

    auth.signOut();

    expect(auth.session()).toBeNull();
    expect(navigate).toHaveBeenCalledWith(
      `https://${domain}/logout?client_id=client-1&logout_uri=${encodeURIComponent('https://d111.cloudfront.net/')}`,
    );
  });
});

describe('who is signed in', () => {
  const COGNITO_USERNAME = '3f1c9a52-6b7e-4d2a-9c1e-8a5b4d3c2e10';

  it.each([
    [
      'a Cognito pool that signs in by email: the email, not the generated username',
      { 'cognito:username': COGNITO_USERNAME, email: 'alice@example.com' },
      'alice@example.com',
    ],
    [
      'a preferred name before the email',
      { 'cognito:username': COGNITO_USERNAME, email: 'alice@example.com', preferred_username: 'Alice' },
      'Alice',
    ],
    ['a username the person chose (local mode)', { 'cognito:username': 'alice' }, 'alice'],
    ['a generated username and nothing else: the fallback', { 'cognito:username': COGNITO_USERNAME }, 'fallback'],
  ])('shows %s', (_label, claims, expected) => {
    expect(displayName(claims, 'fallback')).toBe(expected);
  });
});
