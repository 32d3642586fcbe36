import type { Permission } from '../../lib/definitions.js';
import type { Denial } from '../iam/policy.js';

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

/** The IAM check a worker runs in front of DynamoDB Local for its function (local/iam/dynamodb-proxy.ts). */
export interface WorkerIam {
  /** DynamoDB Local's endpoint (DynamoDB and DynamoDB Streams). */
  upstream: string;
  /** The function's own access key id (AWS_ACCESS_KEY_ID) and the role session it stands for. */
  accessKeyId: string;
  principalArn: string;
  permissions: readonly Permission[];
}

export type ParentMessage =
  /** First message: sets up the IAM check before the function's bundle is loaded. */
  | { type: 'configure'; iam: WorkerIam }
  /** The definitions were reloaded: the permissions in force from now on. */
  | { type: 'permissions'; permissions: readonly Permission[] }
  | {
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
  /** A call the IAM check refused; `allowed` counts the calls it let through since the last report. */
  | { type: 'iam'; allowed: number; denial?: Denial }
  | { type: 'initError'; error: FunctionErrorPayload }
  /** `payload` is the JSON text of the handler's result, as Lambda serializes it (`null` for undefined). */
  | { type: 'result'; id: number; payload: string }
  | { type: 'error'; id: number; error: FunctionErrorPayload };

/** Lambda's synchronous invocation response limit (6 MB). */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
