import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { readEnv } from './env.js';
import { createConnectionStore } from './connections/connection-store.js';
import { createManagementClient, createNotifier } from './connections/notifier.js';
import { createPresenceHandler } from './connections/presence.js';
import { createDocumentClient } from './shared/aws-clients.js';
import { createLogger } from './shared/logger.js';

const env = readEnv(['connectionsTable', 'wsManagementEndpoint']);
const logger = createLogger('presence');
const onConnectionsChanged = createPresenceHandler({
  connections: createConnectionStore({ client: createDocumentClient(), tableName: env.connectionsTable }),
  notifier: createNotifier(createManagementClient(env.wsManagementEndpoint)),
  logger,
});

/** The connections table's stream: each user named in the batch gets their device count. */
export async function handler(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
  logger.addContext(context);
  return onConnectionsChanged(event);
}
