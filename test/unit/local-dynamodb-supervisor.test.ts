import { describe, expect, it } from 'vitest';
import type { DynamoDbLocal } from '../../local/dynamodb/dynamodb-local.js';
import { createDynamoDbSupervisor } from '../../local/dynamodb/supervisor.js';

/** A stand-in for the Java process: restart() fails `failures` times, then succeeds. */
function fakeDynamo(failures = 0) {
  const state = { running: true, restarts: 0, attempts: 0 };
  const dynamo = {
    endpoint: 'http://127.0.0.1:8000',
    port: 8000,
    dataDir: null,
    clientConfig: {} as DynamoDbLocal['clientConfig'],
    startupMs: 1,
    get running() {
      return state.running;
    },
    get pid() {
      return state.running ? 1234 + state.restarts : undefined;
    },
    stop: async () => {
      state.running = false;
    },
    kill: async () => {
      state.running = false;
    },
    restart: async () => {
      state.attempts++;
      if (state.attempts <= failures) throw new Error('port still in use');
      state.restarts++;
      state.running = true;
    },
  } satisfies DynamoDbLocal;
  return { dynamo, state };
}

const fast = { baseMs: 1, maxMs: 4 };

describe('DynamoDB Local supervisor', () => {
  it('restarts DynamoDB Local after an unexpected exit, retrying failed attempts with backoff', async () => {
    const { dynamo, state } = fakeDynamo(2);
    const lines: string[] = [];
    let afterRestart = 0;
    const supervisor = createDynamoDbSupervisor({
      backoff: fast,
      log: (l) => lines.push(l),
      afterRestart: async () => void afterRestart++,
    });
    supervisor.attach(dynamo);

    state.running = false;
    supervisor.onUnexpectedExit();
    await supervisor.idle();

    expect(state.running).toBe(true);
    expect(state.attempts).toBe(3);
    expect(supervisor.restarts).toBe(1);
    expect(afterRestart).toBe(1);
    expect(lines.filter((l) => l.includes('attempt') && l.includes('failed'))).toHaveLength(2);
  });

  it('counts a failing afterRestart (e.g. tables not recreated) as a failed attempt', async () => {
    const { dynamo, state } = fakeDynamo();
    let calls = 0;
    const supervisor = createDynamoDbSupervisor({
      backoff: fast,
      afterRestart: async () => {
        if (++calls === 1) throw new Error('ECONNREFUSED');
      },
    });
    supervisor.attach(dynamo);

    state.running = false;
    supervisor.onUnexpectedExit();
    await supervisor.idle();

    expect(calls).toBe(2);
    expect(state.attempts).toBe(2);
    expect(supervisor.restarts).toBe(1);
  });

  it('restarts again when the process died while a restart was finishing', async () => {
    const { dynamo, state } = fakeDynamo();
    let calls = 0;
    const supervisor = createDynamoDbSupervisor({
      backoff: fast,
      afterRestart: async () => {
        // The new process dies right away, once: its exit is reported during this restart.
        if (++calls === 1) {
          state.running = false;
          supervisor.onUnexpectedExit();
        }
      },
    });
    supervisor.attach(dynamo);

    state.running = false;
    supervisor.onUnexpectedExit();
    await supervisor.idle();
    await supervisor.idle();

    expect(state.running).toBe(true);
    expect(supervisor.restarts).toBe(1);
    expect(state.attempts).toBe(2);
  });

  it('does nothing after stop()', async () => {
    const { dynamo, state } = fakeDynamo();
    const supervisor = createDynamoDbSupervisor({ backoff: fast });
    supervisor.attach(dynamo);

    await supervisor.stop();
    state.running = false;
    supervisor.onUnexpectedExit();
    await supervisor.idle();

    expect(state.attempts).toBe(0);
    expect(state.running).toBe(false);
  });
});
