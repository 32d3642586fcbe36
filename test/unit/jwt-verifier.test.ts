import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJwtVerifier,
  extractBearerToken,
  InvalidTokenError,
  JwksUnavailableError,
  verifierFromEnv,
} from '../../lambdas/auth/jwt-verifier.js';
import {
  AUDIENCE,
  createSigningKey,
  ISSUER,
  nowSeconds,
  signHs256WithPublicKey,
  signRs,
  startJwksServer,
  tamperPayload,
  unsignedToken,
  validClaims,
  withoutClaims,
  type JwksServer,
  type SigningKey,
} from './fixtures/jwt-tokens.js';

let key: SigningKey;
let otherKey: SigningKey;
let keyWithoutAlg: SigningKey;
let jwks: JwksServer;

beforeAll(async () => {
  key = createSigningKey('key-1');
  otherKey = createSigningKey('key-2');
  keyWithoutAlg = createSigningKey('key-3', { jwkAlg: false });
  jwks = await startJwksServer([key, keyWithoutAlg]);
});

afterAll(async () => {
  await jwks.close();
});

const newVerifier = () => createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.url });

async function expectRejected(token: string): Promise<InvalidTokenError> {
  const error = await newVerifier()
    .verify(token)
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  expect(error).toBeInstanceOf(InvalidTokenError);
  expect((error as Error).name).toBe('InvalidTokenError');
  return error as InvalidTokenError;
}

describe('jwt verifier', () => {
  it('accepts a valid RS256 token and returns its sub and claims', async () => {
    const claims = validClaims();

    const verified = await newVerifier().verify(signRs(key, claims));

    expect(verified.sub).toBe(claims.sub);
    expect(verified.claims).toMatchObject({ iss: ISSUER, aud: AUDIENCE, 'cognito:username': 'alice' });
  });

  it('fetches the JWKS over plain HTTP on loopback once and then serves keys from its cache', async () => {
    const verifier = newVerifier();
    const before = jwks.hits();

    await verifier.verify(signRs(key, validClaims()));
    await verifier.verify(signRs(key, validClaims({ sub: 'someone-else' })));

    expect(jwks.hits() - before).toBe(1);
  });

  it('accepts an access token whose client_id matches when it has no aud', async () => {
    const token = signRs(key, withoutClaims(validClaims({ client_id: AUDIENCE, token_use: 'access' }), 'aud'));

    await expect(newVerifier().verify(token)).resolves.toMatchObject({ sub: validClaims().sub });
  });

  it('rejects an expired token', async () => {
    const error = await expectRejected(signRs(key, validClaims({ exp: nowSeconds() - 5 })));
    expect(error.message).toMatch(/expired/i);
  });

  it('rejects a token whose nbf is in the future', async () => {
    await expectRejected(signRs(key, validClaims({ nbf: nowSeconds() + 60 })));
  });

  it('rejects a token without exp, as the HTTP API JWT authorizer does', async () => {
    await expectRejected(signRs(key, withoutClaims(validClaims(), 'exp')));
  });

  it('rejects a token from another issuer', async () => {
    await expectRejected(signRs(key, validClaims({ iss: 'http://127.0.0.1/other-issuer' })));
  });

  it('rejects a token for another audience', async () => {
    await expectRejected(signRs(key, validClaims({ aud: 'other-client' })));
  });

  it('rejects a token whose client_id is not the audience and has no aud', async () => {
    await expectRejected(signRs(key, withoutClaims(validClaims({ client_id: 'other-client' }), 'aud')));
  });

  it('checks aud, not client_id, when both are present', async () => {
    await expectRejected(signRs(key, validClaims({ aud: 'other-client', client_id: AUDIENCE })));
  });

  it('rejects alg none', async () => {
    await expectRejected(unsignedToken(validClaims(), key.kid));
  });

  it('rejects alg none even with a non-empty signature part', async () => {
    await expectRejected(`${unsignedToken(validClaims(), key.kid)}c2ln`);
  });

  it('rejects HS256 signed with the public key as the HMAC secret', async () => {
    await expectRejected(signHs256WithPublicKey(key, validClaims()));
  });

  it('rejects RSA algorithms other than RS256 even when the JWK does not pin alg', async () => {
    const error = await expectRejected(signRs(keyWithoutAlg, validClaims(), { alg: 'RS384' }));
    expect(error.message).toMatch(/RS256/);
  });

  it('rejects a token whose alg differs from the alg of its JWK', async () => {
    await expectRejected(signRs(key, validClaims(), { alg: 'RS384' }));
  });

  it('rejects a token whose payload was changed after signing', async () => {
    const token = signRs(key, validClaims());

    await expectRejected(tamperPayload(token, validClaims({ sub: 'mallory' })));
  });

  it('rejects a token signed by a key that is not in the JWKS', async () => {
    await expectRejected(signRs(otherKey, validClaims()));
  });

  it('rejects a token signed by another key under a known kid', async () => {
    await expectRejected(signRs(otherKey, validClaims(), { kid: key.kid }));
  });

  it('rejects a token without sub', async () => {
    await expectRejected(signRs(key, withoutClaims(validClaims(), 'sub')));
  });

  it('rejects an empty sub', async () => {
    await expectRejected(signRs(key, validClaims({ sub: '' })));
  });

  it.each([
    ['empty', ''],
    ['not a JWT', 'not-a-jwt'],
    ['garbage parts', 'a.b.c'],
  ])('rejects a malformed token (%s)', async (_label, token) => {
    await expectRejected(token);
  });

  it('reports an unreachable JWKS as JwksUnavailableError, not as a bad token', async () => {
    const failing = await startJwksServer([key], 500);
    try {
      const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: failing.url });

      await expect(verifier.verify(signRs(key, validClaims()))).rejects.toBeInstanceOf(JwksUnavailableError);
    } finally {
      await failing.close();
    }
  });

  it('refuses a plain-HTTP JWKS URI outside loopback when created', () => {
    expect(() => createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://example.com/jwks.json' })).toThrow(
      /https/,
    );
  });

  it('is configured from JWT_ISSUER, JWT_AUDIENCE and JWKS_URI', async () => {
    const verifier = verifierFromEnv({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, JWKS_URI: jwks.url });

    await expect(verifier.verify(signRs(key, validClaims()))).resolves.toMatchObject({ sub: validClaims().sub });
  });

  it('fails fast naming the missing environment variables', () => {
    expect(() => verifierFromEnv({})).toThrow('JWT_ISSUER, JWT_AUDIENCE');
  });
});

describe('extractBearerToken', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc.def.ghi', 'abc.def.ghi'],
    ['abc.def.ghi', 'abc.def.ghi'],
    ['  Bearer   abc.def.ghi  ', 'abc.def.ghi'],
  ])('takes the token out of %j', (header, token) => {
    expect(extractBearerToken(header)).toBe(token);
  });

  it.each([[undefined], [null], [''], ['Bearer'], ['Bearer '], ['Basic dXNlcjpwYXNz extra']])(
    'finds no token in %j',
    (header) => {
      expect(extractBearerToken(header)).toBeUndefined();
    },
  );
});
