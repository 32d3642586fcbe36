import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../lib/stack-app.js';
import { logicalId, synthesize, type SynthResult } from './support.js';

/** The stack props that change behaviour, all flipped from their defaults in one synthesis. */
describe('stack options', () => {
  let synth: SynthResult;
  beforeAll(() => {
    synth = synthesize({
      retainData: false,
      selfSignUp: true,
      threatProtection: true,
      manageApiGatewayAccount: false,
      domainPrefix: 'my-tasks-demo',
      devOrigins: ['http://localhost:5173'],
      webSocketStageName: 'live',
      httpThrottle: { rateLimit: 5, burstLimit: 10 },
    });
  });
  afterAll(() => synth?.cleanup());

  const resource = (id: string) =>
    synth.template.toJSON().Resources[id] as { Properties: Record<string, any>; DeletionPolicy?: string };

  it('destroys the tasks table and the user pool with the stack when retainData is false', () => {
    const tasks = resource(logicalId(synth.stack.data.tasksTable));
    expect(tasks.DeletionPolicy).toBe('Delete');
    expect(tasks.Properties.DeletionProtectionEnabled).toBe(false);
    const pool = resource(logicalId(synth.stack.auth.userPool));
    expect(pool.DeletionPolicy).toBe('Delete');
    expect(pool.Properties.DeletionProtection).toBe('INACTIVE');
  });

  it('opens self sign-up and enforces threat protection on the Plus plan when asked', () => {
    const pool = resource(logicalId(synth.stack.auth.userPool)).Properties;
    expect(pool.AdminCreateUserConfig.AllowAdminCreateUserOnly).toBe(false);
    expect(pool.UserPoolTier).toBe('PLUS');
    expect(pool.UserPoolAddOns).toEqual({ AdvancedSecurityMode: 'ENFORCED' });
  });

  it('leaves the account-level API Gateway role alone when manageApiGatewayAccount is false', () => {
    expect(synth.template.findResources('AWS::ApiGateway::Account')).toEqual({});
  });

  it('uses the given login domain prefix, dev origins, stage name and throttle', () => {
    synth.template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'my-tasks-demo' });
    const api = resource(logicalId(synth.stack.httpApi.api)).Properties;
    expect(api.CorsConfiguration.AllowOrigins.slice(1)).toEqual(['http://localhost:5173']);
    const client = Object.values(synth.template.findResources('AWS::Cognito::UserPoolClient'))[0]!.Properties;
    expect(client.CallbackURLs.slice(1)).toEqual(['http://localhost:5173/']);
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'live',
      ApiId: { Ref: logicalId(synth.stack.realtime.api) },
    });
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    const broadcasterPolicy = JSON.stringify(synth.template.findResources('AWS::IAM::Policy'));
    expect(broadcasterPolicy).toContain('/live/POST/@connections/*');
  });
});

describe('deploy-time context switches', () => {
  it('reads retainData and the other switches from -c context, as strings or booleans', () => {
    const app = new App({ context: { retainData: 'false', selfSignUp: true, domainPrefix: 'demo-1' } });
    expect(stackPropsFromContext(app)).toEqual({ retainData: false, selfSignUp: true, domainPrefix: 'demo-1' });
  });

  it('reads tombstoneRetentionDays as whole days and refuses anything else', () => {
    expect(stackPropsFromContext(new App({ context: { tombstoneRetentionDays: '7' } }))).toEqual({ tombstoneRetentionDays: 7 });
    for (const bad of ['0', '1.5', 'week', '400']) {
      expect(() => stackPropsFromContext(new App({ context: { tombstoneRetentionDays: bad } })), bad).toThrow(
        /tombstoneRetentionDays must be a whole number of days/,
      );
    }
  });

  it('refuses a switch that is not true or false', () => {
    const app = new App({ context: { retainData: 'no' } });
    expect(() => stackPropsFromContext(app)).toThrow(/retainData must be true or false/);
  });
});
