// zod/mini: the same checks as `zod` at ~20 KB of bundle instead of ~450 KB.
import * as z from 'zod/mini';
import type { ServerFrame } from '../contract.js';
import { entryRange, isExpired } from '../tasks/change-feed.js';
import type { ChangeLog } from '../tasks/change-log.js';
import { decodeSyncToken, type FeedPosition } from '../tasks/sync-token.js';
import type { ConnectionStore } from './connection-store.js';
import type { Notifier } from './notifier.js';
import { authorizedUserId, tokenExpired, type WebSocketEvent, type WebSocketResult } from './websocket-event.js';

const clientMessageSchema = z.object({ action: z.enum(['hello', 'ping']), since: z.optional(z.string()) });

/** What `ping` with `since` needs: the change log and how long it is kept. */
export interface HeartbeatDeps {
  changeLog: Pick<ChangeLog, 'hasAfter'>;
  retentionSeconds: number;
  now?: () => Date;
  /** Told when the feed could not be read (the answer is then `behind: true`). */
  onError?: (error: unknown) => void;
}

/** What `$default` needs besides the message: the heartbeat's feed, the device count, and a way to close. */
export interface DefaultRouteDeps {
  heartbeat?: HeartbeatDeps;
  /** `hello`: AUTH_SUCCESS `devices` counts the user's live connections. */
  connections?: Pick<ConnectionStore, 'listConnectionIds'>;
  /** Sends the TOKEN_EXPIRED frame and closes a connection whose token expired. */
  notifier?: Pick<Notifier, 'post' | 'close'>;
  /** Epoch ms; default Date.now. */
  now?: () => number;
  /** Told when the device count could not be read (AUTH_SUCCESS then says 1) or a close failed. */
  onError?: (message: string, error: unknown) => void;
}

export const TOKEN_EXPIRED_MESSAGE = 'The token this connection was opened with has expired; connect again with a fresh one';

function badRequest(message: string): ServerFrame {
  return { type: 'ERROR', code: 'BAD_REQUEST', message };
}

function parseBody(event: WebSocketEvent): unknown {
  const raw = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (raw === undefined || raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** The frame that answers one client message (docs/design.md, WebSocket messages). */
export async function answerClientMessage(event: WebSocketEvent, deps: DefaultRouteDeps = {}): Promise<ServerFrame> {
  const { heartbeat } = deps;
  const body = parseBody(event);
  if (body === undefined) return badRequest('Message must be a JSON object with an "action"');
  const parsed = clientMessageSchema.safeParse(body);
  if (!parsed.success) {
    const action = typeof body === 'object' && body !== null ? (body as { action?: unknown }).action : undefined;
    return badRequest(
      action === undefined
        ? 'Message must be a JSON object with an "action"'
        : `Unknown action ${JSON.stringify(action)}; expected "hello" or "ping"`,
    );
  }
  const userId = authorizedUserId(event);
  if (parsed.data.action === 'ping') {
    const { since } = parsed.data;
    if (since === undefined) return { type: 'PONG' };
    if (!userId) return badRequest('Connection has no authorized user');
    if (!heartbeat) return badRequest('"since" is not supported here');
    return { type: 'PONG', behind: await isBehind(userId, since, heartbeat) };
  }
  if (!userId) return badRequest('Connection has no authorized user');
  return {
    type: 'AUTH_SUCCESS',
    userId,
    connectionId: event.requestContext.connectionId,
    devices: await countDevices(userId, deps),
  };
}

/**
 * The user's live connections. This one is open (its `$connect` stored the
 * row before the handshake completed), so the count is at least 1, which is
 * also the answer when the table cannot be read: the PRESENCE frames correct it.
 */
async function countDevices(userId: string, { connections, onError }: DefaultRouteDeps): Promise<number> {
  if (!connections) return 1;
  try {
    return Math.max(1, (await connections.listConnectionIds(userId)).length);
  } catch (error) {
    onError?.('Could not count the connections for AUTH_SUCCESS', error);
    return 1;
  }
}

/**
 * Whether the user has changes after the token. A token past the retention
 * is behind (the pull answers 410 and the client lists again); when the
 * feed cannot be read the answer is behind too: a pull costs one request,
 * a wrong "up to date" leaves the client diverged until the next heartbeat.
 */
async function isBehind(userId: string, since: string, { changeLog, retentionSeconds, now, onError }: HeartbeatDeps) {
  let position: FeedPosition;
  try {
    position = decodeSyncToken(userId, since);
  } catch {
    throw new BadSinceError();
  }
  if (isExpired(position, (now?.() ?? new Date()).getTime(), retentionSeconds)) return true;
  try {
    return await changeLog.hasAfter(userId, entryRange(position));
  } catch (error) {
    onError?.(error);
    return true;
  }
}

class BadSinceError extends Error {
  override name = 'BadSinceError';
}

/**
 * `$default` with a route response: API Gateway sends the returned body to
 * the client as one frame, and the connection stays open whatever it says.
 * Except after the connection's token expired: whatever the message, the
 * client gets ERROR TOKEN_EXPIRED and the connection is closed, so a socket
 * outlives its token by at most one heartbeat (the broadcaster has stopped
 * posting to it already). The frame is posted before the close because a
 * route response would only be sent after the handler returns, to a
 * connection that is gone by then.
 */
export async function handleDefaultRoute(event: WebSocketEvent, deps: DefaultRouteDeps = {}): Promise<WebSocketResult> {
  if (tokenExpired(event, deps.now?.() ?? Date.now())) {
    const frame: ServerFrame = { type: 'ERROR', code: 'TOKEN_EXPIRED', message: TOKEN_EXPIRED_MESSAGE };
    const { notifier } = deps;
    if (!notifier) return { statusCode: 200, body: JSON.stringify(frame) };
    const { connectionId } = event.requestContext;
    try {
      if ((await notifier.post(connectionId, JSON.stringify(frame))) !== 'gone') await notifier.close(connectionId);
    } catch (error) {
      // Not closed now: the next message tries again, and the broadcaster no longer posts to it.
      deps.onError?.('Could not close a connection whose token expired', error);
    }
    return { statusCode: 200 };
  }
  let frame: ServerFrame;
  try {
    frame = await answerClientMessage(event, deps);
  } catch (error) {
    if (!(error instanceof BadSinceError)) throw error;
    frame = badRequest('"since" must be a syncToken this API issued to this user');
  }
  return { statusCode: 200, body: JSON.stringify(frame) };
}
