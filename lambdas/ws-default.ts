import { readEnv, readRetentionSeconds } from './env.js';
import { handleDefaultRoute, type DefaultRouteDeps } from './connections/client-messages.js';
import { createConnectionStore } from './connections/connection-store.js';
import { createManagementClient, createNotifier } from './connections/notifier.js';
import type { WebSocketEvent } from './connections/websocket-event.js';
import { createDocumentClient } from './shared/aws-clients.js';
import { createLogger } from './shared/logger.js';
import { createChangeLog } from './tasks/change-log.js';

const env = readEnv(['changesTable', 'connectionsTable', 'wsManagementEndpoint']);
const retentionSeconds = readRetentionSeconds();
const logger = createLogger('ws-default');
const client = createDocumentClient();
const deps: DefaultRouteDeps = {
  heartbeat: {
    changeLog: createChangeLog(client, { tableName: env.changesTable, retentionSeconds }),
    retentionSeconds,
    onError: (error) => logger.warn('Could not read the change feed for a heartbeat', { error: error as Error }),
  },
  connections: createConnectionStore({ client, tableName: env.connectionsTable }),
  notifier: createNotifier(createManagementClient(env.wsManagementEndpoint)),
  onError: (message, error) => logger.warn(message, { error: error as Error }),
};

/** hello and ping; a ping with `since` reads the change feed to answer `behind`; a message after the token's expiry closes the connection. */
export async function handler(event: WebSocketEvent) {
  return handleDefaultRoute(event, deps);
}
