import type { Logger } from '@aws-lambda-powertools/logger';
import { newConnectionRow, type ConnectionStore } from './connection-store.js';
import { authorizedUserId, tokenExpiresAt, type WebSocketEvent, type WebSocketResult } from './websocket-event.js';

export interface LifecycleDeps {
  store: Pick<ConnectionStore, 'put' | 'delete'>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Default: Date.now. */
  now?: () => number;
}

/**
 * `$connect`: records the connection under the authorizer's user, with the
 * expiry of the token it was opened with. The
 * authorizer already refused bad tokens; a missing user here means a
 * misconfigured route, and the handshake is refused rather than stored
 * under no one.
 */
export function createConnectHandler({ store, logger, now = () => Date.now() }: LifecycleDeps) {
  return async function onConnect(event: WebSocketEvent): Promise<WebSocketResult> {
    const { connectionId } = event.requestContext;
    const userId = authorizedUserId(event);
    if (!userId) {
      logger.warn('Connect without an authorized user', { connectionId });
      return { statusCode: 401, body: 'Unauthorized' };
    }
    try {
      await store.put(newConnectionRow(userId, connectionId, now(), tokenExpiresAt(event)));
    } catch (err) {
      logger.error('Could not store the connection', { connectionId, error: err as Error });
      return { statusCode: 500, body: 'Internal error' };
    }
    logger.info('Connected', { userId, connectionId });
    return { statusCode: 200 };
  };
}

/**
 * `$disconnect`: removes the row. API Gateway sends it on a best-effort
 * basis and ignores the answer; rows it misses expire by TTL or are removed
 * by the broadcaster on 410 Gone.
 */
export function createDisconnectHandler({ store, logger }: LifecycleDeps) {
  return async function onDisconnect(event: WebSocketEvent): Promise<WebSocketResult> {
    const { connectionId, disconnectStatusCode, disconnectReason } = event.requestContext;
    const userId = authorizedUserId(event);
    if (!userId) {
      logger.warn('Disconnect without an authorized user', { connectionId });
      return { statusCode: 200 };
    }
    try {
      await store.delete(userId, connectionId);
    } catch (err) {
      logger.error('Could not delete the connection', { connectionId, error: err as Error });
      return { statusCode: 500, body: 'Internal error' };
    }
    logger.info('Disconnected', { userId, connectionId, disconnectStatusCode, disconnectReason });
    return { statusCode: 200 };
  };
}
