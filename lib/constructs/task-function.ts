import path from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LAMBDA_BUNDLING } from '../bundling.js';
import {
  commonEnvironment,
  environmentFor,
  ENV,
  FUNCTIONS,
  type FunctionName,
  type Permission,
  type PermissionResource,
  type QueueKey,
  type TableKey,
} from '../definitions.js';
import { acknowledge } from './nag.js';

export { environmentFor } from '../definitions.js';

/** Values for the ENV keys a function may need; each function receives only those FUNCTIONS[fn].env names. */
export type EnvironmentValues = Partial<Record<keyof typeof ENV, string>>;

/**
 * The deployed resources a definition's PermissionResource can name. A
 * construct passes those it owns; a permission naming one it did not pass
 * fails the synthesis instead of being left out.
 */
export interface PermissionTargets {
  readonly tables?: Partial<Record<TableKey, dynamodb.ITable>>;
  /** The WebSocket API and stage whose `@connections` the function may call. */
  readonly webSocket?: { readonly apiId: string; readonly stageName: string };
  readonly queues?: Partial<Record<QueueKey, sqs.IQueue>>;
}

export interface TaskSyncFunctionProps {
  /** Which entry of FUNCTIONS this is: entry file, memory, timeout and env names come from there. */
  readonly fn: FunctionName;
  /** Absolute path of the repository root; FUNCTIONS[fn].entry is relative to it. */
  readonly projectRoot: string;
  /** Values for the function's ENV keys. A key the function needs but that is missing here throws at synth. */
  readonly environment: EnvironmentValues;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default 'INFO' */
  readonly logLevel?: string;
}

/**
 * One Lambda function from FUNCTIONS: bundled locally with esbuild, nodejs22.x
 * on arm64, its own log group with retention and its own role that holds only
 * the permission to write to that log group. The owning construct then calls
 * grantDefinedPermissions() once with the resources, which grants exactly
 * FUNCTIONS[fn].permissions: no other grant is made on these roles.
 */
export class TaskSyncFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  private readonly fn: FunctionName;
  private granted = false;

  constructor(scope: Construct, id: string, props: TaskSyncFunctionProps) {
    super(scope, id);
    this.fn = props.fn;
    const definition = FUNCTIONS[props.fn];

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // Logs are operational, not product data; they go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // An own role instead of the default one: the default attaches the managed
    // AWSLambdaBasicExecutionRole (logs:CreateLogGroup etc. on every log group).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.fn}: writes its own log group; everything else is FUNCTIONS.${props.fn}.permissions`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(props.projectRoot, definition.entry),
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: path.join(props.projectRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: definition.memoryMb,
      timeout: Duration.seconds(definition.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      description: `${props.fn} (${definition.entry})`,
      environment: {
        ...environmentFor(props.fn, props.environment),
        ...commonEnvironment(props.fn, props.logLevel ?? 'INFO'),
      },
      bundling: nodejsBundling(),
    });

    const runtimeReason =
      'nodejs22.x is the runtime the team tests against (Node 20/22 locally); moving to nodejs24.x is a deliberate upgrade, not drift.';
    acknowledge(this.function, 'AwsSolutions-L1', runtimeReason);
    acknowledge(this.function, 'Serverless-LambdaLatestVersion', runtimeReason);
    acknowledge(
      this.function,
      'Serverless-LambdaTracing',
      'Observability is structured Powertools logs plus CloudWatch metrics and alarms; X-Ray would need xray:PutTraceSegments on "*" (no resource-level permissions) for traces the handlers do not instrument.',
    );
    acknowledge(
      this.function,
      'Serverless-LambdaDLQ',
      'Never invoked asynchronously: API Gateway invokes it synchronously, or the stream event source mapping does (with its own SQS on-failure destination), so an async dead-letter queue would never receive anything.',
    );
  }

  /**
   * Grants FUNCTIONS[fn].permissions, nothing more, one statement per
   * permission (IAM policy minimization may merge them). Call it once.
   */
  grantDefinedPermissions(targets: PermissionTargets): void {
    if (this.granted) throw new Error(`${this.fn}: permissions were already granted`);
    this.granted = true;
    for (const permission of FUNCTIONS[this.fn].permissions) {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          actions: [...permission.actions],
          resources: [resourceArn(this, this.fn, permission, targets)],
        }),
      );
    }
  }
}

/** The deployed ARN of a definition's resource. */
export function resourceArn(scope: Construct, fn: FunctionName, permission: Permission, targets: PermissionTargets): string {
  const resource: PermissionResource = permission.resource;
  const missing = (what: string) => new Error(`FUNCTIONS.${fn}.permissions names ${what}, which its construct did not pass`);
  if (resource === '*') return '*';
  if ('table' in resource) {
    const table = targets.tables?.[resource.table];
    if (!table) throw missing(`the ${resource.table} table`);
    return resource.index === undefined ? table.tableArn : `${table.tableArn}/index/${resource.index}`;
  }
  if ('stream' in resource) {
    const streamArn = targets.tables?.[resource.stream]?.tableStreamArn;
    if (!streamArn) throw missing(`the stream of the ${resource.stream} table`);
    return streamArn;
  }
  if ('connections' in resource) {
    if (!targets.webSocket) throw missing('@connections');
    return Stack.of(scope).formatArn({
      service: 'execute-api',
      resource: targets.webSocket.apiId,
      resourceName: `${targets.webSocket.stageName}/${resource.connections}/@connections/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }
  const queue = targets.queues?.[resource.queue];
  if (!queue) throw missing(`the ${resource.queue} queue`);
  return queue.queueArn;
}

/**
 * LAMBDA_BUNDLING (lib/bundling.ts) as NodejsFunction bundling options: what
 * every function of the stack is built with, handlers and custom resources
 * alike, with the local esbuild and never Docker.
 */
export function nodejsBundling(): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: LAMBDA_BUNDLING.target,
    platform: LAMBDA_BUNDLING.platform,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    banner: LAMBDA_BUNDLING.banner,
    minify: LAMBDA_BUNDLING.minify,
    sourceMap: LAMBDA_BUNDLING.sourcemap,
    sourceMapMode: SourceMapMode.DEFAULT,
    sourcesContent: false,
    // See lib/bundling.ts: the SDK is bundled, not taken from the runtime.
    bundleAwsSDK: true,
    externalModules: [...LAMBDA_BUNDLING.external],
    forceDockerBundling: false,
  };
}
