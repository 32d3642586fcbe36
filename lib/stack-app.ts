import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { TaskSyncStack, type TaskSyncStackProps } from './stack.js';

/** Construct id and default CloudFormation stack name. */
export const STACK_ID = 'TaskSync';

export interface TaskSyncAppOptions {
  /** Passed to `new App()`: tests give an outdir and cdk.json's context here. */
  readonly appProps?: AppProps;
  readonly stackProps?: TaskSyncStackProps;
}

/**
 * The CDK app as `cdk synth` builds it (bin/app.ts) and as the infra tests
 * build it: the stack plus the cdk-nag rule packs, which run at synthesis and
 * fail it on any unacknowledged error.
 */
export function createTaskSyncApp(options: TaskSyncAppOptions = {}): { app: App; stack: TaskSyncStack } {
  const app = new App(options.appProps);
  const stack = new TaskSyncStack(app, STACK_ID, { ...stackPropsFromContext(app), ...options.stackProps });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}

/**
 * Deploy-time switches from `-c key=value` (or cdk.json context):
 * retainData, selfSignUp, threatProtection, manageApiGatewayAccount (booleans)
 * and domainPrefix. Explicit stack props win over context.
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
  if (domainPrefix !== undefined) props.domainPrefix = String(domainPrefix);
  return props as TaskSyncStackProps;
}
