/**
 * The API Gateway emulator of the local runtime: an HTTP API (payload 2.0,
 * JWT authorizer, CORS) and a WebSocket API (REQUEST authorizer, routes,
 * timeouts) with its `@connections` management API. bin/local.ts composes them.
 */
export { startHttpApi, HTTP_API_MAX_PAYLOAD_BYTES, type HttpApi, type HttpApiOptions } from './http/http-api.js';
export type { CorsOptions } from './http/cors.js';
export type { RouteDefinition } from './http/route-table.js';
export type { ThrottleOptions } from './http/throttle.js';
export {
  startWebSocketApi,
  type WebSocketApi,
  type WebSocketApiOptions,
  type WebSocketApiStats,
  type WebSocketAuthorizerConfig,
} from './websocket/websocket-api.js';
export type {
  AuthorizerContext,
  WebSocketAuthorizerEvent,
  WebSocketConnectEvent,
  WebSocketDisconnectEvent,
  WebSocketMessageEvent,
} from './websocket/event-builders.js';
export type { ManagementStats } from './websocket/management-api.js';
export { gatewayLogger, type Invoke, type JwtVerifier } from './shared/types.js';
export { consoleLogger, silentLogger, type LocalLogger } from '../shared/logger.js';
