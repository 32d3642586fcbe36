import { createHash } from 'node:crypto';
import { ValidationError } from './errors.js';
import { normalizeTaskId } from './schemas.js';

/**
 * List cursors: base64url of `{"v":1,"u":<user tag>,"k":<last task id>}`.
 *
 * There is no signing secret in this design, so the cursor is not tamper-proof;
 * it does not need to be. The user tag binds it to its owner (someone else's
 * cursor is refused), and the only other value, the task id, is re-validated
 * and becomes the ExclusiveStartKey of a Query on the caller's own partition,
 * so a forged cursor can at most skip ahead in the caller's own tasks.
 */

const CURSOR_VERSION = 1;
// Far longer than any cursor we issue (~90 chars); refuses junk before decoding it.
const MAX_CURSOR_LENGTH = 256;

/** Not the user id itself: cursors end up in URLs and logs. */
function userTag(userId: string): string {
  return createHash('sha256').update(`tasks-cursor\0${userId}`).digest('base64url').slice(0, 22);
}

export function encodeCursor(userId: string, lastTaskId: string): string {
  const payload = { v: CURSOR_VERSION, u: userTag(userId), k: lastTaskId };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/** The task id to resume after, if `cursor` is one we issued to `userId`; else a 400. */
export function decodeCursor(userId: string, cursor: string): string {
  const invalid = () =>
    new ValidationError('Invalid cursor', [{ field: 'cursor', message: 'Not a cursor from this API for this user' }]);
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  // Node's decoder ignores a trailing partial character, so `<cursor>A` would decode
  // like `<cursor>`; only the exact string we issued names the cursor.
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.toString('base64url') !== cursor) throw invalid();
  let payload: unknown;
  try {
    payload = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof payload !== 'object' || payload === null) throw invalid();
  const { v, u, k, ...rest } = payload as Record<string, unknown>;
  if (v !== CURSOR_VERSION || u !== userTag(userId) || typeof k !== 'string' || Object.keys(rest).length > 0) {
    throw invalid();
  }
  const taskId = normalizeTaskId(k);
  if (taskId === undefined || taskId !== k) throw invalid();
  return taskId;
}
