import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { LIMITS } from '../../lib/definitions.js';
import { PayloadTooLargeError, UnauthorizedError, UnsupportedMediaTypeError, ValidationError } from './errors.js';

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;

/**
 * The caller's user id: the `sub` claim the HTTP API JWT authorizer verified.
 * Never a path or body value. The gateway only invokes us with a valid token,
 * so a missing claim means a misconfigured route; refuse rather than guess.
 */
export function requireUserId(event: HttpEvent): string {
  // Typed as always present, but a route without the authorizer has no `authorizer` at all.
  const authorizer: Partial<HttpEvent['requestContext']['authorizer']> | undefined = event.requestContext.authorizer;
  const sub = authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub === '') throw new UnauthorizedError('Missing or invalid token');
  return sub;
}

/**
 * Header lookup. Payload format 2.0 lower-cases header names and joins repeated
 * headers with commas; the scan is for hand-built events that do not.
 */
export function header(event: HttpEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The request body as text, or undefined when there is none, after the size
 * (413) and media type (415) checks, in that order. The size counts decoded
 * bytes: HTTP APIs base64-encode bodies they consider binary (`isBase64Encoded`).
 */
export function readBody(event: HttpEvent): string | undefined {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : undefined;
  const size = bytes ? bytes.length : Buffer.byteLength(event.body, 'utf8');
  if (size > LIMITS.httpBodyMaxBytes) {
    throw new PayloadTooLargeError(`Request body is over ${LIMITS.httpBodyMaxBytes} bytes`);
  }
  if (!isJsonMediaType(header(event, 'content-type'))) {
    throw new UnsupportedMediaTypeError('Request body must be application/json');
  }
  if (!bytes) return event.body;
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new ValidationError('Request body is not valid UTF-8', [], { cause: error });
  }
}

/**
 * `application/json`, optionally with `charset=utf-8` (RFC 8259 defines no
 * charset, but browsers and many clients send one). Other charsets are refused
 * because the body is decoded as UTF-8; other parameters are ignored.
 */
export function isJsonMediaType(value: string | undefined): boolean {
  if (!value) return false;
  const [type = '', ...parameters] = value.split(';');
  if (type.trim().toLowerCase() !== 'application/json') return false;
  return parameters.every((parameter) => {
    const eq = parameter.indexOf('=');
    const name = (eq === -1 ? parameter : parameter.slice(0, eq)).trim().toLowerCase();
    if (name !== 'charset') return true;
    const charset = parameter
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    return charset === 'utf-8';
  });
}

/**
 * JSON.parse, plus a refusal of duplicate keys: JSON.parse silently keeps the
 * last one, so `{"title":"a","title":"b"}` would mean different things to
 * different parsers on the way.
 */
export function parseJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError('Request body is not valid JSON', [{ field: '', message: 'Malformed JSON' }], {
      cause: error,
    });
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    throw new ValidationError('Request body has a duplicate field', [{ field: duplicate, message: 'Duplicate field' }]);
  }
  return value;
}

/**
 * The first key that appears twice in one object of `text`, which must
 * already be valid JSON (so a single pass over tokens suffices). Keys are
 * compared after unescaping: `"title"` and `"\u0074itle"` are the same key.
 */
export function findDuplicateKey(text: string): string | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = open.at(-1);
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      expectKey = false;
      i = end;
    } else if (char === '{') {
      open.push(new Set());
      expectKey = true;
    } else if (char === '[') {
      open.push(null);
    } else if (char === '}' || char === ']') {
      open.pop();
    } else if (char === ',') {
      expectKey = Boolean(open.at(-1));
    }
  }
  return undefined;
}

/** Keeps the store's `version IN (...)` condition small (DynamoDB allows up to 100 operands). */
const MAX_IF_MATCH_TAGS = 20;

/**
 * The versions an `If-Match` header allows: undefined for no header or `*`
 * (any existing task), else the listed versions. Our ETags are `"<version>"`;
 * `W/"3"` and a bare `3` are accepted too, as lenient readings of the same
 * validator. Anything else is malformed (400), not a mismatch.
 */
export function parseIfMatch(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '*') return undefined;
  const malformed = (message: string) =>
    new ValidationError('If-Match must be "<version>" or *', [{ field: 'if-match', message }]);
  const parts = value.split(',');
  if (parts.length > MAX_IF_MATCH_TAGS) throw malformed(`At most ${MAX_IF_MATCH_TAGS} entity tags`);
  return parts.map((part) => {
    const match = /^\s*(?:W\/)?("?)(\d{1,15})\1\s*$/.exec(part);
    if (!match) throw malformed('Expected an entity tag such as "3"');
    return Number(match[2]);
  });
}
