/**
 * Wire types of the contract in DESIGN.md. Shared by the handlers, the local
 * runtime, the web client and the tests; change only on purpose.
 */

export interface Task {
  id: string;
  title: string;
  description: string;
  completed: boolean;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR'
  | 'BAD_REQUEST';

export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    details?: unknown[];
    /** Only on 412: the task as currently stored. */
    current?: Task;
  };
}

export interface ListTasksResponse {
  tasks: Task[];
  nextCursor: string | null;
}

interface TaskEventBase {
  eventId: string;
  at: string;
  taskId: string;
}

export interface TaskCreatedEvent extends TaskEventBase {
  type: 'TASK_CREATED';
  task: Task;
}

export interface TaskUpdatedEvent extends TaskEventBase {
  type: 'TASK_UPDATED';
  task: Task;
}

export interface TaskDeletedEvent extends TaskEventBase {
  type: 'TASK_DELETED';
}

export type TaskEvent = TaskCreatedEvent | TaskUpdatedEvent | TaskDeletedEvent;

export interface BatchFrame {
  type: 'BATCH';
  events: TaskEvent[];
}

export type ServerFrame =
  | TaskEvent
  | BatchFrame
  | { type: 'AUTH_SUCCESS'; userId: string; connectionId: string }
  | { type: 'PONG' }
  | { type: 'ERROR'; code: 'BAD_REQUEST'; message: string };

export type ClientMessage = { action: 'hello' } | { action: 'ping' };

/** `GET <web origin>/config.json`. */
export interface RuntimeConfig {
  apiUrl: string;
  wsUrl: string;
  auth:
    | { mode: 'local'; tokenUrl: string }
    | { mode: 'cognito'; region: string; userPoolId: string; clientId: string; domain: string };
}
