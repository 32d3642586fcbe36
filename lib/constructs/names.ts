import { CfnResource, Names, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Room kept for the region code at the end of a name: the longest today is 15
 * characters (`us-isof-south-1`); a few more for codes to come.
 */
const REGION_CHARS = 20;

/**
 * A physical name for a resource whose names are unique per *account*, not
 * per region: CloudFront policies and origin access controls (CloudFront is
 * global), IAM roles and policies. CDK's default for several of them
 * (`Names.uniqueResourceName`) is built from the stack name and the construct
 * path only, so the same stack deployed in a second region of the account
 * asks for the same name and fails with AlreadyExists. This name is that one
 * followed by the stack's region, so it is unique per stack and region:
 * `TaskSyncWebSecurityHeadersAAA594F1-eu-west-1`.
 *
 * The region is the stack's: a literal when the stack has an explicit
 * environment, otherwise `{ Ref: AWS::Region }`, resolved at deploy time.
 */
export function regionalName(scope: IConstruct, maxLength: number): string {
  if (maxLength <= REGION_CHARS + 8) throw new Error(`regionalName: maxLength ${maxLength} leaves no room for a name`);
  const base = Names.uniqueResourceName(scope, { maxLength: maxLength - REGION_CHARS - 1 });
  return `${base}-${Stack.of(scope).region}`;
}

/**
 * Replaces the account-unique name CDK gave a construct's CloudFormation
 * resource (at `property`, e.g. `OriginAccessControlConfig.Name`) by
 * regionalName of that construct.
 */
export function uniqueInAccount(construct: IConstruct, property: string, maxLength: number): void {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) throw new Error(`${construct.node.path} has no CloudFormation resource to name`);
  resource.addPropertyOverride(property, regionalName(construct, maxLength));
}
