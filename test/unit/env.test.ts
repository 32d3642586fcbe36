import { describe, expect, it } from 'vitest';
import { readEnv } from '../../lambdas/env.js';

describe('readEnv', () => {
  it('returns the named variables', () => {
    expect(readEnv(['tasksTable'], { TASKS_TABLE: 'tasks' })).toEqual({ tasksTable: 'tasks' });
  });

  it('names every missing variable at once', () => {
    expect(() => readEnv(['tasksTable', 'connectionsTable'], {})).toThrow(
      'Missing environment variable(s): TASKS_TABLE, CONNECTIONS_TABLE',
    );
  });
});
