// zod/mini: the same checks as `zod` at ~20 KB of bundle instead of ~450 KB.
import * as z from 'zod/mini';
import type { ServerFrame } from '../contract.js';
import { entryRange, isExpired } from '../tasks/change-feed.js';
import type { ChangeLog } from '../tasks/change-log.js';
import { decodeSyncToken, type FeedPosition } from '../tasks/sync-token.js';
import { authorizedUserId, type WebSocketEvent, type WebSocketResult } from './websocket-event.js';

const clientMessageSchema = z.object({ action: z.enum(['hello', 'ping']), since: z.optional(z.string()) });

/** What `ping` with `since` needs: the change log and how long it is kept. */
export interface HeartbeatDeps {
  changeLog: Pick<ChangeLog, 'hasAfter'>;
  retentionSeconds: number;
  now?: () => Date;
  /** Told when the feed could not be read (the answer is then `behind: true`). */
  onError?: (error: unknown) => void;
}

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
export async function answerClientMessage(event: WebSocketEvent, heartbeat?: HeartbeatDeps): Promise<ServerFrame> {
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
  return { type: 'AUTH_SUCCESS', userId, connectionId: event.requestContext.connectionId };
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
 */
export async function handleDefaultRoute(event: WebSocketEvent, heartbeat?: HeartbeatDeps): Promise<WebSocketResult> {
  let frame: ServerFrame;
  try {
    frame = await answerClientMessage(event, heartbeat);
  } catch (error) {
    if (!(error instanceof BadSinceError)) throw error;
    frame = badRequest('"since" must be a syncToken this API issued to this user');
  }
  return { statusCode: 200, body: JSON.stringify(frame) };
}
