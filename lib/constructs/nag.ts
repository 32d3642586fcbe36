import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one exact cdk-nag finding on a construct and its children.
 * cdk-nag 3 matches ids exactly (no prefix matching), so an IAM5 finding is
 * acknowledged with its full `AwsSolutions-IAM5[Resource::...]` id.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
