/**
 * Wire types of the contract in docs/design.md. Shared by the handlers, the local
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
  | 'BAD_REQUEST'
  /** 409: a replayed create of an id that was deleted (never recreated). */
  | 'TASK_DELETED'
  /** 410: the change-feed token is older than the tombstone retention; list everything again. */
  | 'RESYNC_REQUIRED';

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
  /** Only on the last page (`nextCursor: null`): where `GET /tasks/changes` continues from. */
  syncToken?: string;
}

/** One task's latest state in the change feed (at most one entry per task per response). */
export type ChangeEntry = { type: 'upsert'; task: Task } | { type: 'delete'; taskId: string; version: number };

/** `GET /tasks/changes?since=<syncToken>&limit=`. */
export interface ChangesResponse {
  /** Oldest change first. */
  changes: ChangeEntry[];
  /** Continue from here (always the newest token received). */
  syncToken: string;
  /** true: ask again at once with `syncToken`. */
  hasMore: boolean;
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
  /** The delete is the task's next version; a late TASK_UPDATED with a lower one never resurrects it. */
  version: number;
}

export type TaskEvent = TaskCreatedEvent | TaskUpdatedEvent | TaskDeletedEvent;

export interface BatchFrame {
  type: 'BATCH';
  events: TaskEvent[];
}

export type ServerFrame =
  | TaskEvent
  | BatchFrame
  /** `devices`: the user's open connections whose token is still valid, this one included. */
  | { type: 'AUTH_SUCCESS'; userId: string; connectionId: string; devices: number }
  /** To every connection of a user when one of them connects or disconnects (at-least-once, may lag a second). */
  | PresenceFrame
  /** `behind` only when the ping carried `since`: the user has changes after that token. */
  | { type: 'PONG'; behind?: boolean }
  /**
   * BAD_REQUEST: the message was refused, the connection stays open.
   * TOKEN_EXPIRED: a message arrived after the connection's token expired; the
   * server closes the connection right after this frame (on AWS with code 1000:
   * API Gateway's DeleteConnection cannot choose another), so the client
   * reconnects with a fresh token.
   */
  | { type: 'ERROR'; code: 'BAD_REQUEST' | 'TOKEN_EXPIRED'; message: string };

export interface PresenceFrame {
  type: 'PRESENCE';
  devices: number;
}

export type ClientMessage = { action: 'hello' } | { action: 'ping'; since?: string };

/** `GET <web origin>/config.json`. */
export interface RuntimeConfig {
  apiUrl: string;
  wsUrl: string;
  auth:
    | { mode: 'local'; tokenUrl: string }
    | { mode: 'cognito'; region: string; userPoolId: string; clientId: string; domain: string };
  /**
   * Heartbeat (ping with `since`) period the dashboard uses; absent means its
   * production default. `npm start -- --heartbeat-ms` shortens it for tests.
   */
  heartbeatMs?: number;
}
