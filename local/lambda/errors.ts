import type { FunctionErrorPayload } from './protocol.js';

/** The invocation ran past the function's timeout: Lambda's "Task timed out after N.00 seconds". */
export class LambdaTimeoutError extends Error {
  override name = 'LambdaTimeoutError';
}

/**
 * The function failed: its handler threw (name and message are the handler's
 * error's), its init failed, or its runtime exited (`Runtime.ExitError`,
 * `Runtime.OutOfMemory`), as Lambda reports `errorType` and `errorMessage`.
 */
export class LambdaFunctionError extends Error {
  readonly errorType: string;
  readonly trace: string[];

  constructor(payload: FunctionErrorPayload) {
    super(payload.errorMessage);
    this.name = payload.errorType;
    this.errorType = payload.errorType;
    this.trace = payload.trace;
  }
}
