import { METRICS } from '../lib/definitions.js';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { readEnv } from './env.js';
import { createConnectionStore } from './connections/connection-store.js';
import { createManagementClient, createNotifier } from './connections/notifier.js';
import { createBroadcaster } from './events/broadcaster.js';
import { createDocumentClient } from './shared/aws-clients.js';
import { createLogger } from './shared/logger.js';
import { createMetrics, withMetrics } from './shared/metrics.js';

const env = readEnv(['connectionsTable', 'wsManagementEndpoint']);
const logger = createLogger('broadcaster');
const metrics = createMetrics(METRICS.services.broadcaster);
const broadcast = createBroadcaster({
  connections: createConnectionStore({ client: createDocumentClient(), tableName: env.connectionsTable }),
  notifier: createNotifier(createManagementClient(env.wsManagementEndpoint)),
  logger,
  metrics,
});

export async function handler(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
  logger.addContext(context);
  return withMetrics(metrics, () => broadcast(event));
}
