import { JwtVerifier as AwsJwtVerifier } from 'aws-jwt-verify';
import { FetchError, JwksValidationError, NonRetryableFetchError } from 'aws-jwt-verify/error';
import { SimpleFetcher, type Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { decomposeUnverifiedJwt } from 'aws-jwt-verify/jwt';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import { optionalEnv, readEnv } from '../env.js';

/**
 * JWT verification with the rules of the API Gateway HTTP API JWT authorizer
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html),
 * shared by the WebSocket REQUEST authorizer and the local HTTP API emulator so
 * that a token is accepted or refused the same way everywhere.
 */

/** Every reason a token is refused: the caller answers 401. */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/**
 * The JWKS could not be fetched or is not a JWKS. Not the token's fault, so
 * not an InvalidTokenError: the caller should answer 5xx, not 401.
 */
export class JwksUnavailableError extends Error {
  override name = 'JwksUnavailableError';
}

export interface VerifiedJwt {
  sub: string;
  claims: Record<string, unknown>;
}

export interface JwtVerifier {
  /** Resolves with the verified claims or rejects with InvalidTokenError (or JwksUnavailableError). */
  verify(token: string): Promise<VerifiedJwt>;
}

export interface JwtVerifierOptions {
  /** Expected `iss`, e.g. `https://cognito-idp.{region}.amazonaws.com/{userPoolId}`. */
  issuer: string;
  /** Must equal `aud` or, when the token has no `aud`, `client_id`. */
  audience: string;
  /** Default: `${issuer}/.well-known/jwks.json`, where Cognito publishes its keys. */
  jwksUri?: string;
}

// The HTTP API JWT authorizer supports RSA keys only; the product signs with RS256.
const ALLOWED_ALG = 'RS256';
// Tokens are valid exactly within [nbf, exp]: every party runs on NTP-synced clocks.
const GRACE_SECONDS = 0;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const LOOPBACK_FETCH_TIMEOUT_MS = 3_000;

export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * aws-jwt-verify's SimpleFetcher uses `https.request`, which refuses `http:`
 * URLs. The local token issuer serves its JWKS over plain HTTP on loopback, so
 * this fetcher speaks HTTP there and nowhere else; every other URI (Cognito)
 * goes through the library's own HTTPS fetcher unchanged.
 */
export class LoopbackAwareFetcher implements Fetcher {
  private readonly httpsFetcher = new SimpleFetcher();

  async fetch(uri: string, requestOptions?: Record<string, unknown>, data?: ArrayBuffer): Promise<ArrayBuffer> {
    const url = new URL(uri);
    if (url.protocol === 'https:') return this.httpsFetcher.fetch(uri, requestOptions, data);
    if (url.protocol === 'http:' && isLoopbackUrl(url)) return fetchOverLoopbackHttp(uri);
    throw new NonRetryableFetchError(uri, 'JWKS must be served over HTTPS (plain HTTP only on loopback)');
  }
}

async function fetchOverLoopbackHttp(uri: string): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(uri, {
      redirect: 'error',
      signal: AbortSignal.timeout(LOOPBACK_FETCH_TIMEOUT_MS),
    });
  } catch (err) {
    throw new FetchError(uri, err instanceof Error ? err.message : String(err));
  }
  if (response.status !== 200) {
    throw new NonRetryableFetchError(uri, `Status code is ${response.status}, expected 200`);
  }
  return response.arrayBuffer();
}

export function defaultJwksUri(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
}

function assertFetchableJwksUri(jwksUri: string): void {
  let url: URL;
  try {
    url = new URL(jwksUri);
  } catch (err) {
    throw new Error(`JWKS URI is not a URL: ${jwksUri}`, { cause: err });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url))) {
    throw new Error(`JWKS URI must be https (plain http only on loopback): ${jwksUri}`);
  }
}

/**
 * The HTTP API JWT authorizer checks `aud` when present and falls back to
 * `client_id` only when there is no `aud` (Cognito access tokens carry
 * `client_id`, ID tokens `aud`). It requires `exp`; aws-jwt-verify only checks
 * it when present.
 */
function checkClaims(payload: JwtPayload, audience: string): void {
  if (payload.aud !== undefined) {
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.includes(audience)) throw new InvalidTokenError('Token has an invalid audience');
  } else if (payload.client_id !== audience) {
    throw new InvalidTokenError('Token has an invalid audience');
  }
  if (typeof payload.exp !== 'number') throw new InvalidTokenError('Token has no exp claim');
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
    throw new InvalidTokenError('Token has no sub claim');
  }
}

function translateError(err: unknown): Error {
  if (err instanceof InvalidTokenError || err instanceof JwksUnavailableError) return err;
  if (err instanceof FetchError || err instanceof JwksValidationError) {
    return new JwksUnavailableError('JWKS unavailable', { cause: err });
  }
  // Everything else (bad signature, kid not in the JWKS, expired, wrong issuer,
  // unparseable token, ...) is the token's fault. Refusing by default is the safe side.
  const reason = err instanceof Error ? err.message : 'Invalid token';
  return new InvalidTokenError(reason, { cause: err });
}

export function createJwtVerifier(opts: JwtVerifierOptions): JwtVerifier {
  const jwksUri = opts.jwksUri ?? defaultJwksUri(opts.issuer);
  assertFetchableJwksUri(jwksUri);
  const { audience } = opts;
  // One JWKS cache per verifier: keys are fetched once per container and
  // refetched only when a token names an unknown kid (key rotation).
  const verifier = AwsJwtVerifier.create(
    {
      issuer: opts.issuer,
      jwksUri,
      // Checked in customJwtCheck instead: the library only knows `aud`.
      audience: null,
      graceSeconds: GRACE_SECONDS,
      customJwtCheck: ({ payload }) => checkClaims(payload, audience),
    },
    { jwksCache: new SimpleJwksCache({ fetcher: new LoopbackAwareFetcher() }) },
  );

  return {
    async verify(token: string): Promise<VerifiedJwt> {
      if (typeof token !== 'string' || token.length === 0) throw new InvalidTokenError('Missing token');
      try {
        // aws-jwt-verify accepts RS384/512, ES* and EdDSA too; refuse them before
        // any JWKS lookup. `alg: none` never gets here: its empty signature fails parsing.
        const { header } = decomposeUnverifiedJwt(token);
        if (header.alg !== ALLOWED_ALG) throw new InvalidTokenError(`Token alg must be ${ALLOWED_ALG}`);
        const payload = await verifier.verify(token);
        return { sub: payload.sub as string, claims: { ...payload } };
      } catch (err) {
        throw translateError(err);
      }
    },
  };
}

/** The verifier configured by JWT_ISSUER, JWT_AUDIENCE and (optional) JWKS_URI. */
export function verifierFromEnv(source: NodeJS.ProcessEnv = process.env): JwtVerifier {
  const { jwtIssuer, jwtAudience } = readEnv(['jwtIssuer', 'jwtAudience'], source);
  const jwksUri = optionalEnv('jwksUri', source);
  return createJwtVerifier({ issuer: jwtIssuer, audience: jwtAudience, ...(jwksUri ? { jwksUri } : {}) });
}

/**
 * The token of an `Authorization` header. Like the HTTP API JWT authorizer,
 * accepts the token alone or prefixed with `Bearer `.
 */
export function extractBearerToken(authorization: string | null | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^\s*(?:bearer\s+)?(\S+)\s*$/i.exec(authorization);
  const token = match?.[1];
  if (!token || token.toLowerCase() === 'bearer') return undefined;
  return token;
}
