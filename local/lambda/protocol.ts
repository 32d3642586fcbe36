/**
 * Messages between the local Lambda runtime (parent) and a function's worker
 * process (bootstrap.ts), over Node's IPC channel. A worker serves one
 * invocation at a time, like a Lambda execution environment.
 */

/** Lambda's error shape (`{"errorType","errorMessage","trace"}`). */
export interface FunctionErrorPayload {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

export type ParentMessage = {
  type: 'invoke';
  id: number;
  event: unknown;
  requestId: string;
  /** Epoch ms when the invocation times out (context.getRemainingTimeInMillis()). */
  deadline: number;
  invokedFunctionArn: string;
};

export type WorkerMessage =
  | { type: 'ready'; initMs: number }
  | { type: 'initError'; error: FunctionErrorPayload }
  /** `payload` is the JSON text of the handler's result, as Lambda serializes it (`null` for undefined). */
  | { type: 'result'; id: number; payload: string }
  | { type: 'error'; id: number; error: FunctionErrorPayload };

/** Lambda's synchronous invocation response limit (6 MB). */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
