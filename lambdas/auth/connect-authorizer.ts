import type { APIGatewayAuthorizerWithContextResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import { METRICS, WS_AUTHORIZER } from '../../lib/definitions.js';
import { MetricUnit, noMetrics, type MetricsRecorder } from '../shared/metrics.js';
import type { WebSocketRequestContext } from '../connections/websocket-event.js';
import { InvalidTokenError, type JwtVerifier } from './jwt-verifier.js';

/**
 * `event.requestContext` of a WebSocket `$connect` REQUEST authorizer: the
 * CONNECT event's context before any authorizer ran. It is not the REST API
 * context that @types/aws-lambda gives APIGatewayRequestAuthorizerEvent (no
 * httpMethod, resource or path).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
 */
export type WebSocketConnectRequestContext = Omit<
  WebSocketRequestContext,
  'routeKey' | 'eventType' | 'messageId' | 'authorizer' | 'disconnectStatusCode' | 'disconnectReason'
> & { routeKey: '$connect'; eventType: 'CONNECT' };

/** The input of a WebSocket REQUEST authorizer, exactly as API Gateway sends it. */
export type WebSocketAuthorizerEvent = Pick<
  APIGatewayRequestAuthorizerEvent,
  | 'type'
  | 'methodArn'
  | 'headers'
  | 'multiValueHeaders'
  | 'queryStringParameters'
  | 'multiValueQueryStringParameters'
  | 'stageVariables'
> & { requestContext: WebSocketConnectRequestContext };

/**
 * What the WebSocket routes later read as `requestContext.authorizer.*`:
 * the user, and when the token that opened the connection expires (epoch
 * seconds, as a string: API Gateway passes context values to the routes as
 * strings). A connection must not outlive its token (docs/design.md, "Auth").
 */
export interface ConnectAuthorizerContext {
  [key: string]: string;
  userId: string;
  tokenExpiresAt: string;
}

export type WebSocketAuthorizerResult = APIGatewayAuthorizerWithContextResult<ConnectAuthorizerContext>;

/** API Gateway answers 401 when a Lambda authorizer fails with exactly this message. */
export const UNAUTHORIZED_MESSAGE = 'Unauthorized';

export function allowPolicy(userId: string, tokenExpiresAt: number, methodArn: string): WebSocketAuthorizerResult {
  return {
    principalId: userId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn }],
    },
    context: { userId, tokenExpiresAt: String(tokenExpiresAt) },
  };
}

export interface ConnectAuthorizerDeps {
  verifier: JwtVerifier;
  logger: Pick<Logger, 'info' | 'error'>;
  /** Default: records nothing. */
  metrics?: MetricsRecorder;
}

/**
 * The `$connect` REQUEST authorizer: the `token` query parameter must be a
 * valid JWT; its `sub` becomes the connection's user. A bad token is refused
 * with `Error('Unauthorized')` (API Gateway: 401). A JWKS outage is rethrown
 * as is (API Gateway: 500), so it is not mistaken for a client error.
 * The token itself is never logged.
 */
export function createConnectAuthorizer({ verifier, logger, metrics = noMetrics }: ConnectAuthorizerDeps) {
  const refuse = (reason: string): Error => {
    logger.info('Connection refused', { reason });
    metrics.addMetric(METRICS.authorizerRefusals, MetricUnit.Count, 1);
    return new Error(UNAUTHORIZED_MESSAGE);
  };
  return async function authorizeConnect(event: WebSocketAuthorizerEvent): Promise<WebSocketAuthorizerResult> {
    const token = event.queryStringParameters?.[WS_AUTHORIZER.queryParameter];
    if (!token) throw refuse('No token');
    try {
      const { sub, claims } = await verifier.verify(token);
      // The verifier refuses a token without a numeric exp, so this is always a number.
      return allowPolicy(sub, Number(claims.exp), event.methodArn);
    } catch (err) {
      if (err instanceof InvalidTokenError) throw refuse(err.message);
      logger.error('Authorizer failed', { error: err as Error });
      throw err;
    }
  };
}
