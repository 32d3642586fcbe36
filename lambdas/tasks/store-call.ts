import { ServiceUnavailableError, TooManyRequestsError } from './errors.js';

/** A store failure that is nobody's input: the task API answers it with a logged 500. */
export function unexpected(message: string, cause?: unknown): Error {
  const error = new Error(message, { cause });
  error.name = 'TaskStoreError';
  return error;
}

// DynamoDB error names (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
const THROTTLING_ERRORS = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);
const UNAVAILABLE_ERRORS = new Set([
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  // The SDK's node-http-handler names connection and request timeouts this way.
  'TimeoutError',
]);
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Runs one DynamoDB call of the task API's stores and turns "try again later"
 * failures into their domain errors (429, 503), by error name or code.
 */
export async function call<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    if (THROTTLING_ERRORS.has(error.name)) {
      throw new TooManyRequestsError('Too many requests, retry later', { cause: error });
    }
    if (UNAVAILABLE_ERRORS.has(error.name) || isNetworkError(error)) {
      throw new ServiceUnavailableError('The task store is unavailable, retry later', { cause: error });
    }
    throw error;
  }
}

function isNetworkError(error: Error): boolean {
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  // Node's happy-eyeballs connect (autoSelectFamily) reports an AggregateError of per-address failures.
  return error instanceof AggregateError && error.errors.some((inner) => inner instanceof Error && isNetworkError(inner));
}
