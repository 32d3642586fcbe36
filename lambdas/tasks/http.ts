import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ErrorBody, Task } from '../contract.js';
import { PreconditionFailedError, ValidationError, type TasksApiError } from './errors.js';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
};

// Task data is per user and changes under the client's feet: never cache it.
const BASE_HEADERS = { 'cache-control': 'no-store' } as const;

/** The strong entity tag of a task version: `"3"`. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    headers: { ...BASE_HEADERS, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

export function taskResponse(statusCode: 200 | 201, task: Task): HttpResponse {
  return jsonResponse(statusCode, task, { etag: etagOf(task.version) });
}

export function noContentResponse(): HttpResponse {
  return { statusCode: 204, headers: { ...BASE_HEADERS }, isBase64Encoded: false };
}

export function errorResponse(error: TasksApiError): HttpResponse {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  if (error instanceof ValidationError && error.details.length > 0) body.error.details = error.details;
  if (error instanceof PreconditionFailedError) body.error.current = error.current;
  return jsonResponse(error.status, body, error.headers);
}

/** The fallback: the details go to the log, never to the client. */
export function internalErrorResponse(): HttpResponse {
  const body: ErrorBody = { error: { code: 'INTERNAL_ERROR', message: 'Internal error' } };
  return jsonResponse(500, body);
}
