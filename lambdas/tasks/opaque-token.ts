import { createHash } from 'node:crypto';

/**
 * The opaque strings the task API hands out and takes back (list cursors,
 * sync tokens): base64url of a flat JSON object of known fields plus `h`, a
 * digest over the purpose, the user id and every field.
 *
 * There is no signing secret in this design, so a token is not proof against
 * a forger who knows their own user id; it does not need to be. The digest
 * makes any other user's token, a token of another purpose, and an edited or
 * truncated one fail (400), and the fields a token carries only ever select
 * data in the caller's own partition, so a forged one can at most make the
 * forger's own client skip or repeat its own changes. It never carries the
 * user id in clear: tokens end up in URLs and logs.
 */

export type FieldKind = 'string' | 'number';
export type Fields<S extends Record<string, FieldKind>> = {
  [K in keyof S]: S[K] extends 'number' ? number : string;
};

// Far longer than any token we issue (~150 chars); refuses junk before decoding it.
const MAX_LENGTH = 512;

function digest(purpose: string, userId: string, values: readonly unknown[]): string {
  return createHash('sha256')
    .update(`${purpose}\0${userId}\0${JSON.stringify(values)}`)
    .digest('base64url')
    .slice(0, 22);
}

/** Field values in the shape's key order: the digest never depends on how an object was built. */
function ordered(shape: Record<string, FieldKind>, fields: Record<string, unknown>): unknown[] {
  return Object.keys(shape).map((key) => fields[key]);
}

export function sealToken<S extends Record<string, FieldKind>>(
  purpose: string,
  userId: string,
  shape: S,
  fields: Fields<S>,
): string {
  const values = ordered(shape, fields);
  const payload = {
    ...Object.fromEntries(Object.keys(shape).map((key, i) => [key, values[i]])),
    h: digest(purpose, userId, values),
  };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/** The fields, if `token` is exactly one we sealed for this purpose and user; otherwise undefined. */
export function openToken<S extends Record<string, FieldKind>>(
  purpose: string,
  userId: string,
  shape: S,
  token: string,
): Fields<S> | undefined {
  if (token.length === 0 || token.length > MAX_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  // Node's decoder ignores a trailing partial character, so `<token>A` would decode
  // like `<token>`; only the exact string we issued names the token.
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.toString('base64url') !== token) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const { h, ...fields } = payload as Record<string, unknown>;
  const keys = Object.keys(shape);
  if (Object.keys(fields).length !== keys.length) return undefined;
  for (const key of keys) {
    const value = fields[key];
    const kind = shape[key];
    if (kind === 'number' ? !Number.isSafeInteger(value) : typeof value !== 'string') return undefined;
  }
  if (h !== digest(purpose, userId, ordered(shape, fields))) return undefined;
  return fields as Fields<S>;
}
