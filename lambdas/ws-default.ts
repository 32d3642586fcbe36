import { readEnv, readRetentionSeconds } from './env.js';
import { handleDefaultRoute, type HeartbeatDeps } from './connections/client-messages.js';
import type { WebSocketEvent } from './connections/websocket-event.js';
import { createDocumentClient } from './shared/aws-clients.js';
import { createLogger } from './shared/logger.js';
import { createChangeLog } from './tasks/change-log.js';

const env = readEnv(['changesTable']);
const retentionSeconds = readRetentionSeconds();
const logger = createLogger('ws-default');
const heartbeat: HeartbeatDeps = {
  changeLog: createChangeLog(createDocumentClient(), { tableName: env.changesTable, retentionSeconds }),
  retentionSeconds,
  onError: (error) => logger.warn('Could not read the change feed for a heartbeat', { error: error as Error }),
};

/** hello and ping; a ping with `since` reads the change feed to answer `behind`. */
export async function handler(event: WebSocketEvent) {
  return handleDefaultRoute(event, heartbeat);
}
