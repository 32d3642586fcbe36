import { PRESENCE_MAPPING, STREAM_MAPPING } from '../lib/definitions.js';

/**
 * How users use the product: the inputs of the capacity model. Every field
 * has a default (the documented default profile, docs/capacity.md) and a
 * command-line option of the same name in kebab case.
 */
export interface Profile {
  /** Devices (browsers, phones) each user has open the dashboard on. */
  devicesPerUser: number;
  /** Task writes (create, update, completion, delete) per user per day. */
  changesPerUserPerDay: number;
  /**
   * Socket (re)connects per device per day: network changes, sleep, reloads.
   * The model never uses fewer than the connection lifetime forces: one per
   * 2 hours connected (API Gateway's cap), or one per token refresh period
   * when that is shorter, since a connection never outlives its token
   * (hoursConnectedPerDay × 60 / min(120, tokenRefreshMinutes); traffic.ts
   * connectsPerDevicePerDay).
   */
  reconnectsPerDevicePerDay: number;
  /** The dashboard's ping period (`heartbeatMs` / 1000); must stay under the 10-minute idle timeout. */
  heartbeatSeconds: number;
  /** Hours a day each device holds a socket open. */
  hoursConnectedPerDay: number;
  /** Peak hour's traffic over the day's average hour (1 = flat). Open sockets at the peak are capped at users × devices. */
  peakToAverage: number;
  /** Live tasks per user (storage). */
  tasksPerUser: number;
  /**
   * Minutes between two ID token refreshes of an open dashboard (60-minute Cognito tokens, renewed 5 minutes early).
   * Also how often an open dashboard reconnects when under 2 hours: each connection is replaced a minute before its
   * token's `exp` by one that takes the token renewed meanwhile.
   */
  tokenRefreshMinutes: number;
  /** Writes per second one user can produce in a burst (a bulk import or "complete all"): the hot-partition check. */
  userBurstWritesPerSecond: number;
  /** The broadcaster's event source mapping setting being evaluated (STREAM_MAPPING.parallelizationFactor today). */
  parallelizationFactor: number;
  /** The presence function's event source mapping setting being evaluated (PRESENCE_MAPPING.parallelizationFactor today). */
  presenceParallelizationFactor: number;
  /** CloudWatch Logs bytes per Lambda invocation: START, END and REPORT platform lines in text format, with per-event overhead. */
  logBytesPerInvocation: number;
}

export const DEFAULT_PROFILE: Profile = {
  devicesPerUser: 2,
  changesPerUserPerDay: 20,
  reconnectsPerDevicePerDay: 8,
  heartbeatSeconds: 270,
  hoursConnectedPerDay: 8,
  peakToAverage: 3,
  tasksPerUser: 200,
  tokenRefreshMinutes: 55,
  userBurstWritesPerSecond: 10,
  parallelizationFactor: STREAM_MAPPING.parallelizationFactor,
  presenceParallelizationFactor: PRESENCE_MAPPING.parallelizationFactor,
  logBytesPerInvocation: 350,
};

/** Why each default is what it is (printed by --help and in docs/capacity.md). */
export const PROFILE_NOTES: Record<keyof Profile, string> = {
  devicesPerUser: 'a laptop and a phone',
  changesPerUserPerDay: 'a to-do list used through the working day',
  reconnectsPerDevicePerDay:
    '4 from sleep, network changes and reloads plus 4 forced by the 2-hour cap over 8 connected hours; 55-minute tokens force 8.7, which the model uses instead',
  heartbeatSeconds: 'the dashboard\u2019s default ping period (4.5 minutes)',
  hoursConnectedPerDay: 'a working day with the dashboard open',
  peakToAverage: 'one time zone: the working hours carry three times the daily average',
  tasksPerUser: 'live tasks kept per user',
  tokenRefreshMinutes:
    'Cognito\u2019s 60-minute ID token (lib/constructs/auth.ts), refreshed 5 minutes early (web/src/auth/cognito.ts); each refresh is also a reconnect',
  userBurstWritesPerSecond: 'one user completing or importing many tasks at once',
  parallelizationFactor: 'STREAM_MAPPING.parallelizationFactor as deployed',
  presenceParallelizationFactor: 'PRESENCE_MAPPING.parallelizationFactor as deployed',
  logBytesPerInvocation: 'START, END and REPORT lines in text format plus 26 bytes per event',
};

/** The scales the issue asks about. */
export const DEFAULT_SCALES: readonly number[] = [10_000, 100_000, 1_000_000, 10_000_000];
