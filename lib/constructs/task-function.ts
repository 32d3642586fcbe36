import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_BUNDLING } from '../bundling.js';
import { ENV, FUNCTIONS, type FunctionName } from '../definitions.js';
import { acknowledge } from './nag.js';

/** Values for the ENV keys a function may need; each function receives only those FUNCTIONS[fn].env names. */
export type EnvironmentValues = Partial<Record<keyof typeof ENV, string>>;

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
 * the permission to write to that log group. Callers grant everything else.
 */
export class TaskSyncFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TaskSyncFunctionProps) {
    super(scope, id);
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
      description: `${props.fn}: writes its own log group; other grants are added by the owning construct`,
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
        [ENV.serviceName]: props.fn,
        [ENV.logLevel]: props.logLevel ?? 'INFO',
        // Stack traces point at the TypeScript sources through the bundled source map.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: LAMBDA_BUNDLING.target,
        platform: LAMBDA_BUNDLING.platform,
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        banner: LAMBDA_BUNDLING.banner,
        minify: LAMBDA_BUNDLING.minify,
        sourceMap: LAMBDA_BUNDLING.sourcemap,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // See lib/bundling.ts: the bundled SDK imports twice as fast as the runtime's.
        bundleAwsSDK: true,
        externalModules: [...LAMBDA_BUNDLING.external],
        forceDockerBundling: false,
      },
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
}

/**
 * The function's environment from its FUNCTIONS[fn].env names: every name it
 * needs must have a value, and it gets nothing else, so a handler never sees a
 * variable another function needs.
 */
export function environmentFor(fn: FunctionName, values: EnvironmentValues): Record<string, string> {
  const env: Record<string, string> = {};
  const missing: string[] = [];
  for (const key of FUNCTIONS[fn].env) {
    const value = values[key];
    if (value === undefined || value === '') missing.push(ENV[key]);
    else env[ENV[key]] = value;
  }
  if (missing.length > 0) {
    throw new Error(`Function ${fn} needs ${missing.join(', ')} but no value was given`);
  }
  return env;
}
