import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../lib/definitions.js';
import { stackPropsFromContext } from '../../lib/stack-app.js';
import { logicalId, ref, synthesize, type SynthResult } from './support.js';

describe('observability', () => {
  let synth: SynthResult;
  beforeAll(() => {
    synth = synthesize({ alarmEmail: 'oncall@example.com' });
  });
  afterAll(() => synth?.cleanup());

  type Alarm = { Properties: Record<string, any> };
  const alarms = () => Object.values(synth.template.findResources('AWS::CloudWatch::Alarm')) as Alarm[];
  const alarmOf = (construct: { node: { defaultChild?: unknown } }) =>
    synth.template.toJSON().Resources[logicalId(construct as never)] as Alarm;
  const topic = () => ref(synth.stack.observability.topic);

  it('sends every alarm, and its recovery, to one SNS topic that the alarmEmail address subscribes to', () => {
    expect(alarms().length).toBeGreaterThanOrEqual(8);
    for (const alarm of alarms()) {
      expect(alarm.Properties.AlarmActions).toEqual([topic()]);
      expect(alarm.Properties.OKActions).toEqual([topic()]);
    }
    synth.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: topic(),
    });
  });

  it('pages on propagation lag p99 over 1 s in 3 of 5 minutes, from the broadcaster\u2019s own metric', () => {
    const [lag] = synth.stack.observability.alarms;
    expect(alarmOf(lag!).Properties).toMatchObject({
      Namespace: METRICS.namespace,
      MetricName: METRICS.propagationLag,
      Dimensions: [{ Name: 'service', Value: METRICS.services.broadcaster }],
      ExtendedStatistic: 'p99',
      Threshold: 1000,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('pages on more than 1 % of HTTP API requests answered 5xx', () => {
    const http = synth.stack.observability.alarms[1]!;
    const props = alarmOf(http).Properties;
    expect(props.Threshold).toBe(1);
    const expression = (props.Metrics as { Expression?: string }[]).find((m) => m.Expression)?.Expression;
    expect(expression).toBe('IF(requests > 0, 100 * errors / requests, 0)');
    expect(JSON.stringify(props.Metrics)).toContain('"MetricName":"5xx"');
  });

  it('pages on any DynamoDB throttling of each table', () => {
    const throttles = synth.stack.observability.alarms.slice(2).map((a) => alarmOf(a).Properties);
    expect(throttles).toHaveLength(3);
    for (const props of throttles) {
      expect(props.Threshold).toBe(0);
      const names = (props.Metrics as { MetricStat?: { Metric: { MetricName: string } } }[])
        .flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : []))
        .sort();
      expect(names).toEqual(['ReadThrottleEvents', 'WriteThrottleEvents']);
    }
  });

  it('keeps the broadcaster\u2019s alarms: failure queue, errors, iterator age', () => {
    const names = alarms()
      .map((a) => a.Properties.MetricName)
      .filter(Boolean);
    expect(names).toEqual(expect.arrayContaining(['ApproximateNumberOfMessagesVisible', 'Errors', 'IteratorAge']));
  });

  it('draws a dashboard from the handlers\u2019 metrics and the AWS services\u2019', () => {
    const dashboards = Object.values(synth.template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify((dashboards[0] as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody);
    for (const name of [
      METRICS.propagationLag,
      METRICS.postsDelivered,
      METRICS.changeFeedEntries,
      METRICS.authorizerRefusals,
      METRICS.coldStart,
    ]) {
      expect(body).toContain(name);
    }
    for (const name of ['IteratorAge', 'Throttles', 'Duration', 'ConnectCount', '5xx', 'ConsumedReadCapacityUnits'])
      expect(body).toContain(name);
  });

  it('enforces TLS on the topic', () => {
    synth.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('alarmEmail context', () => {
  it('is read from -c alarmEmail and refuses what is not an address', () => {
    expect(stackPropsFromContext(new App({ context: { alarmEmail: 'ops@example.com' } }))).toEqual({
      alarmEmail: 'ops@example.com',
    });
    expect(() => stackPropsFromContext(new App({ context: { alarmEmail: 'ops.example.com' } }))).toThrow(
      /alarmEmail must be an email address/,
    );
  });
});
