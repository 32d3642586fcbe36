import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { FUNCTIONS, METRICS, type FunctionName } from '../definitions.js';
import { acknowledge } from './nag.js';
import type { TaskSyncFunction } from './task-function.js';

export interface ObservabilityProps {
  readonly functions: Record<FunctionName, TaskSyncFunction>;
  readonly httpApi: apigwv2.HttpApi;
  readonly webSocketApi: apigwv2.WebSocketApi;
  readonly webSocketStage: string;
  readonly tables: Record<'tasks' | 'changes' | 'connections', dynamodb.ITable>;
  /** Alarms made elsewhere (the broadcaster's) that should notify the same topic. */
  readonly existingAlarms: cloudwatch.Alarm[];
  /** Subscribed to the alarm topic when set. @default no subscription */
  readonly alarmEmail?: string;
  /** Propagation lag p99 that pages someone, in ms. @default 1000 */
  readonly propagationLagP99Ms?: number;
  /** Share of HTTP API requests answered 5xx that pages someone, in %. @default 1 */
  readonly http5xxPercent?: number;
}

const PERIOD = Duration.minutes(1);

/**
 * What an operator of this stack looks at and is paged by: the handlers'
 * own metrics (METRICS, embedded metric format), Lambda, API Gateway and
 * DynamoDB metrics on one CloudWatch dashboard, and alarms that notify one
 * SNS topic (`-c alarmEmail=` subscribes an address).
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: `${stack.stackName} alarms`, enforceSSL: true });
    if (props.alarmEmail) {
      const subscription = this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      acknowledge(
        subscription,
        'Serverless-SNSRedrivePolicy',
        'A mail that cannot be delivered has no consumer to retry it from a queue; the alarm itself stays visible in CloudWatch and on the dashboard.',
      );
    }

    const custom = (name: string, service: string, statistic: string, label?: string) =>
      new cloudwatch.Metric({
        namespace: METRICS.namespace,
        metricName: name,
        dimensionsMap: { service },
        statistic,
        period: PERIOD,
        ...(label ? { label } : {}),
      });
    const broadcaster = METRICS.services.broadcaster;
    const tasksApi = METRICS.services.tasksApi;
    const wsApi = (metricName: string, statistic = cloudwatch.Stats.SUM) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: props.webSocketApi.apiId, Stage: props.webSocketStage },
        statistic,
        period: PERIOD,
      });

    const lagP99 = custom(METRICS.propagationLag, broadcaster, 'p99', 'lag p99');
    const http5xxRate = new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: {
        errors: props.httpApi.metricServerError({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        requests: props.httpApi.metricCount({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      },
      label: 'HTTP 5xx %',
      period: Duration.minutes(5),
    });

    this.alarms.push(
      new cloudwatch.Alarm(this, 'PropagationLagAlarm', {
        alarmDescription: `Task events reach clients slowly: the p99 of PropagationLag is over ${props.propagationLagP99Ms ?? 1000} ms in 3 of 5 minutes.`,
        // Without a label, so the alarm holds the metric itself (a labelled one becomes a metric math query).
        metric: custom(METRICS.propagationLag, broadcaster, 'p99'),
        threshold: props.propagationLagP99Ms ?? 1000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'Http5xxRateAlarm', {
        alarmDescription: `More than ${props.http5xxPercent ?? 1} % of task API requests answered 5xx over 5 minutes, twice in a row.`,
        metric: http5xxRate,
        threshold: props.http5xxPercent ?? 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    for (const [name, table] of Object.entries(props.tables)) {
      this.alarms.push(
        new cloudwatch.Alarm(this, `${name[0]!.toUpperCase()}${name.slice(1)}ThrottleAlarm`, {
          alarmDescription: `DynamoDB throttled requests on the ${name} table (on-demand limits or a hot partition).`,
          metric: new cloudwatch.MathExpression({
            expression: 'reads + writes',
            usingMetrics: {
              reads: table.metric('ReadThrottleEvents', { period: PERIOD, statistic: cloudwatch.Stats.SUM }),
              writes: table.metric('WriteThrottleEvents', { period: PERIOD, statistic: cloudwatch.Stats.SUM }),
            },
            label: `${name} throttle events`,
            period: PERIOD,
          }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    const notify = new actions.SnsAction(this.topic);
    for (const alarm of [...props.existingAlarms, ...this.alarms]) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    const fns = Object.keys(FUNCTIONS) as FunctionName[];
    const perFunction = (metric: (fn: TaskSyncFunction) => cloudwatch.IMetric) => fns.map((fn) => metric(props.functions[fn]));
    const graph = (title: string, left: cloudwatch.IMetric[], width = 8) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${stack.stackName}-${stack.region}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: [...props.existingAlarms, ...this.alarms],
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      graph('Propagation lag (ms): change → post', [
        custom(METRICS.propagationLag, broadcaster, 'p50', 'p50'),
        custom(METRICS.propagationLag, broadcaster, 'p90', 'p90'),
        lagP99,
      ]),
      graph('Posts per minute', [
        custom(METRICS.postsDelivered, broadcaster, 'Sum', 'delivered'),
        custom(METRICS.postsGone, broadcaster, 'Sum', 'gone (410)'),
        custom(METRICS.postsFailed, broadcaster, 'Sum', 'failed'),
      ]),
      graph('Stream batches', [
        custom(METRICS.recordsPerBatch, broadcaster, 'Average', 'records per batch'),
        custom(METRICS.usersPerBatch, broadcaster, 'Average', 'users per batch'),
        custom(METRICS.framesPerConnection, broadcaster, 'Average', 'frames per connection'),
        props.functions.broadcaster.function.metric('IteratorAge', {
          period: PERIOD,
          statistic: cloudwatch.Stats.MAXIMUM,
          label: 'iterator age max (ms)',
        }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Task API outcomes per minute', [
        custom(METRICS.taskWrites, tasksApi, 'Sum', 'writes'),
        custom(METRICS.preconditionFailed, tasksApi, 'Sum', '412'),
        custom(METRICS.conflicts, tasksApi, 'Sum', '409'),
        custom(METRICS.resyncRequired, tasksApi, 'Sum', '410 resync'),
      ]),
      graph('Change feed per minute', [
        custom(METRICS.changeFeedPages, tasksApi, 'Sum', 'pages'),
        custom(METRICS.changeFeedEntries, tasksApi, 'Sum', 'entries'),
      ]),
      graph('Handshakes and cold starts', [
        custom(METRICS.authorizerRefusals, METRICS.services.wsAuthorizer, 'Sum', 'authorizer refusals'),
        ...Object.values(METRICS.services).map((service) => custom(METRICS.coldStart, service, 'Sum', `cold starts ${service}`)),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        perFunction((f) => f.function.metricErrors({ period: PERIOD, label: f.function.node.id })),
      ),
      graph(
        'Lambda throttles',
        perFunction((f) => f.function.metricThrottles({ period: PERIOD, label: f.function.node.id })),
      ),
      graph(
        'Lambda duration p99 (ms)',
        perFunction((f) => f.function.metricDuration({ period: PERIOD, statistic: 'p99', label: f.function.node.id })),
      ),
    );
    this.dashboard.addWidgets(
      graph('HTTP API', [
        props.httpApi.metricCount({ period: PERIOD, label: 'requests' }),
        props.httpApi.metricClientError({ period: PERIOD, label: '4xx' }),
        props.httpApi.metricServerError({ period: PERIOD, label: '5xx' }),
      ]),
      graph('WebSocket API', [
        wsApi('ConnectCount'),
        wsApi('MessageCount'),
        wsApi('ClientError'),
        wsApi('IntegrationError'),
        wsApi('ExecutionError'),
      ]),
      graph('HTTP API latency p99 (ms)', [props.httpApi.metricLatency({ period: PERIOD, statistic: 'p99' })]),
    );
    this.dashboard.addWidgets(
      ...Object.entries(props.tables).map(([name, table]) =>
        graph(`DynamoDB ${name}`, [
          table.metricConsumedReadCapacityUnits({ period: PERIOD, label: 'read units' }),
          table.metricConsumedWriteCapacityUnits({ period: PERIOD, label: 'write units' }),
          table.metric('ReadThrottleEvents', { period: PERIOD, statistic: cloudwatch.Stats.SUM, label: 'read throttles' }),
          table.metric('WriteThrottleEvents', { period: PERIOD, statistic: cloudwatch.Stats.SUM, label: 'write throttles' }),
        ]),
      ),
    );
  }
}
