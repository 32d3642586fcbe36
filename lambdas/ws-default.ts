import { handleDefaultRoute } from './connections/client-messages.js';
import type { WebSocketEvent } from './connections/websocket-event.js';

// No logger, no clients: answering hello and ping needs nothing but the event.
export async function handler(event: WebSocketEvent) {
  return handleDefaultRoute(event);
}
