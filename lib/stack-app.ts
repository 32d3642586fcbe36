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
  const stack = new TaskSyncStack(app, STACK_ID, options.stackProps);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}
