import type { QueueKey } from '../../lib/definitions.js';
import { authorize, queueArn, type AccessCheck, type PermissionSource, type Principal } from './policy.js';

/** The stream actions Lambda requires of the role when it creates a DynamoDB event source mapping. */
const STREAM_ACTIONS = ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'] as const;

/**
 * What CreateEventSourceMapping checks before it accepts a mapping: the
 * function's role can read the stream and send to the on-failure
 * destination. Returns Lambda's InvalidParameterValueException message, or
 * undefined when the role is enough.
 */
export function mappingProblem(
  permissionsOf: PermissionSource,
  principal: Principal,
  streamArn: string,
  table: string,
  onFailure?: QueueKey,
): string | undefined {
  const streamChecks: AccessCheck[] = [
    ...STREAM_ACTIONS.map((action) => ({ action, resource: { kind: 'stream' as const, table, arn: streamArn } })),
    { action: 'dynamodb:ListStreams', resource: { kind: 'any', arn: '*' } },
  ];
  if (authorize(permissionsOf, principal, streamChecks)) {
    return `InvalidParameterValueException: Cannot access stream ${streamArn}. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM.`;
  }
  if (onFailure && authorize(permissionsOf, principal, [sendCheck(onFailure)])) {
    return 'InvalidParameterValueException: The provided execution role does not have permissions to call SendMessage on SQS';
  }
  return undefined;
}

/** sqs:SendMessage to the on-failure destination, which the mapping does for each batch it gives up on. */
export const sendCheck = (queue: QueueKey): AccessCheck => ({
  action: 'sqs:SendMessage',
  resource: { kind: 'queue', queue, arn: queueArn(queue) },
});
