import type { ErrorCode, Task } from '../contract.js';

/** One entry of `error.details` on a 400: which input was wrong and why. */
export interface ValidationDetail {
  /** Body field (`title`), query parameter (`limit`, `cursor`) or header (`if-match`); '' for the whole body. */
  field: string;
  message: string;
}

/**
 * Base of every error the task API answers with a status other than 500.
 * Anything else that escapes a route is unexpected and becomes a logged 500.
 */
export abstract class TasksApiError extends Error {
  abstract readonly status: number;
  abstract readonly code: ErrorCode;
  /** Extra response headers (e.g. `retry-after`). */
  readonly headers: Record<string, string> = {};
}

export class ValidationError extends TasksApiError {
  override name = 'ValidationError';
  readonly status = 400;
  readonly code = 'VALIDATION_FAILED';
  constructor(
    message: string,
    readonly details: ValidationDetail[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class UnauthorizedError extends TasksApiError {
  override name = 'UnauthorizedError';
  readonly status = 401;
  readonly code = 'UNAUTHORIZED';
}

export class NotFoundError extends TasksApiError {
  override name = 'NotFoundError';
  readonly status = 404;
  readonly code = 'NOT_FOUND';
}

export class ConflictError extends TasksApiError {
  override name = 'ConflictError';
  readonly status = 409;
  readonly code: 'CONFLICT' | 'TASK_DELETED' = 'CONFLICT';
}

/** A replayed create of an id whose task was deleted: it is never recreated. */
export class TaskDeletedError extends ConflictError {
  override name = 'TaskDeletedError';
  override readonly code = 'TASK_DELETED';
}

/** A sync token older than the tombstone retention: the client must list everything again. */
export class ResyncRequiredError extends TasksApiError {
  override name = 'ResyncRequiredError';
  readonly status = 410;
  readonly code = 'RESYNC_REQUIRED';
}

export class PreconditionFailedError extends TasksApiError {
  override name = 'PreconditionFailedError';
  readonly status = 412;
  readonly code = 'PRECONDITION_FAILED';
  constructor(
    message: string,
    /** The task as stored now, so the client can merge and retry. */
    readonly current: Task,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class PayloadTooLargeError extends TasksApiError {
  override name = 'PayloadTooLargeError';
  readonly status = 413;
  readonly code = 'PAYLOAD_TOO_LARGE';
}

export class UnsupportedMediaTypeError extends TasksApiError {
  override name = 'UnsupportedMediaTypeError';
  readonly status = 415;
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
}

/** The store throttled us even after the SDK's own retries. */
export class TooManyRequestsError extends TasksApiError {
  override name = 'TooManyRequestsError';
  readonly status = 429;
  readonly code = 'TOO_MANY_REQUESTS';
  override readonly headers = { 'retry-after': '1' };
}

/** The store could not be reached or failed on its side; the request may succeed later. */
export class ServiceUnavailableError extends TasksApiError {
  override name = 'ServiceUnavailableError';
  readonly status = 503;
  readonly code = 'SERVICE_UNAVAILABLE';
  override readonly headers = { 'retry-after': '1' };
}
