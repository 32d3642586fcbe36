import { METRICS } from '../lib/definitions.js';
import type { Context } from 'aws-lambda';
import { createConnectAuthorizer, type WebSocketAuthorizerEvent } from './auth/connect-authorizer.js';
import { verifierFromEnv } from './auth/jwt-verifier.js';
import { createLogger } from './shared/logger.js';
import { createMetrics, withMetrics } from './shared/metrics.js';

const logger = createLogger('ws-authorizer');
const metrics = createMetrics(METRICS.services.wsAuthorizer);
const authorize = createConnectAuthorizer({ verifier: verifierFromEnv(), logger, metrics });

export async function handler(event: WebSocketAuthorizerEvent, context: Context) {
  logger.addContext(context);
  return withMetrics(metrics, () => authorize(event));
}
