/**
 * Custom resource (CDK Provider framework, onEvent): sets the account's API
 * Gateway "CloudWatch log role ARN" in this region only when it is empty.
 *
 * The setting is one value per account and region, shared by every REST and
 * WebSocket API there. `AWS::ApiGateway::Account` would overwrite whatever
 * another team set; this reads it first (apigateway:GetAccount) and writes
 * (apigateway:UpdateAccount) only when nothing is set. Deleting the resource
 * leaves the setting as it is: other APIs may log through it by then.
 *
 * Right after IAM creates the role, API Gateway may still refuse it ("The
 * role ARN does not have required permissions set to API Gateway") until the
 * role has propagated; that answer is retried for a bounded time.
 *
 * lib/constructs/api-gateway-account.ts deploys it; docs/deploy.md explains
 * the choice.
 */
import { APIGatewayClient, GetAccountCommand, UpdateAccountCommand } from '@aws-sdk/client-api-gateway';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

/** One setting per account and region, so one fixed id: a replacement would only ever be a no-op delete. */
export const PHYSICAL_RESOURCE_ID = 'apigateway-account-cloudwatch-role';

/** What the Provider framework expects back from onEvent. */
export interface OnEventResult {
  PhysicalResourceId: string;
  Data?: {
    /** The role the account logs through after this event (ours or the one already set). */
    CloudWatchRoleArn: string;
    /** 'true' when this event wrote the setting, 'false' when it was already set. */
    Updated: 'true' | 'false';
  };
}

export interface Dependencies {
  readonly client: Pick<APIGatewayClient, 'send'>;
  /** How long to keep retrying the IAM propagation error. */
  readonly retryForMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly log: (message: string, details?: Record<string, unknown>) => void;
}

/** API Gateway's answer while a new role has not propagated through IAM yet. */
export function isRolePropagationError(error: unknown): boolean {
  const e = error as { name?: string; message?: string } | undefined;
  return e?.name === 'BadRequestException' && /does not have required permissions/i.test(e.message ?? '');
}

/** Pause before retry `attempt` (1-based): 2 s doubling, at most 15 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(2_000 * 2 ** (attempt - 1), 15_000);
}

export async function onEvent(event: CloudFormationCustomResourceEvent, deps: Dependencies): Promise<OnEventResult> {
  if (event.RequestType === 'Delete') {
    deps.log('delete: the account setting is left as it is');
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const roleArn: unknown = event.ResourceProperties.RoleArn;
  if (typeof roleArn !== 'string' || !roleArn.startsWith('arn:')) {
    throw new Error(`RoleArn must be an IAM role ARN, got ${JSON.stringify(roleArn)}`);
  }

  const account = await deps.client.send(new GetAccountCommand({}));
  const current = account.cloudwatchRoleArn?.trim();
  if (current) {
    deps.log('the account already has a CloudWatch role; left as it is', { current });
    return { PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { CloudWatchRoleArn: current, Updated: 'false' } };
  }

  const deadline = deps.now() + deps.retryForMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.client.send(
        new UpdateAccountCommand({ patchOperations: [{ op: 'replace', path: '/cloudwatchRoleArn', value: roleArn }] }),
      );
      deps.log('set the account CloudWatch role', { roleArn, attempt });
      return { PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { CloudWatchRoleArn: roleArn, Updated: 'true' } };
    } catch (error) {
      const delay = retryDelayMs(attempt);
      if (!isRolePropagationError(error) || deps.now() + delay > deadline) throw error;
      deps.log('the role has not propagated yet; retrying', { attempt, delayMs: delay });
      await deps.sleep(delay);
    }
  }
}

const client = new APIGatewayClient({});

/** Lambda entry point. The function's timeout (5 minutes) leaves a minute beyond the retry window. */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<OnEventResult> {
  return onEvent(event, {
    client,
    retryForMs: 4 * 60_000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: Date.now,
    log: (message, details) => console.log(JSON.stringify({ message, ...details, requestType: event.RequestType })),
  });
}
