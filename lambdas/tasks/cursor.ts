import { ValidationError } from './errors.js';
import { openToken, sealToken } from './opaque-token.js';
import { normalizeTaskId } from './schemas.js';

/**
 * List cursors (opaque-token.ts): the last task id of the page, and when the
 * listing's first page was requested, so that the last page's syncToken
 * covers every change committed during the listing (change-feed.ts).
 * The task id is re-validated and becomes the ExclusiveStartKey of a Query
 * on the caller's own partition.
 */

const PURPOSE = 'tasks-cursor/2';
const SHAPE = { k: 'string', s: 'number' } as const;

export interface ListPosition {
  /** Resume after this task id. */
  afterTaskId: string;
  /** Epoch ms when the listing's first page was requested. */
  listStartedAt: number;
}

export function encodeCursor(userId: string, position: ListPosition): string {
  return sealToken(PURPOSE, userId, SHAPE, { k: position.afterTaskId, s: position.listStartedAt });
}

/** Where to resume, if `cursor` is one we issued to `userId`; else a 400. */
export function decodeCursor(userId: string, cursor: string): ListPosition {
  const fields = openToken(PURPOSE, userId, SHAPE, cursor);
  const taskId = fields && normalizeTaskId(fields.k);
  if (!fields || taskId === undefined || taskId !== fields.k) {
    throw new ValidationError('Invalid cursor', [{ field: 'cursor', message: 'Not a cursor from this API for this user' }]);
  }
  return { afterTaskId: taskId, listStartedAt: fields.s };
}
