import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { FUNCTIONS, type FunctionName } from '../../lib/definitions.js';
import { LambdaTimeoutError } from './errors.js';

const projectRoot = path.resolve(import.meta.dirname, '../..');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyHandler = (event: any, context: Context) => Promise<any>;

const loaded = new Map<FunctionName, Promise<AnyHandler>>();

/**
 * The in-process mode, kept only as the benchmark's baseline
 * (`npm start -- --runtime inprocess`): every handler in the emulator's own
 * process, sharing its environment and one module instance per function,
 * importing the TypeScript sources, with no IAM check. `npm start` runs
 * functions isolated instead (lambda-runtime.ts).
 *
 * Imports the handler file CDK bundles (FUNCTIONS[fn].entry) once. The caller
 * must have set every function's environment in process.env beforehand.
 */
export function loadHandler(fn: FunctionName): Promise<AnyHandler> {
  let handler = loaded.get(fn);
  if (!handler) {
    const file = pathToFileURL(path.join(projectRoot, FUNCTIONS[fn].entry)).href;
    handler = import(file).then((mod: { handler?: AnyHandler }) => {
      if (typeof mod.handler !== 'function') throw new Error(`${FUNCTIONS[fn].entry} exports no handler`);
      return mod.handler;
    });
    loaded.set(fn, handler);
  }
  return handler;
}

export { LambdaTimeoutError } from './errors.js';

/**
 * Invokes a handler with a Lambda-shaped context. A handler that runs past the
 * function's timeout rejects with LambdaTimeoutError, as Lambda reports
 * "Task timed out after N seconds".
 */
export async function invoke<T = unknown>(fn: FunctionName, event: unknown): Promise<T> {
  const handler = await loadHandler(fn);
  const timeoutMs = FUNCTIONS[fn].timeoutSeconds * 1000;
  const deadline = Date.now() + timeoutMs;
  const context: Context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${fn}`,
    memoryLimitInMB: String(FUNCTIONS[fn].memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LambdaTimeoutError(`Task timed out after ${FUNCTIONS[fn].timeoutSeconds}.00 seconds`)),
      timeoutMs,
    );
  });
  try {
    return (await Promise.race([handler(event, context), timeout])) as T;
  } finally {
    clearTimeout(timer);
  }
}
