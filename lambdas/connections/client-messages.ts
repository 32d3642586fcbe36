// zod/mini: the same checks as `zod` at ~20 KB of bundle instead of ~450 KB.
import * as z from 'zod/mini';
import type { ServerFrame } from '../contract.js';
import { authorizedUserId, type WebSocketEvent, type WebSocketResult } from './websocket-event.js';

const clientMessageSchema = z.object({ action: z.enum(['hello', 'ping']) });

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

/** The frame that answers one client message (DESIGN.md, WebSocket messages). */
export function answerClientMessage(event: WebSocketEvent): ServerFrame {
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
  if (parsed.data.action === 'ping') return { type: 'PONG' };
  const userId = authorizedUserId(event);
  if (!userId) return badRequest('Connection has no authorized user');
  return { type: 'AUTH_SUCCESS', userId, connectionId: event.requestContext.connectionId };
}

/**
 * `$default` with a route response: API Gateway sends the returned body to
 * the client as one frame, and the connection stays open whatever it says.
 */
export async function handleDefaultRoute(event: WebSocketEvent): Promise<WebSocketResult> {
  return { statusCode: 200, body: JSON.stringify(answerClientMessage(event)) };
}
