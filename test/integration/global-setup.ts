import type { TestProject } from 'vitest/node';
import { startLocalStack, type RunningStack } from '../support/local-stack.js';
import '../support/stack-info.js';

let stack: RunningStack | undefined;

/** The real local stack, started once for the integration and e2e files. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  stack = await startLocalStack(['--poll-interval-ms', '50']);
  project.provide('stack', stack.info);
  return async () => {
    await stack?.stop();
  };
}
