import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/**
 * The account-wide API Gateway setting "CloudWatch log role ARN". WebSocket
 * API stages (like REST stages) refuse access logging until it is set; HTTP
 * APIs do not need it. It is one value per account and region, so:
 * - the role and the setting are RETAINED: deleting them on `cdk destroy`
 *   would silently break logging for every other API in the region;
 * - accounts where a platform team already manages the setting turn this off
 *   (stack prop `manageApiGatewayAccount: false`).
 */
export class ApiGatewayAccount extends Construct {
  readonly account: apigateway.CfnAccount;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    const role = new iam.Role(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'Lets API Gateway write access and execution logs to CloudWatch Logs (account setting)',
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);

    this.account = new apigateway.CfnAccount(this, 'Account', { cloudWatchRoleArn: role.roleArn });
    this.account.applyRemovalPolicy(RemovalPolicy.RETAIN);

    acknowledge(
      role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'The AWS-documented policy for the account-level API Gateway logging role: API Gateway creates one log group per API stage it logs, named at run time, for every API in the account, so no narrower resource can be written here.',
    );
  }
}
