import type { Context } from 'aws-lambda';
import { readEnv } from './env.js';
import { createConnectionStore } from './connections/connection-store.js';
import { createConnectHandler } from './connections/lifecycle.js';
import type { WebSocketEvent } from './connections/websocket-event.js';
import { createDocumentClient } from './shared/aws-clients.js';
import { createLogger } from './shared/logger.js';

const env = readEnv(['connectionsTable']);
const logger = createLogger('ws-connect');
const onConnect = createConnectHandler({
  store: createConnectionStore({ client: createDocumentClient(), tableName: env.connectionsTable }),
  logger,
});

export async function handler(event: WebSocketEvent, context: Context) {
  logger.addContext(context);
  return onConnect(event);
}
