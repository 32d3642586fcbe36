import { checkJava } from './dynamodb/java.js';

export const MIN_NODE_MAJOR = 20;

/** Parses `process.version` (`v20.20.2`) into its major number. */
export function nodeMajor(version = process.version): number {
  return Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
}

/**
 * What `npm start` needs before it starts anything: Node 20+ (this code and
 * the SDK) and Java 17+ (DynamoDB Local). Returns one clear message per
 * missing requirement, each with the fix.
 */
export function checkPrerequisites(): string[] {
  const problems: string[] = [];
  if (nodeMajor() < MIN_NODE_MAJOR) {
    problems.push(
      `Node.js ${MIN_NODE_MAJOR}+ is required, this is ${process.version}. Install it from https://nodejs.org or with nvm: nvm install ${MIN_NODE_MAJOR}`,
    );
  }
  const java = checkJava();
  if (!java.ok) problems.push(java.message);
  return problems;
}
