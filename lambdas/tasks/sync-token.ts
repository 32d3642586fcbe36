import { ValidationError } from './errors.js';
import { openToken, sealToken } from './opaque-token.js';

/**
 * Change-feed positions as opaque, user-bound tokens (opaque-token.ts).
 * The meaning of the fields is change-feed.ts's.
 */
export interface FeedPosition {
  /** Epoch ms: every change stamped before it is reflected in what the client holds. */
  since: number;
  /** Inside a multi-page pass: the last change key already answered; '' otherwise. */
  after: string;
  /** Inside a multi-page pass: the token the pass ends with (epoch ms); 0 otherwise. */
  passEnd: number;
}

const PURPOSE = 'tasks-sync/1';
const SHAPE = { t: 'number', k: 'string', r: 'number' } as const;

export function encodeSyncToken(userId: string, position: FeedPosition): string {
  return sealToken(PURPOSE, userId, SHAPE, { t: position.since, k: position.after, r: position.passEnd });
}

export function decodeSyncToken(userId: string, token: string, field = 'since'): FeedPosition {
  const fields = openToken(PURPOSE, userId, SHAPE, token);
  if (!fields || fields.t < 0 || fields.r < 0 || (fields.k === '') !== (fields.r === 0)) {
    throw new ValidationError('Invalid sync token', [{ field, message: 'Not a sync token from this API for this user' }]);
  }
  return { since: fields.t, after: fields.k, passEnd: fields.r };
}
