import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocket } from 'ws';
import { LIMITS } from '../../../lib/definitions.js';
import { newGatewayId } from '../shared/aws-format.js';
import { readBody, sendJson } from '../../shared/http.js';
import type { LocalLogger } from '../../shared/logger.js';
import type { Connection, ConnectionRegistry } from './connection-registry.js';

export interface ManagementStats {
  /** Successful PostToConnection calls. */
  posts: number;
  /** Bytes delivered by those posts. */
  postedBytes: number;
  /** Calls answered 410 GoneException. */
  gone: number;
  gets: number;
  deletes: number;
  /** Posts answered 413 PayloadTooLargeException. */
  tooLarge: number;
  /** Posts failed on purpose by `faults` (429 or 500, frame not delivered). */
  injectedFaults: number;
  /** Posts answered 200 but never delivered on purpose by `faults.postDropRate`. */
  droppedPosts: number;
}

/** Fault injection for fault tests; never set by `npm start` unless asked for on the command line. */
export interface ManagementFaults {
  /** Fraction (0–1) of POSTs answered 429 LimitExceededException or 500 InternalServerErrorException, alternately, without delivering. */
  postErrorRate?: number;
  /**
   * Fraction (0–1) of POSTs answered 200 and never delivered, as a half-dead
   * connection does (TCP still open, the frame lost). Route responses
   * (AUTH_SUCCESS, PONG) do not pass through here and are unaffected.
   */
  postDropRate?: number;
  /** Default: Math.random. */
  random?: () => number;
}

/** One `@connections` call, as the IAM check sees it. */
export interface ManagementRequest {
  method: string;
  connectionId: string;
  stage: string;
  /** The SigV4 `Authorization` header, if any. */
  authorization: string | undefined;
}

/** Why a call is refused: the status, `x-amzn-ErrorType` and message API Gateway answers with. */
export interface ManagementRefusal {
  status: number;
  errorType: string;
  message: string;
}

export interface ManagementApiOptions {
  stage: string;
  registry: ConnectionRegistry;
  /** Closes a connection as DeleteConnection does (its `$disconnect` follows). */
  disconnect(connection: Connection): void;
  /** Default: LIMITS.wsMessageMaxBytes (128 KB), the PostToConnection payload limit. */
  maxPayloadBytes?: number;
  /** Default: none. */
  faults?: ManagementFaults;
  /**
   * IAM check of every call (execute-api:ManageConnections), run before
   * anything else; a refusal is answered as is. Default: none, every call is
   * allowed (unit tests). npm start passes the check of local/iam/.
   */
  authorize?: (request: ManagementRequest) => ManagementRefusal | undefined;
  logger: LocalLogger;
}

export interface ManagementApi {
  /** The connection id when `pathname` is `/<stage>/@connections/<id>`. */
  match(rawPath: string): string | undefined;
  handle(req: IncomingMessage, res: ServerResponse, connectionId: string): Promise<void>;
  stats(): ManagementStats;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The `@connections` API (ApiGatewayManagementApi) on the WebSocket API's own
 * host: POST sends a frame, GET describes, DELETE closes. Errors carry
 * `x-amzn-ErrorType` so the AWS SDK raises GoneException and friends by
 * name. With `authorize`, the signer (SigV4 `Credential=`) must be allowed
 * execute-api:ManageConnections on the call; signatures are not verified.
 */
export function createManagementApi(options: ManagementApiOptions): ManagementApi {
  const { stage, registry, logger } = options;
  const maxPayloadBytes = options.maxPayloadBytes ?? LIMITS.wsMessageMaxBytes;
  const stats: ManagementStats = {
    posts: 0,
    postedBytes: 0,
    gone: 0,
    gets: 0,
    deletes: 0,
    tooLarge: 0,
    injectedFaults: 0,
    droppedPosts: 0,
  };
  const faultRate = options.faults?.postErrorRate ?? 0;
  const dropRate = options.faults?.postDropRate ?? 0;
  const random = options.faults?.random ?? Math.random;

  const fail = (res: ServerResponse, status: number, errorType: string, message: string, requestId: string): void =>
    sendJson(res, status, { message }, { 'x-amzn-ErrorType': errorType, 'x-amzn-RequestId': requestId });

  /** Only an OPEN socket can be reached; a closing or closed one is gone, as on AWS. */
  const live = (connectionId: string): Connection | undefined => {
    const connection = registry.get(connectionId);
    return connection && connection.socket.readyState === WebSocket.OPEN && connection.closeCode === undefined
      ? connection
      : undefined;
  };

  return {
    match(rawPath) {
      const parts = rawPath.split('/');
      if (parts.length !== 4 || parts[0] !== '') return undefined;
      if (decodeSegment(parts[1]!) !== stage || decodeSegment(parts[2]!) !== '@connections') return undefined;
      const id = decodeSegment(parts[3]!);
      return id ? id : undefined;
    },

    async handle(req, res, connectionId) {
      const requestId = newGatewayId();
      const gone = (): void => {
        stats.gone++;
        fail(res, 410, 'GoneException', `Connection ${connectionId} is gone`, requestId);
      };
      const refusal = options.authorize?.({
        method: req.method ?? '',
        connectionId,
        stage,
        authorization: req.headers.authorization,
      });
      if (refusal) {
        req.resume();
        return fail(res, refusal.status, refusal.errorType, refusal.message, requestId);
      }
      switch (req.method) {
        case 'POST': {
          const read = await readBody(req, maxPayloadBytes);
          if (!read.ok) {
            stats.tooLarge++;
            return fail(res, 413, 'PayloadTooLargeException', 'Request entity too large', requestId);
          }
          if (faultRate > 0 && random() < faultRate) {
            // Both are retryable for the SDK: 429 as throttling, 500 as a transient server error.
            stats.injectedFaults++;
            return stats.injectedFaults % 2 === 1
              ? fail(res, 429, 'LimitExceededException', 'Rate exceeded (injected fault)', requestId)
              : fail(res, 500, 'InternalServerErrorException', 'Internal server error (injected fault)', requestId);
          }
          const connection = live(connectionId);
          if (!connection) return gone();
          if (dropRate > 0 && random() < dropRate) stats.droppedPosts++;
          // API Gateway delivers UTF-8 data as a text frame and anything else as binary.
          else connection.socket.send(read.body, { binary: !isUtf8(read.body) });
          stats.posts++;
          stats.postedBytes += read.body.length;
          res.writeHead(200, { 'x-amzn-RequestId': requestId, 'content-length': 0 });
          res.end();
          return;
        }
        case 'GET': {
          req.resume();
          const connection = live(connectionId);
          if (!connection) return gone();
          stats.gets++;
          sendJson(
            res,
            200,
            {
              connectedAt: new Date(connection.connectedAt).toISOString(),
              identity: { sourceIp: connection.identity.sourceIp, userAgent: connection.identity.userAgent },
              lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
            },
            { 'x-amzn-RequestId': requestId },
          );
          return;
        }
        case 'DELETE': {
          req.resume();
          const connection = live(connectionId);
          if (!connection) return gone();
          stats.deletes++;
          options.disconnect(connection);
          res.writeHead(204, { 'x-amzn-RequestId': requestId });
          res.end();
          return;
        }
        default:
          req.resume();
          logger.debug('Unsupported @connections method', { method: req.method });
          return fail(res, 404, 'NotFoundException', 'Not Found', requestId);
      }
    },

    stats: () => ({ ...stats }),
  };
}
