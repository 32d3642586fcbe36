import path from 'node:path';
import { CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import { nodejsBundling } from './task-function.js';

/** The handler, relative to the project root. */
export const API_GATEWAY_ACCOUNT_HANDLER_ENTRY = 'lambdas/custom-resources/api-gateway-account.ts';
/** CloudFormation type of the setting. */
export const API_GATEWAY_ACCOUNT_RESOURCE_TYPE = 'Custom::ApiGatewayAccountCloudWatchRole';

export interface ApiGatewayAccountProps {
  /** Absolute path of the repository root; the handler entry is relative to it. */
  readonly projectRoot: string;
}

/**
 * The account-wide API Gateway setting "CloudWatch log role ARN". WebSocket
 * API stages (like REST stages) refuse access logging until it is set; HTTP
 * APIs do not need it. It is one value per account and region, shared by
 * every API there, so this never takes it over:
 *
 * - a custom resource (lambdas/custom-resources/api-gateway-account.ts) reads
 *   the setting and writes this construct's role into it only when it is
 *   empty, retrying while the new role propagates through IAM;
 * - on delete it leaves the setting alone, and the role is RETAINED, because
 *   the setting may point at it and other APIs may log through it;
 * - accounts where a platform team manages the setting can leave this out
 *   altogether (stack prop `manageApiGatewayAccount: false`).
 *
 * `AwsCustomResource` cannot express "write only if empty" (its calls are
 * fixed at synth), hence a small function behind the Provider framework.
 */
export class ApiGatewayAccount extends Construct {
  /** The role offered to the account (used only if the account had none). */
  readonly role: iam.Role;
  /** The setting; stages with access logs depend on it. */
  readonly setting: CustomResource;
  readonly handler: NodejsFunction;

  constructor(scope: Construct, id: string, props: ApiGatewayAccountProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.role = new iam.Role(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'Lets API Gateway write access and execution logs to CloudWatch Logs (account setting)',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    });
    this.role.applyRemovalPolicy(RemovalPolicy.RETAIN);

    // The function that reads and (maybe) writes the setting.
    const handlerLogs = new logs.LogGroup(this, 'HandlerLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const handlerRole = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Reads the API Gateway account setting and sets its CloudWatch role when empty',
    });
    const accountArn = stack.formatArn({ service: 'apigateway', account: '', resource: '/account' });
    handlerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [handlerLogs.logGroupArn] }),
    );
    handlerRole.addToPolicy(
      // apigateway:GET is GetAccount, apigateway:PATCH is UpdateAccount, on this region's account resource only.
      new iam.PolicyStatement({ actions: ['apigateway:GET', 'apigateway:PATCH'], resources: [accountArn] }),
    );
    handlerRole.addToPolicy(
      // UpdateAccount passes the role to API Gateway; only this role, only to API Gateway.
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'apigateway.amazonaws.com' } },
      }),
    );

    this.handler = new NodejsFunction(this, 'Handler', {
      entry: path.join(props.projectRoot, API_GATEWAY_ACCOUNT_HANDLER_ENTRY),
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: path.join(props.projectRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // The handler retries IAM propagation for 4 minutes at most.
      timeout: Duration.minutes(5),
      role: handlerRole,
      logGroup: handlerLogs,
      description: `Sets the API Gateway account CloudWatch role only when empty (${API_GATEWAY_ACCOUNT_HANDLER_ENTRY})`,
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      bundling: nodejsBundling(),
    });

    // The Provider framework's own function: invokes the handler and answers CloudFormation.
    const frameworkLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const frameworkRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Provider framework of the API Gateway account setting: invokes its handler (grant added by the framework)',
    });
    frameworkRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [frameworkLogs.logGroupArn] }),
    );
    const provider = new Provider(this, 'Provider', {
      onEventHandler: this.handler,
      frameworkOnEventRole: frameworkRole,
      logGroup: frameworkLogs,
    });

    this.setting = new CustomResource(this, 'Setting', {
      serviceToken: provider.serviceToken,
      resourceType: API_GATEWAY_ACCOUNT_RESOURCE_TYPE,
      properties: { RoleArn: this.role.roleArn },
    });

    const runtimeReason =
      'nodejs22.x is the runtime the team tests every function against (as in task-function.ts); moving to nodejs24.x is a deliberate upgrade, not drift.';
    acknowledge(this.handler, 'AwsSolutions-L1', runtimeReason);
    acknowledge(this.handler, 'Serverless-LambdaLatestVersion', runtimeReason);
    acknowledge(
      this.handler,
      'Serverless-LambdaDLQ',
      'Invoked synchronously by the Provider framework during deployments only; a failure fails the CloudFormation operation, which is the signal. A dead-letter queue would never receive anything.',
    );
    acknowledge(
      this.handler,
      'Serverless-LambdaTracing',
      'Two API Gateway calls per deployment, logged to its own log group; X-Ray would need xray:PutTraceSegments on "*" for traces nobody reads.',
    );
    const frameworkReason =
      'CDK-provided Provider framework function (custom-resources): CloudFormation invokes it once per create/update/delete of the setting, and it reports every failure back to CloudFormation, which fails the deployment; a DLQ or tracing would hold nothing anyone acts on.';
    acknowledge(provider, 'Serverless-LambdaDLQ', frameworkReason);
    acknowledge(provider, 'Serverless-LambdaTracing', frameworkReason);
    acknowledge(
      provider,
      'Serverless-LambdaDefaultMemorySize',
      'CDK-provided Provider framework function: it only relays one small event to the handler and back, for which the 128 MB default is ample; the Provider construct has no memory setting.',
    );
    acknowledge(
      frameworkRole,
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.handler.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      "The Provider framework's own grant (lambda:InvokeFunction on the handler and its versions, `<arn>:*`); it names this one function only.",
    );
    acknowledge(
      this.role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'The AWS-documented policy for the account-level API Gateway logging role: API Gateway creates one log group per API stage it logs, named at run time, for every API in the account, so no narrower resource can be written here.',
    );
  }
}
