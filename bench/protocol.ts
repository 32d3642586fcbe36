/**
 * Messages between bench/run.ts and the load generator child process
 * (bench/load-generator.ts) over the IPC channel of `child_process.fork`.
 */
import type { Summary } from './stats.js';

/** The parts of the READY line the load generator needs. */
export interface Endpoints {
  apiUrl: string;
  wsUrl: string;
  tokenUrl: string;
}

export interface LatencyParams {
  endpoints: Endpoints;
  /** Prefix of the usernames, unique per run. */
  label: string;
  users: number;
  connectionsPerUser: number;
  writesPerSecond: number;
  /** Measured writes (after one unmeasured warm-up write per user). */
  writes: number;
  /** How long to wait for stragglers after the last write's response. */
  drainMs: number;
}

export interface LatencyResult {
  /** Per delivery: event arrival at a socket minus the write's HTTP response, same process, monotonic clock. */
  delivery: Summary;
  /** Write round trip (request sent → response), for context. */
  writeRoundTrip: Summary;
  expectedDeliveries: number;
  deliveries: number;
  lost: number;
  duplicates: number;
  /** Deliveries that arrived before the writer had read its own HTTP response (counted as 0 ms). */
  arrivedBeforeResponse: number;
  writes: number;
  writeErrors: number;
  achievedWritesPerSecond: number;
  openMs: number;
}

export interface FanoutParams {
  endpoints: Endpoints;
  /** The stack process, whose CPU time each trial reads from /proc (the broadcaster and the emulator share it). */
  stackPid: number;
  label: string;
  connections: number;
  trials: number;
  openConcurrency: number;
}

export interface FanoutTrial {
  /** Write response → first socket that got the event. */
  firstMs: number;
  /** Write response → last socket that got the event. */
  lastMs: number;
  delivered: number;
  /** CPU time (user + system) the stack process used from the write until the last delivery. */
  stackCpuMs: number;
}

export interface FanoutResult {
  connections: number;
  openMs: number;
  openFailures: number;
  trials: FanoutTrial[];
  /** Median over the trials. */
  lastMs: number;
  firstMs: number;
  /** Median stack CPU time of a trial. */
  stackCpuMs: number;
}

export interface OpenParams {
  endpoints: Endpoints;
  users: Array<{ username: string; connections: number }>;
  openConcurrency: number;
}

export interface OpenResult {
  opened: number;
  failures: number;
  firstFailure?: string;
  ms: number;
  /** username → user id (the token's `sub`, as the authorizer sees it). */
  userIds: Record<string, string>;
}

/** username → task events received by each of its open sockets (BATCH frames flattened), and frames. */
export type ReceivedResult = Record<string, Array<{ events: number; frames: number }>>;

export interface RampParams {
  endpoints: Endpoints;
  label: string;
  rates: number[];
  stepSeconds: number;
  receivers: number;
  drainMs: number;
  /** Writes in flight at most; a writer that cannot keep up falls below the target rate. */
  maxInFlight: number;
}

export interface RampStep {
  targetPerSecond: number;
  achievedPerSecond: number;
  writes: number;
  writeErrors: number;
  expectedDeliveries: number;
  lost: number;
  delivery: Summary;
  /** No lost delivery and no write error. */
  noLoss: boolean;
  /** Achieved under 90 % of the target: the write path (HTTP API + tasks handler + DynamoDB Local) is saturated. */
  saturated: boolean;
}

export interface RampResult {
  steps: RampStep[];
  /** Highest achieved rate of a step without loss or write errors (0 if none). */
  writesPerSecondNoLoss: number;
}

export type Command =
  | { cmd: 'latency'; params: LatencyParams }
  | { cmd: 'fanout'; params: FanoutParams }
  | { cmd: 'open'; params: OpenParams }
  | { cmd: 'received' }
  | { cmd: 'closeAll' }
  | { cmd: 'ramp'; params: RampParams };

export interface Request {
  id: number;
  command: Command;
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
