import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
  type ApiGatewayManagementApiClientConfig,
} from '@aws-sdk/client-apigatewaymanagementapi';

/**
 * - `delivered`: API Gateway accepted the frame.
 * - `gone`: 410 GoneException, the connection no longer exists; its row should go.
 * - `rejected`: 413 PayloadTooLargeException; retrying the same frame cannot help.
 */
export type PostOutcome = 'delivered' | 'gone' | 'rejected';

/** A post that still failed after the SDK's retries (throttling, 5xx, network). */
export class PostFailedError extends Error {
  override name = 'PostFailedError';
}

export interface Notifier {
  post(connectionId: string, data: string): Promise<PostOutcome>;
  /**
   * Closes the connection (DELETE @connections; the client sees close code
   * 1000, which API Gateway does not let the caller choose). `gone` when it
   * was already closed.
   */
  close(connectionId: string): Promise<'closed' | 'gone'>;
}

/**
 * The `@connections` client. `endpoint` is
 * `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}` on AWS and the
 * WebSocket emulator locally. The SDK's standard retry strategy retries
 * throttling (429 LimitExceededException) and 5xx with backoff; three attempts
 * keep a stuck connection from eating the broadcaster's 30 s. `overrides` is
 * for tests (e.g. a fake request handler); the handler passes none.
 */
export function createManagementClient(
  endpoint: string,
  overrides: Partial<ApiGatewayManagementApiClientConfig> = {},
): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint,
    maxAttempts: 3,
    // throwOnRequestTimeout: otherwise the SDK only logs when requestTimeout passes and keeps waiting.
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true },
    ...overrides,
  });
}

export function createNotifier(client: ApiGatewayManagementApiClient): Notifier {
  return {
    async post(connectionId, data) {
      try {
        await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
        return 'delivered';
      } catch (err) {
        // SDK errors are told apart by name, not by status code.
        const name = (err as { name?: unknown }).name;
        if (name === 'GoneException') return 'gone';
        if (name === 'PayloadTooLargeException') return 'rejected';
        throw new PostFailedError(`Post to ${connectionId} failed`, { cause: err });
      }
    },
    async close(connectionId) {
      try {
        await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
        return 'closed';
      } catch (err) {
        if ((err as { name?: unknown }).name === 'GoneException') return 'gone';
        throw new PostFailedError(`Closing ${connectionId} failed`, { cause: err });
      }
    },
  };
}
