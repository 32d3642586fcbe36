import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { httpEvent } from './fixtures/http-events.js';

const ddb = mockClient(DynamoDBDocumentClient);

const context = {
  functionName: 'tasksApi',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tasksApi',
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
} as Context;

afterEach(() => {
  ddb.reset();
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('tasks-api handler', () => {
  it('serves requests from the table named by TASKS_TABLE', async () => {
    vi.stubEnv('TASKS_TABLE', 'tasks-from-env');
    vi.stubEnv('CHANGES_TABLE', 'changes-from-env');
    vi.stubEnv('CHANGE_RETENTION_SECONDS', String(30 * 86_400));
    vi.stubEnv('AWS_REGION', 'us-east-1');
    ddb.on(GetCommand).resolves({});
    const { handler } = await import('../../lambdas/tasks-api.js');

    const res = await handler(
      httpEvent({ routeKey: 'GET /tasks/{id}', pathParameters: { id: '01JDZ3V8Q6T3N4W0F2H7K9M5PX' } }),
      context,
    );

    expect(res.statusCode).toBe(404);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.TableName).toBe('tasks-from-env');
  });

  it('fails at load, naming the variable, when TASKS_TABLE is missing', async () => {
    vi.stubEnv('TASKS_TABLE', '');
    await expect(import('../../lambdas/tasks-api.js')).rejects.toThrow('TASKS_TABLE');
  });

  it('fails at load when the change retention is shorter than a sync token is old when issued', async () => {
    vi.stubEnv('TASKS_TABLE', 'tasks');
    vi.stubEnv('CHANGES_TABLE', 'changes');
    vi.stubEnv('CHANGE_RETENTION_SECONDS', '5');
    await expect(import('../../lambdas/tasks-api.js')).rejects.toThrow(
      /CHANGE_RETENTION_SECONDS must be a whole number of seconds/,
    );
  });
});
