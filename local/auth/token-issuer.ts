import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomUUID,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import * as z from 'zod';
import { LIMITS, LOCAL } from '../../lib/definitions.js';
import type { ErrorBody, ErrorCode } from '../../lambdas/contract.js';
import { readBody, sendJson } from '../shared/http.js';

/**
 * The local runtime's stand-in for Cognito: RS256 ID tokens for any username, verified
 * by the same JWT verifier as deployed tokens through the JWKS published here.
 */

export class TokenIssuerError extends Error {
  override name = 'TokenIssuerError';
}

/** A token request the contract refuses; the HTTP handler answers 400 VALIDATION_FAILED. */
export class TokenRequestError extends Error {
  override name = 'TokenRequestError';
  readonly status = 400;
  constructor(
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export interface TokenIssuerOptions {
  /** `iss` of every token and base of the JWKS URL, e.g. `http://127.0.0.1:3000/auth` (no trailing slash). */
  issuer: string;
  /** `aud` of every token. Default: LOCAL.audience. */
  audience?: string;
  /**
   * JSON file holding the signing key, created on first use, so tokens stay valid across
   * restarts (e.g. `.local/signing-key.json`). Default: null = a new key in memory per start.
   */
  keyFile?: string | null;
  /** Path that handleRequest() serves the token endpoint on. Default: `<issuer path>/token`. */
  tokenPath?: string;
  /** Milliseconds since the epoch; tests pin it. Default: Date.now. */
  now?: () => number;
}

export interface IssueTokenRequest {
  /** 1–128 characters after trimming, no control or invisible format characters. */
  username: string;
  /** Integer 1–86400. Default: 3600. */
  expiresInSeconds?: number;
}

export interface IssuedToken {
  token: string;
  /** ISO time of `exp`. */
  expiresAt: string;
  sub: string;
}

// A type alias, not an interface, so it is assignable to JSON-object types such as aws-jwt-verify's Jwk.
export type PublicJwk = {
  kty: 'RSA';
  n: string;
  e: string;
  alg: 'RS256';
  use: 'sig';
  kid: string;
};

export interface TokenIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly kid: string;
  /** `${issuer}/.well-known/jwks.json`, where Cognito publishes its keys too. */
  readonly jwksUri: string;
  /** Path part of jwksUri, and of the token endpoint, for routing. */
  readonly jwksPath: string;
  readonly tokenPath: string;
  jwks(): { keys: PublicJwk[] };
  /** Throws TokenRequestError for a username or expiry the contract refuses. */
  issue(request: IssueTokenRequest): IssuedToken;
  /** POST JSON `{username, expiresInSeconds?}` → 200 `{token, expiresAt}`; 400/405/413/415 with the contract's error body. */
  handleTokenRequest(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** GET → the JWKS. */
  handleJwksRequest(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Serves tokenPath and jwksPath; resolves false (and leaves `res` alone) for any other path. */
  handleRequest(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

export const DEFAULT_EXPIRES_IN_SECONDS = 3600;
export const MAX_EXPIRES_IN_SECONDS = 86_400;
const MAX_USERNAME_CHARS = 128;
// Control, format (zero-width, bidi overrides), surrogate, private-use and line/paragraph separators.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]/u;

/**
 * Usernames are case-insensitive, as in a Cognito user pool created with the default
 * (case-insensitive) setting: "Alice" and "alice" are one user with one `sub`. The
 * `sub` is a name-based UUID (RFC 4122 version 5) of the NFC-normalized, lower-cased,
 * trimmed username in a namespace of this project, so it is the same on every start
 * and every machine, whatever the signing key.
 */
export function subjectFor(username: string): string {
  const name = username.trim().normalize('NFC').toLowerCase();
  return uuidV5(name, SUB_NAMESPACE);
}

const SUB_NAMESPACE = '6f2a4c1e-8d3b-5e7f-9a10-2b4c6d8e0f12';

function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const tokenRequestSchema = z.strictObject({
  username: z.string(),
  expiresInSeconds: z.number().int().min(1).max(MAX_EXPIRES_IN_SECONDS).optional(),
});

function validate(request: unknown): { username: string; expiresInSeconds: number } {
  const parsed = tokenRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw new TokenRequestError(
      'Invalid token request',
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message })),
    );
  }
  const username = parsed.data.username.trim();
  const chars = [...username].length;
  const problem =
    chars === 0
      ? 'must not be empty'
      : chars > MAX_USERNAME_CHARS
        ? `must be at most ${MAX_USERNAME_CHARS} characters`
        : UNPRINTABLE.test(username)
          ? 'must contain printable characters only'
          : undefined;
  if (problem) throw new TokenRequestError('Invalid token request', [{ path: 'username', message: `username ${problem}` }]);
  return { username, expiresInSeconds: parsed.data.expiresInSeconds ?? DEFAULT_EXPIRES_IN_SECONDS };
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** RFC 7638 JWK thumbprint: stable for a key, so a persisted key keeps its kid. */
function thumbprint(jwk: JsonWebKey): string {
  return base64url(
    createHash('sha256')
      .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
      .digest(),
  );
}

interface KeyFileContent {
  version: 1;
  kid: string;
  createdAt: string;
  privateJwk: JsonWebKey;
}

async function newKey(): Promise<KeyObject> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return privateKey;
}

function keyFromFile(file: string, text: string): KeyObject {
  try {
    const content = JSON.parse(text) as Partial<KeyFileContent>;
    if (content.version !== 1 || content.privateJwk?.kty !== 'RSA' || !content.privateJwk.d)
      throw new Error('not an RSA private key');
    return createPrivateKey({ key: content.privateJwk, format: 'jwk' });
  } catch (error) {
    throw new TokenIssuerError(
      `Signing key file ${file} is unreadable (${(error as Error).message}); delete it to create a new key`,
      {
        cause: error,
      },
    );
  }
}

/** Reads the key file, or creates it; two processes racing to create it end up with the same key. */
async function loadOrCreateKey(file: string): Promise<KeyObject> {
  try {
    return keyFromFile(file, await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = await newKey();
  const privateJwk = key.export({ format: 'jwk' });
  const content: KeyFileContent = { version: 1, kid: thumbprint(privateJwk), createdAt: new Date().toISOString(), privateJwk };
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  try {
    // link() fails if the file exists and never exposes a half-written file.
    await link(temporary, file);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return keyFromFile(file, await readFile(file, 'utf8'));
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

export async function createTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const issuer = options.issuer.replace(/\/+$/, '');
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch (error) {
    throw new TokenIssuerError(`issuer must be an absolute URL, got ${JSON.stringify(options.issuer)}`, { cause: error });
  }
  const audience = options.audience ?? LOCAL.audience;
  const now = options.now ?? Date.now;
  const privateKey = options.keyFile ? await loadOrCreateKey(path.resolve(options.keyFile)) : await newKey();
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = thumbprint(publicJwk);
  const jwk: PublicJwk = { kty: 'RSA', n: publicJwk.n!, e: publicJwk.e!, alg: 'RS256', use: 'sig', kid };
  const jwksUri = `${issuer}/.well-known/jwks.json`;
  const issuerPath = issuerUrl.pathname.replace(/\/+$/, '');
  const jwksPath = `${issuerPath}/.well-known/jwks.json`;
  const tokenPath = options.tokenPath ?? `${issuerPath}/token`;

  const tokenIssuer: TokenIssuer = {
    issuer,
    audience,
    kid,
    jwksUri,
    jwksPath,
    tokenPath,
    jwks: () => ({ keys: [{ ...jwk }] }),
    issue(request) {
      const { username, expiresInSeconds } = validate(request);
      const iat = Math.floor(now() / 1000);
      const exp = iat + expiresInSeconds;
      const sub = subjectFor(username);
      // The claims of a Cognito ID token that the product and the authorizers read.
      const payload = {
        sub,
        iss: issuer,
        aud: audience,
        token_use: 'id',
        'cognito:username': username,
        username,
        auth_time: iat,
        iat,
        exp,
        jti: randomUUID(),
      };
      const signingInput = `${base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))}.${base64url(JSON.stringify(payload))}`;
      const signature = sign('sha256', Buffer.from(signingInput), privateKey);
      return { token: `${signingInput}.${base64url(signature)}`, expiresAt: new Date(exp * 1000).toISOString(), sub };
    },
    handleTokenRequest: (req, res) => handleTokenRequest(tokenIssuer, req, res),
    handleJwksRequest: (req, res) => handleJwksRequest(tokenIssuer, req, res),
    async handleRequest(req, res) {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
      if (pathname === tokenPath) {
        await handleTokenRequest(tokenIssuer, req, res);
        return true;
      }
      if (pathname === jwksPath) {
        await handleJwksRequest(tokenIssuer, req, res);
        return true;
      }
      return false;
    },
  };
  return tokenIssuer;
}

// Local endpoints for a dashboard served from another port: any origin may call them.
function setCors(res: ServerResponse, methods: string): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Methods', methods);
  res.setHeader('Access-Control-Allow-Headers', 'content-type');
  res.setHeader('Access-Control-Max-Age', '600');
}

function sendError(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  details?: unknown[],
  headers: Record<string, string> = {},
): void {
  const body: ErrorBody = { error: { code, message, ...(details ? { details } : {}) } };
  sendJson(res, status, body, headers);
}

/** Checks in the contract's order: method, size (413), media type (415), JSON and fields (400). */
export async function handleTokenRequest(issuer: TokenIssuer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  setCors(res, 'POST, OPTIONS');
  try {
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'POST') {
      sendError(res, 405, 'BAD_REQUEST', `Method ${req.method} not allowed; use POST`, undefined, { Allow: 'POST, OPTIONS' });
      return;
    }
    const tooLarge = () =>
      sendError(res, 413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${LIMITS.httpBodyMaxBytes} bytes`, undefined, {
        Connection: 'close',
      });
    if (Number(req.headers['content-length'] ?? 0) > LIMITS.httpBodyMaxBytes) return tooLarge();
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType !== 'application/json') {
      sendError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json', undefined, { Connection: 'close' });
      return;
    }
    const read = await readBody(req, LIMITS.httpBodyMaxBytes);
    if (!read.ok) return tooLarge();
    let json: unknown;
    try {
      json = JSON.parse(read.body.toString('utf8'));
    } catch {
      sendError(res, 400, 'VALIDATION_FAILED', 'Request body is not valid JSON');
      return;
    }
    const issued = issuer.issue(json as IssueTokenRequest);
    sendJson(res, 200, { token: issued.token, expiresAt: issued.expiresAt }, { 'Cache-Control': 'no-store' });
  } catch (error) {
    if (error instanceof TokenRequestError) {
      sendError(res, 400, 'VALIDATION_FAILED', error.message, error.details);
      return;
    }
    console.error('[token-issuer] token request failed', error);
    if (!res.headersSent) sendError(res, 500, 'INTERNAL_ERROR', 'Internal error');
    else res.destroy();
  }
}

export async function handleJwksRequest(issuer: TokenIssuer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  setCors(res, 'GET, HEAD, OPTIONS');
  if (req.method === 'OPTIONS') {
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(res, 405, 'BAD_REQUEST', `Method ${req.method} not allowed; use GET`, undefined, { Allow: 'GET, HEAD, OPTIONS' });
    return;
  }
  const text = JSON.stringify(issuer.jwks());
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'max-age=300',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
