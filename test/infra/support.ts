import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CfnElement, Stack, type App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { createTaskSyncApp } from '../../lib/stack-app.js';
import { PROJECT_ROOT, type TaskSyncStack, type TaskSyncStackProps } from '../../lib/stack.js';

/** The context `cdk synth` gets from cdk.json (feature flags), so tests see the same behaviour. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export interface BuiltApp {
  readonly app: App;
  readonly stack: TaskSyncStack;
  /** The temporary cloud assembly directory. */
  readonly outdir: string;
  /** Removes the temporary cloud assembly and web build; call in afterAll. */
  cleanup(): void;
}

export interface SynthResult extends BuiltApp {
  readonly template: Template;
}

/**
 * The stand-in for web/dist: the kinds of file web/build.ts writes, hashed
 * (`[name]-[hash]`, with source maps) and unhashed.
 */
export const WEB_BUILD: Readonly<Record<string, string>> = {
  'index.html':
    '<!doctype html><title>Tasks</title><link rel="stylesheet" href="styles-OO54WBVG.css"><script type="module" src="app-N2KP6Z7Z.js"></script>\n',
  'favicon.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
  'app-N2KP6Z7Z.js': 'console.log("tasks");\n',
  'app-N2KP6Z7Z.js.map': '{"version":3,"sources":[],"mappings":""}\n',
  'styles-OO54WBVG.css': 'body{margin:0}\n',
};

/**
 * Builds the app exactly as bin/app.ts does (stack + cdk-nag packs, cdk.json
 * context) into a temporary directory, without bundling the handlers
 * (`aws:cdk:bundling-stacks: []`) and with WEB_BUILD as web/dist.
 */
export interface BuildOptions {
  /** @default true: the cdk-nag packs run at synthesis, as in `cdk synth` */
  readonly nagChecks?: boolean;
}

export function buildApp(stackProps: TaskSyncStackProps = {}, options: BuildOptions = {}): BuiltApp {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'infra-cdk-out-'));
  const webDist = fs.mkdtempSync(path.join(os.tmpdir(), 'infra-web-dist-'));
  for (const [name, content] of Object.entries(WEB_BUILD)) fs.writeFileSync(path.join(webDist, name), content);
  const { app, stack } = createTaskSyncApp({
    appProps: { outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } },
    stackProps: { webDistPath: webDist, ...stackProps },
    ...(options.nagChecks === false ? { nagChecks: false } : {}),
  });
  return {
    app,
    stack,
    outdir,
    cleanup() {
      fs.rmSync(outdir, { recursive: true, force: true });
      fs.rmSync(webDist, { recursive: true, force: true });
    },
  };
}

/** buildApp, then one synthesis (which fails on any unacknowledged cdk-nag error). */
export function synthesize(stackProps: TaskSyncStackProps = {}, options: BuildOptions = {}): SynthResult {
  const built = buildApp(stackProps, options);
  try {
    built.app.synth();
  } catch (error) {
    built.cleanup();
    throw error;
  }
  return { ...built, template: Template.fromStack(built.stack) };
}

/** Logical id of a construct's CloudFormation resource (an L2 construct's default child). */
export function logicalId(construct: IConstruct): string {
  const element = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (!element || !CfnElement.isCfnElement(element)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(element);
}

export const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });
export const getAtt = (construct: IConstruct, attribute: string) => ({ 'Fn::GetAtt': [logicalId(construct), attribute] });

export interface Statement {
  actions: string[];
  resource: unknown;
}

/**
 * Every Allow statement of the inline policies attached to a role, one entry
 * per (action list, resource), actions sorted: the shape IAM evaluates.
 */
export function roleStatements(template: Template, role: IConstruct): Statement[] {
  const roleId = logicalId(role);
  const policies = template.findResources('AWS::IAM::Policy');
  const statements: Statement[] = [];
  for (const policy of Object.values(policies)) {
    const props = policy.Properties as {
      Roles: unknown[];
      PolicyDocument: { Statement: { Effect: string; Action: string | string[]; Resource: unknown }[] };
    };
    if (!props.Roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }))) continue;
    for (const statement of props.PolicyDocument.Statement) {
      if (statement.Effect !== 'Allow') continue;
      const actions = [statement.Action].flat().sort();
      for (const resource of [statement.Resource].flat()) statements.push({ actions, resource });
    }
  }
  return statements;
}
