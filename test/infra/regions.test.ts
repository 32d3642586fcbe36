import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize, type SynthResult } from './support.js';

/**
 * Names that must be unique in the whole account (or, for S3 buckets, in the
 * whole partition), whichever region the resource is created in: CloudFront
 * is a global service and IAM is account-wide. Each entry is the property that
 * holds the name. The Cognito domain prefix is unique per region, and checked
 * all the same.
 */
const ACCOUNT_GLOBAL_NAMES: Record<string, string[]> = {
  'AWS::CloudFront::ResponseHeadersPolicy': ['ResponseHeadersPolicyConfig', 'Name'],
  'AWS::CloudFront::OriginAccessControl': ['OriginAccessControlConfig', 'Name'],
  'AWS::CloudFront::CachePolicy': ['CachePolicyConfig', 'Name'],
  'AWS::CloudFront::OriginRequestPolicy': ['OriginRequestPolicyConfig', 'Name'],
  'AWS::CloudFront::Function': ['Name'],
  'AWS::CloudFront::KeyValueStore': ['Name'],
  'AWS::CloudFront::KeyGroup': ['KeyGroupConfig', 'Name'],
  'AWS::CloudFront::PublicKey': ['PublicKeyConfig', 'Name'],
  'AWS::CloudFront::ContinuousDeploymentPolicy': ['ContinuousDeploymentPolicyConfig', 'StagingDistributionDnsNames'],
  'AWS::IAM::Role': ['RoleName'],
  'AWS::IAM::ManagedPolicy': ['ManagedPolicyName'],
  'AWS::IAM::InstanceProfile': ['InstanceProfileName'],
  'AWS::IAM::User': ['UserName'],
  'AWS::IAM::Group': ['GroupName'],
  'AWS::S3::Bucket': ['BucketName'],
  'AWS::Cognito::UserPoolDomain': ['Domain'],
};

interface Deployment {
  readonly account: string;
  readonly region: string;
  readonly synth: SynthResult;
  /** The stack id CloudFormation would assign: a new UUID per stack, as CloudFormation does. */
  readonly stackId: string;
}

/**
 * Evaluates a template value the way CloudFormation would in one deployment.
 * A reference to one of the stack's own resources stands for that resource's
 * physical id, which CloudFormation makes unique per stack and region.
 */
function evaluate(value: unknown, d: Deployment): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  const intrinsic = value as Record<string, any>;
  if ('Fn::Join' in intrinsic) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => evaluate(part, d)).join(separator);
  }
  if ('Fn::Select' in intrinsic) {
    const [index, list] = intrinsic['Fn::Select'] as [number, unknown];
    return evaluateList(list, d)[index]!;
  }
  if ('Ref' in intrinsic) {
    const pseudo: Record<string, string> = {
      'AWS::Region': d.region,
      'AWS::AccountId': d.account,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': d.synth.stack.stackName,
      'AWS::StackId': d.stackId,
    };
    const name = intrinsic.Ref as string;
    return pseudo[name] ?? `${d.region}/${d.synth.stack.stackName}/${name}`;
  }
  if ('Fn::GetAtt' in intrinsic) {
    const [id, attribute] = intrinsic['Fn::GetAtt'] as [string, string];
    return `${d.region}/${d.synth.stack.stackName}/${id}.${attribute}`;
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)}`);
}

function evaluateList(value: unknown, d: Deployment): string[] {
  const intrinsic = value as Record<string, any>;
  if ('Fn::Split' in intrinsic) {
    const [separator, source] = intrinsic['Fn::Split'] as [string, unknown];
    return evaluate(source, d).split(separator);
  }
  throw new Error(`cannot evaluate a list from ${JSON.stringify(value)}`);
}

/** Every account-global name the deployment would ask for, as `<type> <name>`. */
function accountGlobalNames(d: Deployment): string[] {
  const names: string[] = [];
  for (const resource of Object.values(d.synth.template.toJSON().Resources as Record<string, any>)) {
    const propertyPath = ACCOUNT_GLOBAL_NAMES[resource.Type as string];
    if (!propertyPath) continue;
    let value: unknown = resource.Properties;
    for (const key of propertyPath) value = (value as Record<string, unknown> | undefined)?.[key];
    // No name: CloudFormation generates one from the stack name and a random suffix.
    if (value === undefined) continue;
    names.push(`${resource.Type} ${evaluate(value, d)}`);
  }
  return names;
}

describe('one account, two regions', () => {
  const account = '123456789012';
  const deployments: Deployment[] = [];
  beforeAll(() => {
    for (const region of ['eu-west-1', 'us-east-1']) {
      // Without the cdk-nag packs: this test is about names. cdk-nag runs on the
      // environment-agnostic template `cdk synth` makes (cdk-nag.test.ts).
      const synth = synthesize({ env: { account, region } }, { nagChecks: false });
      deployments.push({
        account,
        region,
        synth,
        stackId: `arn:aws:cloudformation:${region}:${account}:stack/TaskSync/${randomUUID()}`,
      });
    }
  });
  afterAll(() => {
    for (const d of deployments) d.synth.cleanup();
  });

  it('synthesizes the same stack for each region, with the region in its environment', () => {
    expect(deployments.map((d) => [d.synth.stack.stackName, d.synth.stack.region])).toEqual([
      ['TaskSync', 'eu-west-1'],
      ['TaskSync', 'us-east-1'],
    ]);
  });

  it('asks for no account-global name that the other region also asks for', () => {
    const [first, second] = deployments.map(accountGlobalNames);
    // The names exist (the check is not vacuous): CloudFront requires both of these.
    for (const names of [first!, second!]) {
      expect(names.filter((n) => n.startsWith('AWS::CloudFront::ResponseHeadersPolicy '))).toHaveLength(1);
      expect(names.filter((n) => n.startsWith('AWS::CloudFront::OriginAccessControl '))).toHaveLength(1);
      expect(names.filter((n) => n.startsWith('AWS::Cognito::UserPoolDomain '))).toHaveLength(1);
    }
    expect(first!.filter((name) => second!.includes(name))).toEqual([]);
    // Nor does one deployment ask twice for the same name.
    expect(new Set(first).size).toBe(first!.length);
  });

  it('keeps CloudFront names within their length limits and makes them from the stack name and the region', () => {
    for (const d of deployments) {
      const names = accountGlobalNames(d);
      const policy = names.find((n) => n.startsWith('AWS::CloudFront::ResponseHeadersPolicy '))!.split(' ')[1]!;
      const oac = names.find((n) => n.startsWith('AWS::CloudFront::OriginAccessControl '))!.split(' ')[1]!;
      expect(policy.length).toBeLessThanOrEqual(128);
      expect(oac.length).toBeLessThanOrEqual(64);
      for (const name of [policy, oac]) {
        expect(name.startsWith('TaskSync')).toBe(true);
        expect(name.endsWith(`-${d.region}`)).toBe(true);
        expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
      }
    }
  });
});

describe('the environment-agnostic template (what `npm run synth` and `cdk deploy` use) in two regions', () => {
  let synth: SynthResult;
  beforeAll(() => {
    synth = synthesize();
  });
  afterAll(() => synth?.cleanup());

  it('asks for no account-global name twice when deployed in eu-west-1 and us-east-1 of one account', () => {
    const account = '123456789012';
    const [first, second] = ['eu-west-1', 'us-east-1'].map((region) =>
      accountGlobalNames({
        account,
        region,
        synth,
        stackId: `arn:aws:cloudformation:${region}:${account}:stack/TaskSync/${randomUUID()}`,
      }),
    );
    expect(first!.filter((n) => n.startsWith('AWS::CloudFront::'))).toHaveLength(2);
    expect(first!.filter((name) => second!.includes(name))).toEqual([]);
  });
});
