import { Readable } from 'node:stream';
import { APIGatewayClient, BadRequestException, GetAccountCommand, UpdateAccountCommand } from '@aws-sdk/client-api-gateway';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isRolePropagationError,
  onEvent,
  PHYSICAL_RESOURCE_ID,
  retryDelayMs,
  type Dependencies,
} from '../../lambdas/custom-resources/api-gateway-account.js';

/**
 * The custom resource behind lib/constructs/api-gateway-account.ts: it sets
 * the account's API Gateway CloudWatch role only when none is set, never
 * replaces one, and leaves it on delete.
 */
const OURS = 'arn:aws:iam::123456789012:role/TaskSync-ApiGatewayAccountCloudWatchRole-ABC';
const THEIRS = 'arn:aws:iam::123456789012:role/platform-team-apigateway-logs';
const PROPAGATION_MESSAGE = 'The role ARN does not have required permissions set to API Gateway';

// Mocked for the decision tests only; the last group runs the real client against a fake HTTP handler.
let apiGateway: AwsClientStub<APIGatewayClient>;
function useMock() {
  beforeEach(() => {
    apiGateway = mockClient(APIGatewayClient);
  });
  afterEach(() => apiGateway.restore());
}

function event(requestType: 'Create' | 'Update' | 'Delete', roleArn: unknown = OURS): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/TaskSync/1',
    RequestId: 'request-1',
    LogicalResourceId: 'ApiGatewayAccountSetting',
    ResourceType: 'Custom::ApiGatewayAccountCloudWatchRole',
    ResourceProperties: { ServiceToken: 'token', RoleArn: roleArn as string },
  };
  if (requestType === 'Create') return { ...base, RequestType: 'Create' };
  if (requestType === 'Update') {
    return {
      ...base,
      RequestType: 'Update',
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      OldResourceProperties: { ServiceToken: 'token', RoleArn: OURS },
    };
  }
  return { ...base, RequestType: 'Delete', PhysicalResourceId: PHYSICAL_RESOURCE_ID };
}

/** Fake clock: sleeping advances it, so retry deadlines are exact and instant. */
function deps(client: Pick<APIGatewayClient, 'send'> = new APIGatewayClient({ region: 'eu-west-1' }), retryForMs = 60_000) {
  let clock = 0;
  const sleeps: number[] = [];
  const logs: string[] = [];
  const d: Dependencies = {
    client,
    retryForMs,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    log: (message) => logs.push(message),
  };
  return { deps: d, sleeps, logs };
}

const propagationError = () => new BadRequestException({ message: PROPAGATION_MESSAGE, $metadata: { httpStatusCode: 400 } });

describe('the account already has a CloudWatch role', () => {
  useMock();

  it.each(['Create', 'Update'] as const)('%s: leaves it untouched and reports it', async (requestType) => {
    apiGateway.on(GetAccountCommand).resolves({ cloudwatchRoleArn: THEIRS });
    const { deps: d } = deps();

    const result = await onEvent(event(requestType), d);

    expect(result).toEqual({ PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { CloudWatchRoleArn: THEIRS, Updated: 'false' } });
    expect(apiGateway.commandCalls(UpdateAccountCommand)).toHaveLength(0);
    expect(apiGateway.commandCalls(GetAccountCommand)).toHaveLength(1);
  });

  it('also when the role set is this stack’s own from an earlier deployment (nothing to do)', async () => {
    apiGateway.on(GetAccountCommand).resolves({ cloudwatchRoleArn: OURS });
    const result = await onEvent(event('Update'), deps().deps);
    expect(result.Data).toEqual({ CloudWatchRoleArn: OURS, Updated: 'false' });
    expect(apiGateway.commandCalls(UpdateAccountCommand)).toHaveLength(0);
  });
});

describe('the account has no CloudWatch role', () => {
  useMock();

  it.each([
    ['absent', {}],
    ['empty', { cloudwatchRoleArn: '' }],
    ['blank', { cloudwatchRoleArn: '  ' }],
  ])('sets ours when the setting is %s', async (_, account) => {
    apiGateway.on(GetAccountCommand).resolves(account);
    apiGateway.on(UpdateAccountCommand).resolves({ cloudwatchRoleArn: OURS });

    const result = await onEvent(event('Create'), deps().deps);

    expect(result).toEqual({ PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { CloudWatchRoleArn: OURS, Updated: 'true' } });
    const updates = apiGateway.commandCalls(UpdateAccountCommand);
    expect(updates).toHaveLength(1);
    expect(updates[0]!.args[0].input).toEqual({
      patchOperations: [{ op: 'replace', path: '/cloudwatchRoleArn', value: OURS }],
    });
  });

  it('retries while IAM has not propagated the new role, then sets it', async () => {
    apiGateway.on(GetAccountCommand).resolves({});
    apiGateway
      .on(UpdateAccountCommand)
      .rejectsOnce(propagationError())
      .rejectsOnce(propagationError())
      .resolves({ cloudwatchRoleArn: OURS });
    const { deps: d, sleeps } = deps();

    const result = await onEvent(event('Create'), d);

    expect(result.Data).toEqual({ CloudWatchRoleArn: OURS, Updated: 'true' });
    expect(apiGateway.commandCalls(UpdateAccountCommand)).toHaveLength(3);
    expect(sleeps).toEqual([retryDelayMs(1), retryDelayMs(2)]);
  });

  it('gives up with the propagation error once the retry window is spent', async () => {
    apiGateway.on(GetAccountCommand).resolves({});
    apiGateway.on(UpdateAccountCommand).rejects(propagationError());
    const { deps: d, sleeps } = deps(undefined, 60_000);

    await expect(onEvent(event('Create'), d)).rejects.toThrow(PROPAGATION_MESSAGE);

    const waited = sleeps.reduce((a, b) => a + b, 0);
    expect(waited).toBeLessThanOrEqual(60_000);
    expect(waited).toBeGreaterThan(60_000 - 15_000);
    expect(apiGateway.commandCalls(UpdateAccountCommand)).toHaveLength(sleeps.length + 1);
  });

  it('does not retry any other error', async () => {
    apiGateway.on(GetAccountCommand).resolves({});
    apiGateway.on(UpdateAccountCommand).rejects(new BadRequestException({ message: 'Invalid ARN', $metadata: {} }));
    const { deps: d, sleeps } = deps();

    await expect(onEvent(event('Create'), d)).rejects.toThrow('Invalid ARN');
    expect(sleeps).toEqual([]);
    expect(apiGateway.commandCalls(UpdateAccountCommand)).toHaveLength(1);
  });

  it('fails without touching the account when RoleArn is not a role ARN', async () => {
    await expect(onEvent(event('Create', 'TaskSync-role'), deps().deps)).rejects.toThrow(/RoleArn must be an IAM role ARN/);
    expect(apiGateway.calls()).toHaveLength(0);
  });
});

describe('delete', () => {
  useMock();

  it('leaves the setting as it is: no API call at all', async () => {
    const result = await onEvent(event('Delete'), deps().deps);
    expect(result).toEqual({ PhysicalResourceId: PHYSICAL_RESOURCE_ID });
    expect(apiGateway.calls()).toHaveLength(0);
  });
});

describe('retry schedule', () => {
  it('waits 2 s, doubling, at most 15 s', () => {
    expect([1, 2, 3, 4, 5, 10].map(retryDelayMs)).toEqual([2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
  });
});

describe('the propagation error as the real client deserializes it', () => {
  /** A real APIGatewayClient whose HTTP answers are given, to see the error exactly as the SDK builds it. */
  function clientAnswering(responses: { status: number; body: unknown; errorType?: string }[]) {
    const requests: { method: string; path: string; body: string }[] = [];
    const client = new APIGatewayClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
      requestHandler: {
        async handle(request: { method: string; path: string; body?: string }) {
          requests.push({ method: request.method, path: request.path, body: String(request.body ?? '') });
          const r = responses[Math.min(requests.length, responses.length) - 1]!;
          return {
            response: {
              statusCode: r.status,
              reason: '',
              headers: { 'content-type': 'application/json', ...(r.errorType ? { 'x-amzn-errortype': r.errorType } : {}) },
              body: Readable.from([Buffer.from(JSON.stringify(r.body))]),
            },
          };
        },
        updateHttpClientConfig: () => undefined,
        httpHandlerConfigs: () => ({}),
      } as never,
    });
    return { client, requests };
  }

  it('is recognised, retried, and the role is then set with GET and PATCH /account', async () => {
    const { client, requests } = clientAnswering([
      { status: 200, body: {} },
      { status: 400, errorType: 'BadRequestException', body: { message: PROPAGATION_MESSAGE } },
      { status: 200, body: { cloudwatchRoleArn: OURS } },
    ]);
    const { deps: d, sleeps } = deps(client);

    const result = await onEvent(event('Create'), d);

    expect(result.Data).toEqual({ CloudWatchRoleArn: OURS, Updated: 'true' });
    expect(sleeps).toHaveLength(1);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /account', 'PATCH /account', 'PATCH /account']);
    expect(JSON.parse(requests[2]!.body)).toEqual({
      patchOperations: [{ op: 'replace', path: '/cloudwatchRoleArn', value: OURS }],
    });
  });

  it('is told apart from other bad requests', async () => {
    const { client } = clientAnswering([
      { status: 400, errorType: 'BadRequestException', body: { message: 'Invalid patch path' } },
    ]);
    const error = await client.send(new UpdateAccountCommand({})).catch((e: unknown) => e);
    expect(isRolePropagationError(error)).toBe(false);
    const { client: propagating } = clientAnswering([
      { status: 400, errorType: 'BadRequestException', body: { message: PROPAGATION_MESSAGE } },
    ]);
    expect(isRolePropagationError(await propagating.send(new UpdateAccountCommand({})).catch((e: unknown) => e))).toBe(true);
  });
});
