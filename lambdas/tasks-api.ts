import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { readEnv } from './env.js';
import { createDocumentClient } from './shared/aws-clients.js';
import { createLogger } from './shared/logger.js';
import { createTasksApi } from './tasks/api.js';
import { createDynamoTaskStore } from './tasks/task-store.js';

const env = readEnv(['tasksTable']);
const logger = createLogger('tasks-api');
const api = createTasksApi({ store: createDynamoTaskStore(createDocumentClient(), env.tasksTable), logger });

/** Task routes of the HTTP API (payload format 2.0, JWT authorizer); see lambdas/tasks/. */
export async function handler(
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context?: Context,
): Promise<APIGatewayProxyStructuredResultV2> {
  if (context) logger.addContext(context);
  return api(event);
}
