import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HTTP_CORS, HTTP_ROUTES, type FunctionName } from '../definitions.js';
import { TaskSyncFunction } from './task-function.js';

export interface Throttle {
  /** Steady-state requests (or WebSocket messages) per second. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface TasksHttpApiProps {
  readonly projectRoot: string;
  readonly tasksTable: dynamodb.ITable;
  /** The change feed's entries (TABLES.changes). */
  readonly changesTable: dynamodb.ITable;
  /** CHANGE_RETENTION_SECONDS of the tasks function. */
  readonly changeRetentionSeconds: string;
  /** `iss` the JWT authorizer accepts: the Cognito user pool URL. */
  readonly jwtIssuer: string;
  /** Accepted `aud` (ID token) or `client_id` (access token): the app client id. */
  readonly jwtAudience: string;
  /** Origins allowed by CORS, exactly (scheme, host, port; no trailing slash). */
  readonly allowOrigins: string[];
  /** @default { rateLimit: 50, burstLimit: 100 } */
  readonly throttle?: Throttle;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Access log fields of the HTTP API. Deliberately no `$context.path` or query
 * string and no request headers: URLs and headers may carry tokens.
 */
export const HTTP_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatencyMs: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  userId: '$context.authorizer.claims.sub',
};

/**
 * The HTTP API of the tasks routes (HTTP_ROUTES), every route behind the
 * native JWT authorizer (no Lambda authorizer: API Gateway verifies the
 * Cognito token itself), CORS for the web origins only, a throttled
 * `$default` stage with JSON access logs.
 */
export class TasksHttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly functions: Partial<Record<FunctionName, TaskSyncFunction>> = {};
  /** `https://<id>.execute-api.<region>.amazonaws.com` (the `$default` stage has no path). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: TasksHttpApiProps) {
    super(scope, id);

    const authorizer = new HttpJwtAuthorizer('CognitoJwt', props.jwtIssuer, {
      jwtAudience: [props.jwtAudience],
      identitySource: ['$request.header.Authorization'],
    });

    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-tasks`,
      description: 'Tasks HTTP API (JWT authorizer, payload format 2.0)',
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
      corsPreflight: {
        allowOrigins: props.allowOrigins,
        allowMethods: HTTP_CORS.allowMethods.map((method) => method as apigwv2.CorsHttpMethod),
        allowHeaders: HTTP_CORS.allowHeaders,
        exposeHeaders: HTTP_CORS.exposeHeaders,
        maxAge: Duration.seconds(HTTP_CORS.maxAgeSeconds),
        // Tokens travel in the Authorization header, never in cookies.
        allowCredentials: false,
      },
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const throttle = props.throttle ?? { rateLimit: 50, burstLimit: 100 };
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(HTTP_ACCESS_LOG_FIELDS)),
      },
    });

    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    for (const route of HTTP_ROUTES) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        const fn = new TaskSyncFunction(this, pascal(route.fn), {
          fn: route.fn,
          projectRoot: props.projectRoot,
          environment: {
            tasksTable: props.tasksTable.tableName,
            changesTable: props.changesTable.tableName,
            changeRetentionSeconds: props.changeRetentionSeconds,
          },
          ...(props.logRetention ? { logRetention: props.logRetention } : {}),
        });
        this.functions[route.fn] = fn;
        integration = new HttpLambdaIntegration(`${pascal(route.fn)}Integration`, fn.function, {
          payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
        });
        integrations.set(route.fn, integration);
      }
      this.api.addRoutes({
        path: route.path,
        methods: [route.method as apigwv2.HttpMethod],
        integration,
      });
    }

    if (!this.functions.tasksApi) throw new Error('HTTP_ROUTES has no route for tasksApi');
    // Exactly FUNCTIONS[fn].permissions (lib/definitions.ts), which the local runtime enforces too.
    for (const fn of Object.values(this.functions)) {
      fn.grantDefinedPermissions({ tables: { tasks: props.tasksTable, changes: props.changesTable } });
    }

    this.url = this.api.apiEndpoint;
  }
}

export function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
