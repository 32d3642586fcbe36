import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from '../shared/listen.js';
import { accessKeyIdOf } from './credentials.js';
import { dynamoDbChecks } from './dynamodb-operations.js';
import { authorize, type Denial, type PermissionSource, type Principal } from './policy.js';

/** Who owns an access key id (a CredentialRegistry, or a worker's own key only). */
export interface Signers {
  principalOf(accessKeyId: string): Principal | undefined;
}

export interface IamStats {
  /** Requests checked and passed on. */
  allowed: number;
  /** Requests refused with AccessDeniedException. */
  denied: number;
  /** Requests refused for a missing or unknown access key. */
  unauthenticated: number;
  /** The latest refusals, newest last (at most 20). */
  recentDenials: Denial[];
}

export interface IamRecorder {
  stats(): IamStats;
  allowed(): void;
  denied(denial: Denial): void;
  unauthenticated(): void;
}

/** Counters shared by the DynamoDB proxy and the `@connections` check; `onDenied` sees every refusal (npm start logs it). */
export function createIamRecorder(onDenied: (denial: Denial) => void = () => undefined): IamRecorder {
  const counters = { allowed: 0, denied: 0, unauthenticated: 0 };
  const recent: Denial[] = [];
  return {
    stats: () => ({ ...counters, recentDenials: [...recent] }),
    allowed: () => void counters.allowed++,
    unauthenticated: () => void counters.unauthenticated++,
    denied(denial) {
      counters.denied++;
      recent.push(denial);
      if (recent.length > 20) recent.shift();
      onDenied(denial);
    },
  };
}

export interface DynamoDbProxyOptions {
  /** DynamoDB Local, e.g. `http://127.0.0.1:8000`. */
  upstream: string;
  credentials: Signers;
  permissionsOf: PermissionSource;
  recorder: IamRecorder;
  /** Default 0: a free port. */
  port?: number;
}

export interface DynamoDbProxy {
  /** `http://127.0.0.1:<port>`: the DynamoDB (and DynamoDB Streams) endpoint the functions and the poller use. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * An IAM check in front of DynamoDB Local. npm start runs one inside every
 * worker process (local/lambda/bootstrap.ts), outside the function's own
 * code, so a function's DynamoDB calls never wait for the emulator's busy
 * event loop, and one in the emulator's process for the stream poller.
 * Each request's signer comes from
 * the SigV4 `Credential=<access key id>/...`, its action from `X-Amz-Target`
 * and its resources from the JSON body (TableName, IndexName, RequestItems,
 * TransactItems, StreamArn, the stream ARN inside a shard iterator); a call
 * the signer's definition does not allow gets DynamoDB's 400
 * AccessDeniedException, anything else is passed on byte for byte. When
 * DynamoDB Local is down or hangs, the client sees exactly that (a reset
 * connection, or no answer until its own timeout).
 */
export async function startDynamoDbProxy(options: DynamoDbProxyOptions): Promise<DynamoDbProxy> {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const { credentials, permissionsOf, recorder } = options;

  const reject = (res: ServerResponse, type: string, message: string) => {
    const body = JSON.stringify({ __type: `com.amazon.coral.service#${type}`, Message: message });
    res.writeHead(400, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(body);
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const upstreamReq = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        agent,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
        upstreamRes.on('error', () => res.destroy());
      },
    );
    // DynamoDB Local down or restarting: the client must see a failed connection, as without the proxy.
    upstreamReq.on('error', () => res.destroy());
    // The client gave up (its request timeout): give up upstream as well.
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    upstreamReq.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const keyId = accessKeyIdOf(req.headers.authorization);
      if (!keyId) {
        recorder.unauthenticated();
        return reject(res, 'MissingAuthenticationTokenException', 'Request is missing Authentication Token');
      }
      const principal = credentials.principalOf(keyId);
      if (!principal) {
        recorder.unauthenticated();
        return reject(res, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      }
      if (principal.kind !== 'admin') {
        const target = String(req.headers['x-amz-target'] ?? '');
        let parsed: unknown;
        try {
          parsed = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
        } catch {
          // Not JSON: DynamoDB Local answers SerializationException; nothing is read or written.
          return forward(req, res, body);
        }
        const denial = authorize(permissionsOf, principal, dynamoDbChecks(target, parsed));
        if (denial) {
          recorder.denied(denial);
          return reject(res, 'AccessDeniedException', denial.message);
        }
        recorder.allowed();
      }
      forward(req, res, body);
    });
  });
  server.keepAliveTimeout = 60_000;
  const port = await listen(server, options.port ?? 0, '127.0.0.1');
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
