import type {
  APIGatewayProxyEventHeaders,
  APIGatewayProxyEventMultiValueHeaders,
  APIGatewayProxyWebsocketEventV2WithRequestContext,
} from 'aws-lambda';

/**
 * What API Gateway passes to every route of a connection that a Lambda
 * REQUEST authorizer allowed: the authorizer's `context` plus `principalId`.
 */
export interface WebSocketAuthorizerContext {
  principalId?: string;
  userId?: string;
  /** Epoch seconds when the connection's token expires (a string on AWS). */
  tokenExpiresAt?: string | number;
  integrationLatency?: number;
}

/**
 * `requestContext` of a WebSocket Lambda proxy event. Unlike
 * APIGatewayEventWebsocketRequestContextV2, `messageId` is only sent with
 * MESSAGE events, and `$disconnect` adds the close code and reason.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html
 */
export interface WebSocketRequestContext {
  routeKey: string;
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  messageId?: string;
  extendedRequestId: string;
  requestTime: string;
  messageDirection: 'IN';
  stage: string;
  connectedAt: number;
  requestTimeEpoch: number;
  identity: { sourceIp: string; userAgent?: string };
  requestId: string;
  domainName: string;
  connectionId: string;
  apiId: string;
  authorizer?: WebSocketAuthorizerContext;
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

/** A `$connect`, `$disconnect` or `$default` event of the WebSocket API (Lambda proxy integration). */
export type WebSocketEvent = APIGatewayProxyWebsocketEventV2WithRequestContext<WebSocketRequestContext> & {
  headers?: APIGatewayProxyEventHeaders;
  multiValueHeaders?: APIGatewayProxyEventMultiValueHeaders;
};

/** The route's answer. On `$connect` a non-2xx status refuses the handshake. */
export interface WebSocketResult {
  statusCode: number;
  body?: string;
}

/** The connection's user as the authorizer established it; never a value the client sent. */
export function authorizedUserId(event: WebSocketEvent): string | undefined {
  const authorizer = event.requestContext.authorizer;
  return authorizer?.userId || authorizer?.principalId || undefined;
}

/**
 * When the token that opened the connection expires, in epoch seconds;
 * undefined when the authorizer did not say (then nothing is enforced).
 */
export function tokenExpiresAt(event: WebSocketEvent): number | undefined {
  const raw = event.requestContext.authorizer?.tokenExpiresAt;
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** Whether the connection's token has expired at `nowMs` (RFC 7519: not accepted on or after `exp`). */
export function tokenExpired(event: WebSocketEvent, nowMs: number): boolean {
  const exp = tokenExpiresAt(event);
  return exp !== undefined && nowMs >= exp * 1000;
}
