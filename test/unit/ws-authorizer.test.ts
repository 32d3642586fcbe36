import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createConnectAuthorizer } from '../../lambdas/auth/connect-authorizer.js';
import { createJwtVerifier, JwksUnavailableError, type JwtVerifier } from '../../lambdas/auth/jwt-verifier.js';
import {
  AUDIENCE,
  createSigningKey,
  ISSUER,
  nowSeconds,
  signRs,
  startJwksServer,
  validClaims,
  type JwksServer,
  type SigningKey,
} from './fixtures/jwt-tokens.js';
import { CONNECT_METHOD_ARN, connectAuthorizerEvent, lambdaContext } from './fixtures/ws-events.js';

let key: SigningKey;
let jwks: JwksServer;
type Handler = typeof import('../../lambdas/ws-authorizer.js').handler;
let handler: Handler;

beforeAll(async () => {
  key = createSigningKey('ws-key');
  jwks = await startJwksServer([key]);
  // The handler module reads its configuration once, at import, like a cold start.
  vi.stubEnv('JWT_ISSUER', ISSUER);
  vi.stubEnv('JWT_AUDIENCE', AUDIENCE);
  vi.stubEnv('JWKS_URI', jwks.url);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('../../lambdas/ws-authorizer.js'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await jwks.close();
});

const context = lambdaContext('wsAuthorizer');

function spyLogger() {
  return { info: vi.fn(), error: vi.fn() };
}

describe('ws-authorizer', () => {
  it('allows execute-api:Invoke on the $connect method ARN for the token subject', async () => {
    const claims = validClaims();
    const event = connectAuthorizerEvent({ token: signRs(key, claims) });

    const result = await handler(event, context);

    expect(result).toEqual({
      principalId: claims.sub,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: CONNECT_METHOD_ARN }],
      },
      // The routes read the token's expiry from here (a connection never outlives its token).
      context: { userId: claims.sub, tokenExpiresAt: String(claims.exp) },
    });
  });

  it.each([
    ['an expired token', () => signRs(key, validClaims({ exp: nowSeconds() - 1 }))],
    ['a token for another audience', () => signRs(key, validClaims({ aud: 'someone-else' }))],
    ['a token that is not a JWT', () => 'not-a-token'],
  ])('refuses %s with Unauthorized, which API Gateway turns into 401', async (_label, token) => {
    await expect(handler(connectAuthorizerEvent({ token: token() }), context)).rejects.toThrow(new Error('Unauthorized'));
  });

  it('refuses a handshake without a token with Unauthorized', async () => {
    await expect(handler(connectAuthorizerEvent(), context)).rejects.toThrow(new Error('Unauthorized'));
  });

  it('never logs the token it refuses', async () => {
    const logger = spyLogger();
    const authorize = createConnectAuthorizer({
      verifier: createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.url }),
      logger,
    });
    const token = signRs(key, validClaims({ exp: nowSeconds() - 1 }));

    await expect(authorize(connectAuthorizerEvent({ token }))).rejects.toThrow('Unauthorized');

    expect(logger.info).toHaveBeenCalledWith('Connection refused', { reason: expect.stringMatching(/expired/i) });
    const logged = JSON.stringify([...logger.info.mock.calls, ...logger.error.mock.calls]);
    expect(logged).not.toContain(token.split('.')[1]);
  });

  it('rethrows a JWKS outage instead of calling it Unauthorized, so API Gateway answers 500', async () => {
    const outage = new JwksUnavailableError('JWKS unavailable');
    const verifier: JwtVerifier = { verify: () => Promise.reject(outage) };
    const logger = spyLogger();
    const authorize = createConnectAuthorizer({ verifier, logger });

    await expect(authorize(connectAuthorizerEvent({ token: 'a.b.c' }))).rejects.toBe(outage);
    expect(logger.error).toHaveBeenCalledOnce();
  });
});
