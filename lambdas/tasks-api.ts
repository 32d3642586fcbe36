import { METRICS } from '../lib/definitions.js';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { readEnv, readRetentionSeconds } from './env.js';
import { createDocumentClient } from './shared/aws-clients.js';
import { createLogger } from './shared/logger.js';
import { createMetrics, withMetrics } from './shared/metrics.js';
import { createTasksApi } from './tasks/api.js';
import { createChangeLog } from './tasks/change-log.js';
import { createDynamoTaskStore } from './tasks/task-store.js';

const env = readEnv(['tasksTable', 'changesTable']);
const retentionSeconds = readRetentionSeconds();
const logger = createLogger('tasks-api');
const metrics = createMetrics(METRICS.services.tasksApi);
const client = createDocumentClient();
const changeLog = createChangeLog(client, { tableName: env.changesTable, retentionSeconds });
const api = createTasksApi({
  store: createDynamoTaskStore(client, { tableName: env.tasksTable, changeLog, retentionSeconds }),
  changeLog,
  retentionSeconds,
  logger,
  metrics,
});

/** Task routes of the HTTP API (payload format 2.0, JWT authorizer); see lambdas/tasks/. */
export async function handler(
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context?: Context,
): Promise<APIGatewayProxyStructuredResultV2> {
  if (context) logger.addContext(context);
  return withMetrics(metrics, () => api(event));
}
