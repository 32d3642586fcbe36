import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { JwtRsaVerifier } from 'aws-jwt-verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, LOCAL } from '../../lib/definitions.js';
import {
  createTokenIssuer,
  subjectFor,
  TokenIssuerError,
  TokenRequestError,
  type TokenIssuer,
} from '../../local/auth/token-issuer.js';

const ISSUER = 'http://127.0.0.1:3000/auth';

function verifierFor(issuer: TokenIssuer) {
  const verifier = JwtRsaVerifier.create({ issuer: issuer.issuer, audience: LOCAL.audience, jwksUri: issuer.jwksUri });
  // Handing the JWKS over directly: no fetch happens.
  verifier.cacheJwks(issuer.jwks());
  return verifier;
}

const decode = (token: string, part: 0 | 1) =>
  JSON.parse(Buffer.from(token.split('.')[part]!, 'base64url').toString()) as Record<string, unknown>;

let dir: string;
let issuer: TokenIssuer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'token-issuer-test-'));
  issuer = await createTokenIssuer({ issuer: ISSUER });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('token issuer', () => {
  it('issues an RS256 token that aws-jwt-verify accepts with the published JWKS', () => {
    const { token } = issuer.issue({ username: 'alice' });

    const payload = verifierFor(issuer).verifySync(token);

    expect(payload.sub).toBe(subjectFor('alice'));
    expect(decode(token, 0)).toEqual({ alg: 'RS256', typ: 'JWT', kid: issuer.kid });
    expect(issuer.jwks().keys).toEqual([
      { kty: 'RSA', n: expect.any(String), e: 'AQAB', alg: 'RS256', use: 'sig', kid: issuer.kid },
    ]);
  });

  it('puts the Cognito ID token claims the product reads into the token', async () => {
    const now = Date.UTC(2026, 10, 27, 10, 0, 0);
    const pinned = await createTokenIssuer({ issuer: `${ISSUER}/`, now: () => now });

    const issued = pinned.issue({ username: '  Alice  ', expiresInSeconds: 120 });

    const claims = decode(issued.token, 1);
    expect(claims).toEqual({
      sub: subjectFor('alice'),
      iss: ISSUER,
      aud: LOCAL.audience,
      token_use: 'id',
      'cognito:username': 'Alice',
      username: 'Alice',
      auth_time: now / 1000,
      iat: now / 1000,
      exp: now / 1000 + 120,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(issued.expiresAt).toBe(new Date(now + 120_000).toISOString());
    expect(issued.sub).toBe(claims.sub);
  });

  it('defaults the lifetime to 3600 seconds', () => {
    const claims = decode(issuer.issue({ username: 'bob' }).token, 1);

    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
  });

  it('maps a username to the same UUID-shaped sub every time, ignoring case and surrounding spaces', () => {
    const sub = subjectFor('Alice');

    expect(sub).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(subjectFor(' alice ')).toBe(sub);
    expect(subjectFor('ALICE')).toBe(sub);
    expect(subjectFor('alice2')).not.toBe(sub);
    expect(subjectFor('bob')).not.toBe(sub);
  });

  it('gives the same sub whichever key signs the token', async () => {
    const other = await createTokenIssuer({ issuer: ISSUER });

    expect(other.kid).not.toBe(issuer.kid);
    expect(decode(other.issue({ username: 'carol' }).token, 1).sub).toBe(
      decode(issuer.issue({ username: 'carol' }).token, 1).sub,
    );
  });

  it('refuses a token it issued once it has expired', async () => {
    const past = await createTokenIssuer({ issuer: ISSUER, now: () => Date.now() - 2 * 3600_000 });

    const { token } = past.issue({ username: 'dave', expiresInSeconds: 3600 });

    expect(() => verifierFor(past).verifySync(token)).toThrow(/expired/i);
  });

  it.each([
    ['an empty username', { username: '' }],
    ['a blank username', { username: '   ' }],
    ['a username over 128 characters', { username: 'x'.repeat(129) }],
    ['a username with a control character', { username: 'ali\nce' }],
    ['a username with a zero-width character', { username: 'ali\u200bce' }],
    ['a username that is not a string', { username: 42 }],
    ['a missing username', {}],
    ['expiresInSeconds 0', { username: 'a', expiresInSeconds: 0 }],
    ['expiresInSeconds over a day', { username: 'a', expiresInSeconds: 86_401 }],
    ['a fractional expiresInSeconds', { username: 'a', expiresInSeconds: 1.5 }],
    ['expiresInSeconds as a string', { username: 'a', expiresInSeconds: '60' }],
    ['an unknown field', { username: 'a', password: 'x' }],
  ])('refuses %s', (_name, request) => {
    expect(() => issuer.issue(request as never)).toThrow(TokenRequestError);
  });

  it('accepts the limits: 128 characters (emoji count as one) and 1 to 86400 seconds', () => {
    const username = '😀'.repeat(128);

    expect(decode(issuer.issue({ username, expiresInSeconds: 1 }).token, 1)['cognito:username']).toBe(username);
    const claims = decode(issuer.issue({ username: 'a', expiresInSeconds: 86_400 }).token, 1);
    expect((claims.exp as number) - (claims.iat as number)).toBe(86_400);
  });
});

describe('token issuer key file', () => {
  it('keeps the key across restarts, so earlier tokens stay valid', async () => {
    const keyFile = path.join(dir, 'nested', 'signing-key.json');
    const first = await createTokenIssuer({ issuer: ISSUER, keyFile });
    const { token } = first.issue({ username: 'erin' });

    const second = await createTokenIssuer({ issuer: ISSUER, keyFile });

    expect(second.kid).toBe(first.kid);
    expect(verifierFor(second).verifySync(token).sub).toBe(subjectFor('erin'));
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
  });

  it('ends up with one key when two processes create the file at once', async () => {
    const keyFile = path.join(dir, 'raced-key.json');

    const [a, b] = await Promise.all([
      createTokenIssuer({ issuer: ISSUER, keyFile }),
      createTokenIssuer({ issuer: ISSUER, keyFile }),
    ]);

    expect(a.kid).toBe(b.kid);
    expect(JSON.parse(await readFile(keyFile, 'utf8')).kid).toBe(a.kid);
  });

  it('refuses an unreadable key file instead of silently replacing it', async () => {
    const keyFile = path.join(dir, 'broken-key.json');
    await writeFile(keyFile, '{"version":1,"privateJwk":{"kty":"EC"}}');

    await expect(createTokenIssuer({ issuer: ISSUER, keyFile })).rejects.toThrow(TokenIssuerError);
  });
});

describe('token issuer HTTP endpoints', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      void issuer.handleRequest(req, res).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const postToken = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${base}${issuer.tokenPath}`, { method: 'POST', headers, body });

  it('answers POST with a token and its expiry', async () => {
    const response = await postToken(JSON.stringify({ username: 'frank', expiresInSeconds: 600 }));

    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await response.json()) as { token: string; expiresAt: string };
    expect(Object.keys(body)).toEqual(['token', 'expiresAt']);
    expect(verifierFor(issuer).verifySync(body.token).sub).toBe(subjectFor('frank'));
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(590_000);
  });

  it('accepts application/json with a charset', async () => {
    const response = await postToken('{"username":"gina"}', { 'content-type': 'application/json; charset=utf-8' });

    expect(response.status).toBe(200);
  });

  it('answers 400 VALIDATION_FAILED with details for a bad username', async () => {
    const response = await postToken(JSON.stringify({ username: '' }));

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: expect.any(String),
        details: [{ path: 'username', message: expect.any(String) }],
      },
    });
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await postToken('{"username":');

    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
  });

  it('answers 415 for a body that is not application/json', async () => {
    const response = await postToken('username=alice', { 'content-type': 'application/x-www-form-urlencoded' });

    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 for a body over 16 KB', async () => {
    const response = await postToken(JSON.stringify({ username: 'x'.repeat(LIMITS.httpBodyMaxBytes) }));

    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers 405 to other methods and 204 to a CORS preflight', async () => {
    const get = await fetch(`${base}${issuer.tokenPath}`);
    const preflight = await fetch(`${base}${issuer.tokenPath}`, { method: 'OPTIONS' });

    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('serves the JWKS at <issuer>/.well-known/jwks.json', async () => {
    expect(issuer.jwksUri).toBe(`${ISSUER}/.well-known/jwks.json`);

    const response = await fetch(`${base}${issuer.jwksPath}`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(issuer.jwks());
  });

  it('leaves other paths to the caller', async () => {
    const response = await fetch(`${base}/somewhere-else`);

    expect(response.status).toBe(404);
  });
});
