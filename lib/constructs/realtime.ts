import { Duration, Lazy, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IDependable } from 'constructs';
import {
  PRESENCE_MAPPING,
  QUEUES,
  STREAM_MAPPING,
  WS_AUTHORIZER,
  WS_ROUTE_SELECTION_EXPRESSION,
  WS_ROUTES,
  type FunctionName,
} from '../definitions.js';
import type { Throttle } from './http-api.js';
import { pascal } from './http-api.js';
import { acknowledge } from './nag.js';
import { TaskSyncFunction, type EnvironmentValues } from './task-function.js';

export interface RealtimeProps {
  readonly projectRoot: string;
  readonly tasksTable: dynamodb.ITable;
  readonly connectionsTable: dynamodb.ITable;
  /** The change feed's entries: `ping` with `since` asks whether any follow the token. */
  readonly changesTable: dynamodb.ITable;
  /** CHANGE_RETENTION_SECONDS of the `$default` function. */
  readonly changeRetentionSeconds: string;
  /** `iss` the WebSocket authorizer accepts (the Cognito user pool URL). */
  readonly jwtIssuer: string;
  /** `aud`/`client_id` the WebSocket authorizer accepts (the app client id). */
  readonly jwtAudience: string;
  /** @default 'prod' */
  readonly stageName?: string;
  /** @default { rateLimit: 50, burstLimit: 100 } */
  readonly throttle?: Throttle;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Something the stage must be created after: the account-level API Gateway
   * CloudWatch role, without which a WebSocket stage with access logs fails to create.
   * @default - none (the account already has the role)
   */
  readonly stageDependsOn?: IDependable;
}

/**
 * Access log fields of the WebSocket API. The JWT travels in the `token`
 * query string of the `$connect` request, so nothing that could echo the
 * request URL or headers is logged (no path, query string, or header
 * variables); the authorizer's principal is logged instead.
 */
export const WS_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  status: '$context.status',
  connectionId: '$context.connectionId',
  messageId: '$context.messageId',
  userId: '$context.authorizer.principalId',
  authorizeStatus: '$context.authorize.status',
  authorizerError: '$context.authorizer.error',
  integrationError: '$context.integration.error',
  errorMessage: '$context.error.message',
};

/**
 * The WebSocket side: the API with its REQUEST authorizer on `$connect`, the
 * route handlers, and the broadcaster fed by the tasks table stream with an
 * SQS on-failure destination and alarms.
 */
export class Realtime extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly functions = {} as Record<FunctionName, TaskSyncFunction>;
  readonly failureQueue: sqs.Queue;
  readonly alarms: cloudwatch.Alarm[] = [];
  /** `wss://<id>.execute-api.<region>.amazonaws.com/<stage>` */
  readonly url: string;

  constructor(scope: Construct, id: string, props: RealtimeProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'prod';
    const fn = (name: FunctionName, environment: EnvironmentValues) => {
      const created = new TaskSyncFunction(this, pascal(name), {
        fn: name,
        projectRoot: props.projectRoot,
        environment,
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      });
      this.functions[name] = created;
      return created;
    };

    const authorizerFn = fn(WS_AUTHORIZER.fn, {
      jwtIssuer: props.jwtIssuer,
      jwtAudience: props.jwtAudience,
      jwksUri: `${props.jwtIssuer}/.well-known/jwks.json`,
    });
    const connectionsEnv = { connectionsTable: props.connectionsTable.tableName };
    const connect = fn(WS_ROUTES.$connect, connectionsEnv);
    const disconnect = fn(WS_ROUTES.$disconnect, connectionsEnv);
    // The stage (and its callback URL) can only exist after the API, which needs this function
    // for its $default integration: the URL is resolved at synth. It names only the API id, so
    // there is no dependency cycle (function → API; integration → function).
    const callbackUrl = Lazy.string({ produce: () => this.stage.callbackUrl });
    const fallback = fn(WS_ROUTES.$default, {
      changesTable: props.changesTable.tableName,
      changeRetentionSeconds: props.changeRetentionSeconds,
      connectionsTable: props.connectionsTable.tableName,
      wsManagementEndpoint: callbackUrl,
    });

    const authorizer = new WebSocketLambdaAuthorizer('TokenAuthorizer', authorizerFn.function, {
      identitySource: [WS_AUTHORIZER.identitySource],
    });
    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-events`,
      description: 'Task events WebSocket API (token query string checked on $connect)',
      routeSelectionExpression: WS_ROUTE_SELECTION_EXPRESSION,
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', connect.function),
        authorizer,
      },
      disconnectRouteOptions: {
        integration: new WebSocketLambdaIntegration('DisconnectIntegration', disconnect.function),
      },
      // hello / ping / anything else: the handler's return value is the reply frame.
      defaultRouteOptions: {
        integration: new WebSocketLambdaIntegration('DefaultIntegration', fallback.function),
        returnResponse: true,
      },
    });
    // API Gateway runs authorizers only on $connect; later routes ride on the
    // connection that was authorized there and carry its context.
    acknowledge(
      this.api,
      'AwsSolutions-APIG4',
      'WebSocket APIs accept an authorizer only on $connect, which has the REQUEST authorizer; $disconnect and $default run on that authorized connection and receive its authorizer context.',
    );

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const throttle = props.throttle ?? { rateLimit: 50, burstLimit: 100 };
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName,
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(WS_ACCESS_LOG_FIELDS)),
      },
    });
    if (props.stageDependsOn) this.stage.node.addDependency(props.stageDependsOn);
    this.url = this.stage.url;

    const broadcaster = fn(STREAM_MAPPING.fn, {
      connectionsTable: props.connectionsTable.tableName,
      wsManagementEndpoint: this.stage.callbackUrl,
    });
    const presence = fn(PRESENCE_MAPPING.fn, {
      connectionsTable: props.connectionsTable.tableName,
      wsManagementEndpoint: this.stage.callbackUrl,
    });

    this.failureQueue = new sqs.Queue(this, QUEUES[STREAM_MAPPING.onFailure].id, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.failureQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the terminal on-failure destination of the stream mapping; it holds batch pointers (shard, sequence numbers) for an operator to inspect, and nothing consumes it, so there is nothing to redrive from it.',
    );
    acknowledge(
      this.failureQueue,
      'Serverless-SQSRedrivePolicy',
      'This queue is itself the terminal on-failure destination of the stream mapping; nothing consumes it, so a redrive policy would never trigger.',
    );

    // Exactly FUNCTIONS[fn].permissions (lib/definitions.ts), which the local runtime enforces too.
    for (const created of Object.values(this.functions)) {
      created.grantDefinedPermissions({
        tables: { tasks: props.tasksTable, connections: props.connectionsTable, changes: props.changesTable },
        webSocket: { apiId: this.api.apiId, stageName },
        queues: { [STREAM_MAPPING.onFailure]: this.failureQueue },
      });
    }

    // The mapping DynamoEventSource would create (same construct id, so the same logical id and
    // no replacement on deploy), without its implicit grants (grantStreamRead, and SqsDlq's
    // grantSendMessages): the stream and queue permissions it needs are in the definition.
    const streamTable = props[`${STREAM_MAPPING.table}Table`];
    if (!streamTable.tableStreamArn) throw new Error(`the ${STREAM_MAPPING.table} table has no stream`);
    const failureQueueArn = this.failureQueue.queueArn;
    broadcaster.function.addEventSourceMapping(`DynamoDBEventSource:${Names.nodeUniqueId(streamTable.node)}`, {
      eventSourceArn: streamTable.tableStreamArn,
      startingPosition: lambda.StartingPosition[STREAM_MAPPING.startingPosition],
      batchSize: STREAM_MAPPING.batchSize,
      maxBatchingWindow: Duration.seconds(STREAM_MAPPING.maxBatchingWindowSeconds),
      reportBatchItemFailures: STREAM_MAPPING.reportBatchItemFailures,
      bisectBatchOnError: STREAM_MAPPING.bisectBatchOnError,
      retryAttempts: STREAM_MAPPING.retryAttempts,
      maxRecordAge: Duration.seconds(STREAM_MAPPING.maxRecordAgeSeconds),
      parallelizationFactor: STREAM_MAPPING.parallelizationFactor,
      onFailure: { bind: () => ({ destination: failureQueueArn }) },
    });

    // Presence: the connections table's stream (KEYS_ONLY), each user named in a batch gets their count.
    const connectionsStreamArn = props.connectionsTable.tableStreamArn;
    if (!connectionsStreamArn) throw new Error(`the ${PRESENCE_MAPPING.table} table has no stream`);
    const presenceMapping = presence.function.addEventSourceMapping(
      `DynamoDBEventSource:${Names.nodeUniqueId(props.connectionsTable.node)}`,
      {
        eventSourceArn: connectionsStreamArn,
        startingPosition: lambda.StartingPosition[PRESENCE_MAPPING.startingPosition],
        batchSize: PRESENCE_MAPPING.batchSize,
        maxBatchingWindow: Duration.seconds(PRESENCE_MAPPING.maxBatchingWindowSeconds),
        reportBatchItemFailures: PRESENCE_MAPPING.reportBatchItemFailures,
        bisectBatchOnError: PRESENCE_MAPPING.bisectBatchOnError,
        retryAttempts: PRESENCE_MAPPING.retryAttempts,
        maxRecordAge: Duration.seconds(PRESENCE_MAPPING.maxRecordAgeSeconds),
        parallelizationFactor: PRESENCE_MAPPING.parallelizationFactor,
      },
    );
    acknowledge(
      presenceMapping,
      'Serverless-LambdaEventSourceMappingDestination',
      "A PRESENCE frame is a recount of the user's connections, outdated by the next connect or disconnect; a batch that fails its retries is dropped on purpose (records older than a minute are worthless), and the next change of that user sends a correct count again. There is nothing to redrive.",
    );

    for (const mapped of [broadcaster, presence]) {
      acknowledge(
        mapped.role,
        'AwsSolutions-IAM5[Resource::*]',
        'dynamodb:ListStreams, which the event source mapping requires, supports no resource-level permissions (Service Authorization Reference), so its statement must name "*"; every other stream action is on the table stream ARN.',
      );
    }
    const connectionsArn = (method: string) =>
      `Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalIdOf(this.api)}>/${stageName}/${method}/@connections/*`;
    for (const [caller, methods] of [
      [broadcaster, ['POST']],
      [presence, ['POST']],
      [fallback, ['POST', 'DELETE']],
    ] as const) {
      for (const method of methods) {
        acknowledge(
          caller.role,
          `AwsSolutions-IAM5[${connectionsArn(method)}]`,
          `Connection ids are created at run time, so the @connections resource ends in a wildcard; it is pinned to this API, this stage and the ${method} method.`,
        );
      }
    }

    this.alarms.push(
      new cloudwatch.Alarm(this, 'FailedBatchesAlarm', {
        alarmDescription:
          'Stream batches the broadcaster gave up on (after retries) are waiting in the failure queue: some clients missed task events.',
        metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'BroadcasterErrorsAlarm', {
        alarmDescription: 'The broadcaster failed invocations (the batch is retried, then bisected).',
        metric: broadcaster.function.metricErrors({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'PresenceErrorsAlarm', {
        alarmDescription:
          'The presence function failed invocations: device counts on the dashboards may be stale until the next connect or disconnect.',
        metric: presence.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'BroadcasterIteratorAgeAlarm', {
        alarmDescription: 'Task events reach clients more than a minute late: the broadcaster is falling behind the stream.',
        metric: broadcaster.function.metric('IteratorAge', {
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 60_000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}

function logicalIdOf(api: apigwv2.WebSocketApi): string {
  const cfn = api.node.defaultChild as apigwv2.CfnApi;
  return Stack.of(api).getLogicalId(cfn);
}
