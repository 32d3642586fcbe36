import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aws, CfnOutput, Lazy, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { RuntimeConfig } from '../lambdas/contract.js';
import { CHANGE_FEED, FUNCTIONS, type FunctionName } from './definitions.js';
import { ApiGatewayAccount } from './constructs/api-gateway-account.js';
import { Auth } from './constructs/auth.js';
import { DataStore } from './constructs/data.js';
import { TasksHttpApi, type Throttle } from './constructs/http-api.js';
import { Realtime } from './constructs/realtime.js';
import type { TaskSyncFunction } from './constructs/task-function.js';
import { WebSite } from './constructs/web.js';
import { Observability } from './constructs/observability.js';

/** Repository root: handler entries (FUNCTIONS[*].entry) and web/dist are relative to it. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface TaskSyncStackProps extends StackProps {
  /** @default PROJECT_ROOT (the repository this file is in) */
  readonly projectRoot?: string;
  /** Built web client to upload. @default `<projectRoot>/web/dist` */
  readonly webDistPath?: string;
  /**
   * Keep the product's data when the stack is destroyed: the tasks table and
   * the user pool (whose `sub`s key the tasks) are RETAINED, with deletion
   * protection on. `false` makes both go with the stack (demos, CI).
   * @default true
   */
  readonly retainData?: boolean;
  /** @default false - administrators create users */
  readonly selfSignUp?: boolean;
  /** Cognito Plus plan with threat protection enforced. @default false */
  readonly threatProtection?: boolean;
  /** Managed login domain prefix. @default `<stack name>-<8 hex digits of the stack UUID>` */
  readonly domainPrefix?: string;
  /**
   * Offer the account-level API Gateway CloudWatch role (needed for WebSocket
   * access logs): a custom resource sets it only when the account and region
   * have none, and never changes or clears one that is set (docs/deploy.md).
   * `false` leaves the setting entirely to whoever manages it; the WebSocket
   * stage then needs it to be set already.
   * @default true
   */
  readonly manageApiGatewayAccount?: boolean;
  /**
   * Extra web origins (a dashboard served locally against the deployed
   * backend). They are allowed by CORS; of these, Cognito accepts only
   * `http://localhost...` as a plain-HTTP redirect URL, so only those become
   * sign-in redirect URLs.
   * @default ['http://localhost:3000', 'http://127.0.0.1:3000']
   */
  readonly devOrigins?: string[];
  /** @default 'prod' */
  readonly webSocketStageName?: string;
  /** Subscribed to the alarm topic (`-c alarmEmail=`). @default no subscription */
  readonly alarmEmail?: string;
  /**
   * Days the change feed keeps tombstones and change entries; a sync token
   * older than this gets 410 RESYNC_REQUIRED and the client lists everything.
   * @default CHANGE_FEED.defaultRetentionDays (30)
   */
  readonly tombstoneRetentionDays?: number;
  /** @default { rateLimit: 50, burstLimit: 100 } */
  readonly httpThrottle?: Throttle;
  /** @default { rateLimit: 50, burstLimit: 100 } */
  readonly webSocketThrottle?: Throttle;
}

/**
 * The whole product on AWS: what `npm start` emulates locally, built from the
 * same definitions (lib/definitions.ts). Environment-agnostic: no lookups, so
 * it synthesizes offline.
 */
export class TaskSyncStack extends Stack {
  readonly data: DataStore;
  readonly auth: Auth;
  readonly httpApi: TasksHttpApi;
  readonly realtime: Realtime;
  readonly web: WebSite;
  readonly observability: Observability;
  /** Every function of FUNCTIONS, by name. */
  readonly functions: Record<FunctionName, TaskSyncFunction>;

  constructor(scope: Construct, id: string, props: TaskSyncStackProps = {}) {
    super(scope, id, {
      description: 'Real-time task sync: HTTP API + WebSocket API + DynamoDB Streams, Cognito, CloudFront dashboard',
      ...props,
    });
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    const dataRemoval = props.retainData === false ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const devOrigins = props.devOrigins ?? ['http://localhost:3000', 'http://127.0.0.1:3000'];

    this.data = new DataStore(this, 'Data', { tasksRemovalPolicy: dataRemoval });

    // The CSP is part of the distribution, and the HTTP API's CORS names the
    // distribution's domain, so the CSP cannot name the HTTP API's id without a
    // dependency cycle: it allows the regional execute-api domain instead. The
    // WebSocket API has no CORS and is named exactly.
    let realtime: Realtime | undefined;
    let auth: Auth | undefined;
    const wsOrigin = Lazy.string({ produce: () => required(realtime, 'realtime').api.apiEndpoint });
    const loginOrigin = Lazy.string({ produce: () => `https://${required(auth, 'auth').domainHost}` });
    this.web = new WebSite(this, 'Web', {
      connectSources: [
        `https://*.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`,
        wsOrigin,
        loginOrigin,
        `https://cognito-idp.${Aws.REGION}.amazonaws.com`,
      ],
      formActionSources: [loginOrigin],
    });

    auth = new Auth(this, 'Auth', {
      redirectUrls: [
        `${this.web.origin}/`,
        ...devOrigins.filter((origin) => origin.startsWith('http://localhost')).map((origin) => `${origin}/`),
      ],
      removalPolicy: dataRemoval,
      ...(props.selfSignUp !== undefined ? { selfSignUp: props.selfSignUp } : {}),
      ...(props.threatProtection !== undefined ? { threatProtection: props.threatProtection } : {}),
      ...(props.domainPrefix !== undefined ? { domainPrefix: props.domainPrefix } : {}),
    });
    this.auth = auth;

    const changeRetentionSeconds = String((props.tombstoneRetentionDays ?? CHANGE_FEED.defaultRetentionDays) * 86_400);
    this.httpApi = new TasksHttpApi(this, 'Http', {
      projectRoot,
      tasksTable: this.data.tasksTable,
      changesTable: this.data.changesTable,
      changeRetentionSeconds,
      jwtIssuer: auth.issuer,
      jwtAudience: auth.client.userPoolClientId,
      allowOrigins: [this.web.origin, ...devOrigins],
      ...(props.httpThrottle ? { throttle: props.httpThrottle } : {}),
    });

    const apiGatewayAccount =
      props.manageApiGatewayAccount === false ? undefined : new ApiGatewayAccount(this, 'ApiGatewayAccount', { projectRoot });
    realtime = new Realtime(this, 'Realtime', {
      projectRoot,
      tasksTable: this.data.tasksTable,
      connectionsTable: this.data.connectionsTable,
      changesTable: this.data.changesTable,
      changeRetentionSeconds,
      jwtIssuer: auth.issuer,
      jwtAudience: auth.client.userPoolClientId,
      ...(props.webSocketStageName ? { stageName: props.webSocketStageName } : {}),
      ...(props.webSocketThrottle ? { throttle: props.webSocketThrottle } : {}),
      ...(apiGatewayAccount ? { stageDependsOn: apiGatewayAccount.setting } : {}),
    });
    this.realtime = realtime;
    this.functions = { ...realtime.functions, ...this.httpApi.functions } as Record<FunctionName, TaskSyncFunction>;
    for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
      if (!this.functions[name]) throw new Error(`FUNCTIONS.${name} is not wired to any API or event source`);
    }

    this.observability = new Observability(this, 'Observability', {
      functions: this.functions,
      httpApi: this.httpApi.api,
      webSocketApi: realtime.api,
      webSocketStage: realtime.stage.stageName,
      tables: { tasks: this.data.tasksTable, changes: this.data.changesTable, connections: this.data.connectionsTable },
      existingAlarms: realtime.alarms,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });

    const config: RuntimeConfig = {
      apiUrl: this.httpApi.url,
      wsUrl: realtime.url,
      auth: {
        mode: 'cognito',
        region: Aws.REGION,
        userPoolId: auth.userPool.userPoolId,
        clientId: auth.client.userPoolClientId,
        domain: auth.domainHost,
      },
    };
    this.web.deployContent({ distPath: props.webDistPath ?? path.join(projectRoot, 'web', 'dist'), config });

    new CfnOutput(this, 'DashboardUrl', {
      description: 'Open this in a browser: the dashboard (sign in through Cognito managed login)',
      value: `${this.web.origin}/`,
    });
    new CfnOutput(this, 'ApiUrl', {
      description: 'HTTP API base URL (GET/POST /tasks ...; Authorization: Bearer <Cognito JWT>)',
      value: this.httpApi.url,
    });
    new CfnOutput(this, 'WebSocketUrl', {
      description: 'WebSocket URL; connect with ?token=<Cognito JWT>',
      value: realtime.url,
    });
    new CfnOutput(this, 'UserPoolId', { description: 'Cognito user pool (create users here)', value: auth.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', {
      description: 'Cognito app client of the dashboard (the JWT audience)',
      value: auth.client.userPoolClientId,
    });
    new CfnOutput(this, 'CognitoDomain', {
      description: 'Managed login host (sign-in and sign-up pages)',
      value: auth.domainHost,
    });
    new CfnOutput(this, 'TasksTableName', {
      description: 'DynamoDB table of the tasks (retained on destroy unless retainData=false)',
      value: this.data.tasksTable.tableName,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic every alarm notifies (subscribe with -c alarmEmail=you@example.com or in the console)',
      value: this.observability.topic.topicArn,
    });
    new CfnOutput(this, 'FailureQueueUrl', {
      description: 'SQS queue of stream batches the broadcaster gave up on (should stay empty)',
      value: realtime.failureQueue.queueUrl,
    });
  }
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`${name} is read before it is created`);
  return value;
}
