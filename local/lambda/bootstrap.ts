/**
 * The runtime inside one worker process, standing in for Lambda's Node.js
 * runtime interface client: it loads `$LAMBDA_TASK_ROOT/<module>.mjs` named
 * by `_HANDLER` (`index.handler`, as CDK deploys it), reports the init, then
 * runs one invocation at a time as the parent sends them. Built with esbuild
 * by the parent (local/lambda/lambda-runtime.ts); its code is not part of the
 * function's module graph.
 *
 * Before loading the function it starts the function's IAM check in front of
 * DynamoDB Local (local/iam/dynamodb-proxy.ts) and points the SDK at it
 * (AWS_ENDPOINT_URL_DYNAMODB): in this process, so a DynamoDB call crosses
 * no other busy process on its way, but outside the function's code.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { FunctionName, Permission } from '../../lib/definitions.js';
import { ADMIN_ACCESS_KEY_ID } from '../iam/credentials.js';
import { startDynamoDbProxy } from '../iam/dynamodb-proxy.js';
import type { Principal } from '../iam/policy.js';
import {
  MAX_RESPONSE_BYTES,
  type FunctionErrorPayload,
  type ParentMessage,
  type WorkerIam,
  type WorkerMessage,
} from './protocol.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handler = (event: unknown, context: Context, callback?: (error?: unknown, result?: unknown) => void) => any;

const send = (message: WorkerMessage) => process.send?.(message);

function errorPayload(error: unknown, fallbackType = 'Error'): FunctionErrorPayload {
  if (error instanceof Error) {
    return {
      errorType: error.name || error.constructor?.name || fallbackType,
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

let current: number | undefined;

/** Lambda's Node.js runtime ends the environment on an uncaught error; the parent starts a new one. */
function fatal(error: unknown, errorType?: string): void {
  const payload = errorPayload(error);
  if (errorType) payload.errorType = errorType;
  if (current !== undefined) send({ type: 'error', id: current, error: payload });
  else process.stderr.write(`${payload.errorType}: ${payload.errorMessage}\n`);
  process.exitCode = 129;
  // Let the IPC message go out before exiting.
  setImmediate(() => process.exit(129));
}
process.on('uncaughtException', (error) => fatal(error));
process.on('unhandledRejection', (reason) => fatal(reason, 'Runtime.UnhandledPromiseRejection'));
// The parent went away (stopped, or killed with -9): an orphaned environment has nothing to serve.
process.on('disconnect', () => process.exit(0));

/** The first message from the parent: the function's IAM check. */
const configured = new Promise<WorkerIam>((resolve) => {
  const onMessage = (message: ParentMessage) => {
    if (message.type !== 'configure') return;
    process.off('message', onMessage);
    resolve(message.iam);
  };
  process.on('message', onMessage);
});

let permissions: readonly Permission[] = [];
/** Calls the check let through since the last report to the parent (sent with each invocation's outcome). */
let allowed = 0;
const takeAllowed = () => {
  const count = allowed;
  allowed = 0;
  return count;
};

async function startIam(iam: WorkerIam): Promise<void> {
  permissions = iam.permissions;
  const own: Principal = { kind: 'function', fn: process.env.AWS_LAMBDA_FUNCTION_NAME as FunctionName, arn: iam.principalArn };
  const admin: Principal = { kind: 'admin', arn: ADMIN_ACCESS_KEY_ID };
  const proxy = await startDynamoDbProxy({
    upstream: iam.upstream,
    credentials: {
      principalOf: (keyId) => (keyId === iam.accessKeyId ? own : keyId === ADMIN_ACCESS_KEY_ID ? admin : undefined),
    },
    permissionsOf: () => permissions,
    recorder: {
      stats: () => ({ allowed: 0, denied: 0, unauthenticated: 0, recentDenials: [] }),
      allowed: () => void allowed++,
      unauthenticated: () => undefined,
      denied: (denial) => send({ type: 'iam', allowed: takeAllowed(), denial }),
    },
  });
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.endpoint;
  process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = proxy.endpoint;
}

async function init(): Promise<Handler> {
  const [moduleName, exportName] = (process.env._HANDLER ?? 'index.handler').split('.') as [string, string];
  const file = path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), `${moduleName}.mjs`);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = mod[exportName];
  if (typeof handler !== 'function') {
    const error = new Error(`${moduleName}.${exportName} is undefined or not exported`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
  return handler as Handler;
}

function contextFor(message: Extract<ParentMessage, { type: 'invoke' }>): Context {
  const env = process.env;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME ?? '',
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
    invokedFunctionArn: message.invokedFunctionArn,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '',
    awsRequestId: message.requestId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Runs an async handler, or a callback-style one (three parameters), to its result. */
function run(handler: Handler, event: unknown, context: Context): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (error?: unknown, result?: unknown) => {
      if (settled) return;
      settled = true;
      if (error !== undefined && error !== null) reject(error);
      else resolve(result);
    };
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof (returned as Promise<unknown>).then === 'function') {
        (returned as Promise<unknown>).then(
          (result) => callback(undefined, result),
          (error: unknown) => callback(error ?? new Error('Rejected with no reason')),
        );
      } else if (handler.length < 3) {
        callback(undefined, returned);
      }
    } catch (error) {
      callback(error);
    }
  });
}

await startIam(await configured);
const started = performance.now();
const handler = await init().catch((error: unknown): Promise<never> => {
  // Lambda fails the invocation with the init error and tries a fresh environment next time.
  send({ type: 'initError', error: errorPayload(error, 'Runtime.ImportModuleError') });
  setImmediate(() => process.exit(1));
  return new Promise<never>(() => undefined);
});
send({ type: 'ready', initMs: Math.round(performance.now() - started) });

process.on('message', (message: ParentMessage) => {
  if (message.type === 'permissions') permissions = message.permissions;
  if (message.type !== 'invoke') return;
  current = message.id;
  void run(handler, message.event, contextFor(message)).then(
    (result) => {
      const payload = JSON.stringify(result === undefined ? null : result) ?? 'null';
      current = undefined;
      if (allowed > 0) send({ type: 'iam', allowed: takeAllowed() });
      if (Buffer.byteLength(payload) > MAX_RESPONSE_BYTES) {
        send({
          type: 'error',
          id: message.id,
          error: {
            errorType: 'Function.ResponseSizeTooLarge',
            errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
            trace: [],
          },
        });
      } else {
        send({ type: 'result', id: message.id, payload });
      }
    },
    (error: unknown) => {
      current = undefined;
      if (allowed > 0) send({ type: 'iam', allowed: takeAllowed() });
      send({ type: 'error', id: message.id, error: errorPayload(error) });
    },
  );
});
