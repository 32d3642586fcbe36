import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_GATEWAY_ACCOUNT_RESOURCE_TYPE, type ApiGatewayAccount } from '../../lib/constructs/api-gateway-account.js';
import { getAtt, logicalId, synthesize, type SynthResult } from './support.js';

/**
 * The account-level API Gateway CloudWatch role (issue 12, "Never overwrite
 * account settings"): set only when the account has none, never replaced,
 * left in place on delete. The handler's decisions are unit-tested in
 * test/unit/api-gateway-account-handler.test.ts.
 */
describe('API Gateway account setting', () => {
  let synth: SynthResult;
  beforeAll(() => {
    synth = synthesize();
  });
  afterAll(() => synth?.cleanup());

  const resources = () =>
    synth.template.toJSON().Resources as Record<
      string,
      { Type: string; Properties: any; DependsOn?: string[]; DeletionPolicy?: string }
    >;
  const account = () => synth.stack.node.findChild('ApiGatewayAccount') as ApiGatewayAccount;

  it('does not declare AWS::ApiGateway::Account, which would overwrite the role another team set', () => {
    expect(synth.template.findResources('AWS::ApiGateway::Account')).toEqual({});
  });

  it('offers its role through a custom resource backed by the handler, through the Provider framework', () => {
    const settings = Object.entries(resources()).filter(([, r]) => r.Type === API_GATEWAY_ACCOUNT_RESOURCE_TYPE);
    expect(settings).toHaveLength(1);
    const [id, setting] = settings[0]!;
    expect(id).toBe(logicalId(account().setting));
    expect(Object.keys(setting.Properties).sort()).toEqual(['RoleArn', 'ServiceToken']);
    expect(setting.Properties.RoleArn).toEqual(getAtt(account().role, 'Arn'));
    // The service token is the Provider framework's function, which invokes the handler.
    const frameworkId = (setting.Properties.ServiceToken as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const framework = resources()[frameworkId]!;
    expect(framework.Type).toBe('AWS::Lambda::Function');
    expect(JSON.stringify(framework.Properties.Environment)).toContain(logicalId(account().handler));
  });

  it('runs the handler on nodejs22.x with room for its bounded retries', () => {
    const handler = resources()[logicalId(account().handler)]!.Properties;
    expect(handler.Runtime).toBe('nodejs22.x');
    expect(handler.Handler).toBe('index.handler');
    expect(handler.Timeout).toBe(300);
  });

  it('lets the handler only read and patch this region’s account setting and pass this one role to API Gateway', () => {
    const roleId = logicalId(account().handler.role!);
    const statements = Object.values(resources())
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as Record<string, any>[]);
    const accountArn = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, '::/account']],
    };
    const byAction = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
    expect(byAction('apigateway:GET').map((s) => s.Resource)).toEqual([accountArn]);
    expect(byAction('apigateway:PATCH').map((s) => s.Resource)).toEqual([accountArn]);
    expect(byAction('iam:PassRole')).toEqual([
      {
        Action: 'iam:PassRole',
        Effect: 'Allow',
        Resource: getAtt(account().role, 'Arn'),
        Condition: { StringEquals: { 'iam:PassedToService': 'apigateway.amazonaws.com' } },
      },
    ]);
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(['apigateway:GET', 'apigateway:PATCH', 'iam:PassRole', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(statements.every((s) => s.Effect === 'Allow' && s.Resource !== '*')).toBe(true);
    expect(resources()[roleId]!.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('retains the role it offers, since the account setting may point at it after the stack is gone', () => {
    const role = resources()[logicalId(account().role)]!;
    expect(role.DeletionPolicy).toBe('Retain');
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'apigateway.amazonaws.com' });
  });

  it('makes the WebSocket stage (access logs need the setting) wait for the setting', () => {
    const stage = Object.values(resources()).find(
      (r) =>
        r.Type === 'AWS::ApiGatewayV2::Stage' &&
        JSON.stringify(r.Properties.ApiId) === JSON.stringify({ Ref: logicalId(synth.stack.realtime.api) }),
    )!;
    expect(stage.DependsOn).toEqual(expect.arrayContaining([logicalId(account().setting)]));
  });
});

describe('API Gateway account setting with manageApiGatewayAccount=false', () => {
  let synth: SynthResult;
  beforeAll(() => {
    synth = synthesize({ manageApiGatewayAccount: false });
  });
  afterAll(() => synth?.cleanup());

  it('declares nothing that reads or writes the setting, and no role for it', () => {
    const types = Object.values(synth.template.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types).not.toContain(API_GATEWAY_ACCOUNT_RESOURCE_TYPE);
    expect(types).not.toContain('AWS::ApiGateway::Account');
    expect(synth.stack.node.tryFindChild('ApiGatewayAccount')).toBeUndefined();
    expect(JSON.stringify(synth.template.findResources('AWS::IAM::Role'))).not.toContain('apigateway.amazonaws.com');
  });
});
