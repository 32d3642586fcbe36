import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { assertDomainPrefix } from './constructs/auth.js';
import { TaskSyncStack, type TaskSyncStackProps } from './stack.js';

/** Construct id and default CloudFormation stack name. */
export const STACK_ID = 'TaskSync';

export interface TaskSyncAppOptions {
  /** Passed to `new App()`: tests give an outdir and cdk.json's context here. */
  readonly appProps?: AppProps;
  readonly stackProps?: TaskSyncStackProps;
  /**
   * Run the cdk-nag packs at synthesis. Only tests about something else
   * (names across regions) turn them off; `cdk synth` always runs them.
   * @default true
   */
  readonly nagChecks?: boolean;
}

/**
 * The CDK app as `cdk synth` builds it (bin/app.ts) and as the infra tests
 * build it: the stack plus the cdk-nag rule packs, which run at synthesis and
 * fail it on any unacknowledged error.
 */
export function createTaskSyncApp(options: TaskSyncAppOptions = {}): { app: App; stack: TaskSyncStack } {
  const app = new App(options.appProps);
  const stack = new TaskSyncStack(app, STACK_ID, { ...stackPropsFromContext(app), ...options.stackProps });
  if (options.nagChecks !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}

/**
 * Deploy-time switches from `-c key=value` (or cdk.json context):
 * retainData, selfSignUp, threatProtection, manageApiGatewayAccount (booleans),
 * domainPrefix, and tombstoneRetentionDays (how long the change feed keeps
 * tombstones and entries; older sync tokens get 410 RESYNC_REQUIRED). Explicit stack props win over context.
 */
export function stackPropsFromContext(app: App): TaskSyncStackProps {
  const props: Record<string, boolean | string> = {};
  for (const key of ['retainData', 'selfSignUp', 'threatProtection', 'manageApiGatewayAccount'] as const) {
    const value: unknown = app.node.tryGetContext(key);
    if (value === undefined) continue;
    if (value === true || value === 'true') props[key] = true;
    else if (value === false || value === 'false') props[key] = false;
    else throw new Error(`Context ${key} must be true or false, got ${JSON.stringify(value)}`);
  }
  const domainPrefix: unknown = app.node.tryGetContext('domainPrefix');
  if (domainPrefix !== undefined) {
    // Checked here so a bad -c value fails before anything is built, naming the switch.
    assertDomainPrefix(String(domainPrefix), 'Context domainPrefix');
    props.domainPrefix = String(domainPrefix);
  }
  const alarmEmail: unknown = app.node.tryGetContext('alarmEmail');
  if (alarmEmail !== undefined) {
    // Deliberately simple: SNS confirms the address by mail anyway; this catches typos like a missing @.
    if (typeof alarmEmail !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
      throw new Error(`Context alarmEmail must be an email address, got ${JSON.stringify(alarmEmail)}`);
    }
    props.alarmEmail = alarmEmail;
  }
  const retention: unknown = app.node.tryGetContext('tombstoneRetentionDays');
  const result = props as TaskSyncStackProps & { tombstoneRetentionDays?: number };
  if (retention !== undefined) {
    const days = Number(retention);
    if (!Number.isInteger(days) || days < 1 || days > 365) {
      throw new Error(
        `Context tombstoneRetentionDays must be a whole number of days from 1 to 365, got ${JSON.stringify(retention)}`,
      );
    }
    result.tombstoneRetentionDays = days;
  }
  return result;
}
