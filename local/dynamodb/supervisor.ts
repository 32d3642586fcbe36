import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDbLocal } from './dynamodb-local.js';

export interface SupervisorOptions {
  /**
   * Runs after every successful restart, before the restart counts as done
   * (e.g. `ensureTables`: an in-memory DynamoDB Local comes back empty).
   * A rejection counts as a failed restart and is retried. Default: none.
   */
  afterRestart?: () => Promise<void>;
  /** Wait before restart attempt n is baseMs·2^(n-1), capped at maxMs. Default: 200 ms up to 5 000 ms. */
  backoff?: { baseMs: number; maxMs: number };
  /** Progress lines. Default: dropped. */
  log?: (line: string) => void;
}

export interface DynamoDbSupervisor {
  /** Pass as `onUnexpectedExit` to startDynamoDbLocal. */
  readonly onUnexpectedExit: () => void;
  /** The process to restart; called once, after startDynamoDbLocal resolved. */
  attach(dynamo: DynamoDbLocal): void;
  /** Completed restarts. */
  readonly restarts: number;
  /** Resolves when no restart is in progress (tests, shutdown). */
  idle(): Promise<void>;
  /** No restart after this; waits for one in progress to end. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Keeps DynamoDB Local running for the lifetime of `npm start`: when it exits
 * without being asked to (crash, OOM kill, `kill -9`), it is started again on
 * the same port and data directory, with backoff between failed attempts, so
 * the handlers and the stream poller reconnect to the same endpoint and no
 * restart of `npm start` is needed. Writes acknowledged before the exit are
 * kept only with a data directory (DynamoDB Local flushes each write to its
 * SQLite file); in memory it comes back empty.
 */
export function createDynamoDbSupervisor(options: SupervisorOptions = {}): DynamoDbSupervisor {
  const backoff = options.backoff ?? { baseMs: 200, maxMs: 5_000 };
  const log = options.log ?? (() => undefined);
  let dynamo: DynamoDbLocal | undefined;
  let stopped = false;
  let restarts = 0;
  let current: Promise<void> | undefined;
  /** It exited again while a restart was finishing: check once more afterwards. */
  let exitedDuringRestart = false;

  async function restartUntilUp(): Promise<void> {
    for (let attempt = 1; !stopped; attempt++) {
      await sleep(Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt - 1, 20)));
      if (stopped) return;
      try {
        await dynamo!.restart();
        if (stopped) return;
        await options.afterRestart?.();
        if (!dynamo!.running) throw new Error('exited again right after the restart');
        restarts++;
        log(
          `✔ DynamoDB Local restarted on ${dynamo!.endpoint} (attempt ${attempt}, pid ${dynamo!.pid}, ready in ${dynamo!.startupMs} ms)`,
        );
        return;
      } catch (error) {
        log(
          `✖ DynamoDB Local restart attempt ${attempt} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
        );
      }
    }
  }

  function supervise(): void {
    if (stopped || !dynamo) return;
    if (current) {
      exitedDuringRestart = true;
      return;
    }
    log('✖ DynamoDB Local exited unexpectedly; restarting it on the same port');
    current = restartUntilUp().finally(() => {
      current = undefined;
      if (exitedDuringRestart && !dynamo!.running) supervise();
      exitedDuringRestart = false;
    });
  }

  return {
    onUnexpectedExit: supervise,
    attach(instance) {
      dynamo = instance;
    },
    get restarts() {
      return restarts;
    },
    async idle() {
      await current;
    },
    async stop() {
      stopped = true;
      await current;
    },
  };
}
