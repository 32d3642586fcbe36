import fs from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ACCESS_LOG_FIELDS } from '../../lib/constructs/http-api.js';
import { WS_ACCESS_LOG_FIELDS } from '../../lib/constructs/realtime.js';
import {
  ENV,
  FUNCTIONS,
  HTTP_CORS,
  type ManageConnectionsMethod,
  type PermissionResource,
  HTTP_ROUTES,
  PRESENCE_MAPPING,
  STREAM_MAPPING,
  TABLES,
  WS_AUTHORIZER,
  WS_ROUTE_SELECTION_EXPRESSION,
  WS_ROUTES,
  type FunctionName,
} from '../../lib/definitions.js';
import { getAtt, logicalId, ref, roleStatements, synthesize, type Statement, type SynthResult } from './support.js';

let synth: SynthResult;
beforeAll(() => {
  synth = synthesize();
});
afterAll(() => synth?.cleanup());

const resourcesOfType = (type: string) => synth.template.findResources(type);
const onlyResource = (type: string, props: Record<string, unknown> = {}) => {
  const found = Object.entries(synth.template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return { id: found[0]![0], resource: found[0]![1] as { Properties: Record<string, any>; [key: string]: any } };
};
const tableResource = (id: string) =>
  synth.template.toJSON().Resources[id] as { Properties: Record<string, any>; DeletionPolicy?: string };

describe('data tables', () => {
  it('keys the tasks table by userId and taskId with a NEW_AND_OLD_IMAGES stream', () => {
    const table = tableResource(logicalId(synth.stack.data.tasksTable));
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: TABLES.tasks.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: TABLES.tasks.sortKey.name, KeyType: 'RANGE' },
    ]);
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('expires tombstones of the tasks table on the expiresAt TTL attribute', () => {
    const table = tableResource(logicalId(synth.stack.data.tasksTable));
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('keys the changes table by userId and changeKey, expires entries by TTL and gives it no stream and no index', () => {
    const table = tableResource(logicalId(synth.stack.data.changesTable));
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: 'userId', KeyType: 'HASH' },
      { AttributeName: 'changeKey', KeyType: 'RANGE' },
    ]);
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table.Properties.StreamSpecification).toBeUndefined();
    expect(table.Properties.GlobalSecondaryIndexes).toBeUndefined();
    expect(table.Properties.LocalSecondaryIndexes).toBeUndefined();
  });

  it('keys connections by userId and connectionId, expires them on the expiresAt TTL attribute, and streams their keys (presence)', () => {
    const table = tableResource(logicalId(synth.stack.data.connectionsTable));
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: 'userId', KeyType: 'HASH' },
      { AttributeName: 'connectionId', KeyType: 'RANGE' },
    ]);
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'KEYS_ONLY' });
  });

  it('bills every table on demand with point-in-time recovery', () => {
    for (const table of [synth.stack.data.tasksTable, synth.stack.data.changesTable, synth.stack.data.connectionsTable]) {
      const props = tableResource(logicalId(table)).Properties;
      expect(props.BillingMode).toBe('PAY_PER_REQUEST');
      expect(props.ProvisionedThroughput).toBeUndefined();
      expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  it('retains the tasks and changes tables with deletion protection and destroys the connections table', () => {
    for (const table of [synth.stack.data.tasksTable, synth.stack.data.changesTable]) {
      const kept = tableResource(logicalId(table));
      expect(kept.DeletionPolicy).toBe('Retain');
      expect(kept.Properties.DeletionProtectionEnabled).toBe(true);
    }
    const connections = tableResource(logicalId(synth.stack.data.connectionsTable));
    expect(connections.DeletionPolicy).toBe('Delete');
  });
});

describe('broadcaster event source mapping', () => {
  it('reads the tasks stream with the STREAM_MAPPING settings and partial batch responses', () => {
    const { resource } = onlyResource('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(synth.stack.data.tasksTable, 'StreamArn'),
    });
    expect(resource.Properties).toEqual({
      EventSourceArn: getAtt(synth.stack.data.tasksTable, 'StreamArn'),
      FunctionName: ref(synth.stack.functions.broadcaster.function),
      StartingPosition: 'LATEST',
      BatchSize: STREAM_MAPPING.batchSize,
      MaximumBatchingWindowInSeconds: STREAM_MAPPING.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: STREAM_MAPPING.retryAttempts,
      MaximumRecordAgeInSeconds: STREAM_MAPPING.maxRecordAgeSeconds,
      ParallelizationFactor: STREAM_MAPPING.parallelizationFactor,
      DestinationConfig: { OnFailure: { Destination: getAtt(synth.stack.realtime.failureQueue, 'Arn') } },
    });
  });

  it('feeds the presence function from the connections stream with the PRESENCE_MAPPING settings, without a destination', () => {
    const { resource } = onlyResource('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(synth.stack.data.connectionsTable, 'StreamArn'),
    });
    expect(resource.Properties).toEqual({
      EventSourceArn: getAtt(synth.stack.data.connectionsTable, 'StreamArn'),
      FunctionName: ref(synth.stack.functions.presence.function),
      StartingPosition: 'LATEST',
      BatchSize: PRESENCE_MAPPING.batchSize,
      MaximumBatchingWindowInSeconds: PRESENCE_MAPPING.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: false,
      MaximumRetryAttempts: PRESENCE_MAPPING.retryAttempts,
      MaximumRecordAgeInSeconds: PRESENCE_MAPPING.maxRecordAgeSeconds,
      ParallelizationFactor: PRESENCE_MAPPING.parallelizationFactor,
    });
  });

  it('sends failed batches to an encrypted queue that refuses non-TLS requests', () => {
    const queueId = logicalId(synth.stack.realtime.failureQueue);
    expect(tableResource(queueId).Properties.SqsManagedSseEnabled).toBe(true);
    synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('alarms when the failure queue holds a message, on broadcaster errors and on iterator age', () => {
    const alarms = Object.values(resourcesOfType('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const queueDepth = alarms.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(queueDepth).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(synth.stack.realtime.failureQueue, 'QueueName') }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    const broadcaster = ref(synth.stack.functions.broadcaster.function);
    for (const metric of ['Errors', 'IteratorAge']) {
      const alarm = alarms.find((a) => a.MetricName === metric);
      expect(alarm, metric).toMatchObject({
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: broadcaster }],
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });
});

describe('HTTP API', () => {
  const httpApiId = () => logicalId(synth.stack.httpApi.api);

  it('has exactly the HTTP_ROUTES, every one behind the Cognito JWT authorizer', () => {
    const authorizer = onlyResource('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT' });
    const routes = Object.values(resourcesOfType('AWS::ApiGatewayV2::Route'))
      .map((r) => r.Properties)
      .filter((p) => JSON.stringify(p.ApiId) === JSON.stringify({ Ref: httpApiId() }));
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(HTTP_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of routes) {
      expect(route.AuthorizationType, route.RouteKey).toBe('JWT');
      expect(route.AuthorizerId, route.RouteKey).toEqual({ Ref: authorizer.id });
    }
  });

  it('trusts tokens issued by this user pool for this app client', () => {
    const { resource } = onlyResource('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT' });
    expect(resource.Properties.IdentitySource).toEqual(['$request.header.Authorization']);
    expect(resource.Properties.JwtConfiguration).toEqual({
      Audience: [ref(synth.stack.auth.client)],
      Issuer: {
        'Fn::Join': ['', ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.amazonaws.com/', ref(synth.stack.auth.userPool)]],
      },
    });
  });

  it('allows CORS only from the CloudFront origin and the local dev origins', () => {
    const api = tableResource(httpApiId());
    expect(api.Properties.CorsConfiguration).toEqual({
      AllowOrigins: [
        { 'Fn::Join': ['', ['https://', getAtt(synth.stack.web.distribution, 'DomainName')]] },
        'http://localhost:3000',
        'http://127.0.0.1:3000',
      ],
      AllowMethods: HTTP_CORS.allowMethods,
      AllowHeaders: HTTP_CORS.allowHeaders,
      ExposeHeaders: HTTP_CORS.exposeHeaders,
      MaxAge: HTTP_CORS.maxAgeSeconds,
      AllowCredentials: false,
    });
  });

  it('throttles the $default stage and writes JSON access logs without paths, query strings or headers', () => {
    const { resource } = onlyResource('AWS::ApiGatewayV2::Stage', { ApiId: { Ref: httpApiId() } });
    expect(resource.Properties.StageName).toBe('$default');
    expect(resource.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    const format = resource.Properties.AccessLogSettings.Format as string;
    expect(JSON.parse(format)).toEqual(HTTP_ACCESS_LOG_FIELDS);
    expect(format).not.toMatch(/querystring|\$context\.path|header|\$request/i);
  });
});

describe('WebSocket API', () => {
  const wsApiId = () => logicalId(synth.stack.realtime.api);
  const wsRoutes = () =>
    Object.values(resourcesOfType('AWS::ApiGatewayV2::Route'))
      .map((r) => r.Properties)
      .filter((p) => JSON.stringify(p.ApiId) === JSON.stringify({ Ref: wsApiId() }));

  it('selects routes on $request.body.action', () => {
    expect(tableResource(wsApiId()).Properties).toMatchObject({
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: WS_ROUTE_SELECTION_EXPRESSION,
    });
  });

  it('runs the token REQUEST authorizer on $connect only, with the token query string as identity source', () => {
    const authorizer = onlyResource('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'REQUEST' });
    expect(authorizer.resource.Properties.IdentitySource).toEqual([WS_AUTHORIZER.identitySource]);
    expect(JSON.stringify(authorizer.resource.Properties.AuthorizerUri)).toContain(
      logicalId(synth.stack.functions.wsAuthorizer.function),
    );
    const byKey = Object.fromEntries(wsRoutes().map((r) => [r.RouteKey, r]));
    expect(Object.keys(byKey).sort()).toEqual(Object.keys(WS_ROUTES).sort());
    expect(byKey.$connect).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizer.id } });
    expect(byKey.$disconnect.AuthorizationType).toBe('NONE');
    expect(byKey.$default.AuthorizationType).toBe('NONE');
  });

  it('integrates each route with the function WS_ROUTES names and answers $default with a route response', () => {
    const integrations = synth.template.findResources('AWS::ApiGatewayV2::Integration');
    for (const route of wsRoutes()) {
      const fn = WS_ROUTES[route.RouteKey as keyof typeof WS_ROUTES];
      const integrationId = (route.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
      const integration = integrations[integrationId.Ref]!.Properties;
      expect(integration.IntegrationType, route.RouteKey).toBe('AWS_PROXY');
      expect(JSON.stringify(integration.IntegrationUri), route.RouteKey).toContain(logicalId(synth.stack.functions[fn].function));
    }
    const defaultRoute = Object.entries(resourcesOfType('AWS::ApiGatewayV2::Route')).find(
      ([, r]) => r.Properties.RouteKey === '$default',
    )!;
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
      ApiId: { Ref: wsApiId() },
      RouteId: { Ref: defaultRoute[0] },
      RouteResponseKey: '$default',
    });
  });

  it('throttles its stage and keeps the token query string out of the access logs', () => {
    const { id, resource } = onlyResource('AWS::ApiGatewayV2::Stage', { ApiId: { Ref: wsApiId() } });
    expect(resource.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    const format = resource.Properties.AccessLogSettings.Format as string;
    expect(JSON.parse(format)).toEqual(WS_ACCESS_LOG_FIELDS);
    expect(format).not.toMatch(/querystring|token|\$context\.path|header|\$request|requestOverride/i);
    // A WebSocket stage with access logs fails to create before the account has a CloudWatch role.
    const setting = Object.keys(resourcesOfType('Custom::ApiGatewayAccountCloudWatchRole'));
    expect(setting).toHaveLength(1);
    expect(synth.template.toJSON().Resources[id].DependsOn).toEqual(expect.arrayContaining(setting));
  });
});

describe('Lambda functions', () => {
  it.each(Object.keys(FUNCTIONS) as FunctionName[])(
    '%s runs nodejs22.x on arm64 with the memory, timeout and only the environment FUNCTIONS gives it',
    (fn) => {
      const props = tableResource(logicalId(synth.stack.functions[fn].function)).Properties;
      expect(props.Runtime).toBe('nodejs22.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.MemorySize).toBe(FUNCTIONS[fn].memoryMb);
      expect(props.Timeout).toBe(FUNCTIONS[fn].timeoutSeconds);
      expect(props.Handler).toBe('index.handler');
      expect(Object.keys(props.Environment.Variables).sort()).toEqual(
        [...FUNCTIONS[fn].env.map((key) => ENV[key]), ENV.serviceName, ENV.logLevel, 'NODE_OPTIONS'].sort(),
      );
      expect(props.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      expect(props.Environment.Variables[ENV.dynamodbEndpoint]).toBeUndefined();
      expect(props.LoggingConfig).toEqual({ LogGroup: ref(synth.stack.functions[fn].logGroup) });
      expect(tableResource(logicalId(synth.stack.functions[fn].logGroup)).Properties.RetentionInDays).toBe(30);
    },
  );

  it('points each function at the resources it talks to', () => {
    const env = (fn: FunctionName) =>
      tableResource(logicalId(synth.stack.functions[fn].function)).Properties.Environment.Variables;
    expect(env('tasksApi')[ENV.tasksTable]).toEqual(ref(synth.stack.data.tasksTable));
    for (const fn of ['tasksApi', 'wsDefault'] as const) {
      expect(env(fn)[ENV.changesTable]).toEqual(ref(synth.stack.data.changesTable));
      // 30 days unless -c tombstoneRetentionDays says otherwise.
      expect(env(fn)[ENV.changeRetentionSeconds]).toBe(String(30 * 86_400));
    }
    for (const fn of ['wsConnect', 'wsDisconnect', 'broadcaster'] as const) {
      expect(env(fn)[ENV.connectionsTable]).toEqual(ref(synth.stack.data.connectionsTable));
    }
    expect(env('wsAuthorizer')[ENV.jwtAudience]).toEqual(ref(synth.stack.auth.client));
    expect(JSON.stringify(env('wsAuthorizer')[ENV.jwtIssuer])).toContain('https://cognito-idp.');
    expect(JSON.stringify(env('broadcaster')[ENV.wsManagementEndpoint])).toBe(
      JSON.stringify({
        'Fn::Join': [
          '',
          [
            'https://',
            ref(synth.stack.realtime.api),
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/prod',
          ],
        ],
      }),
    );
  });
});

describe('IAM per function', () => {
  const logs = (fn: FunctionName): Statement => ({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resource: getAtt(synth.stack.functions[fn].logGroup, 'Arn'),
  });
  const sorted = (statements: Statement[]) => [...statements].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const expectStatements = (fn: FunctionName, expected: Statement[]) =>
    expect(sorted(roleStatements(synth.template, synth.stack.functions[fn].role))).toEqual(sorted([logs(fn), ...expected]));

  /** A definition's resource as the template names it. */
  const templateResource = (resource: PermissionResource): unknown => {
    const tables = {
      tasks: synth.stack.data.tasksTable,
      changes: synth.stack.data.changesTable,
      connections: synth.stack.data.connectionsTable,
    };
    if (resource === '*') return '*';
    if ('table' in resource) {
      const arn = getAtt(tables[resource.table], 'Arn');
      return resource.index === undefined ? arn : { 'Fn::Join': ['', [arn, `/index/${resource.index}`]] };
    }
    if ('stream' in resource) return getAtt(tables[resource.stream], 'StreamArn');
    if ('queue' in resource) return getAtt(synth.stack.realtime.failureQueue, 'Arn');
    return {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':execute-api:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':',
          ref(synth.stack.realtime.api),
          `/prod/${resource.connections}/@connections/*`,
        ],
      ],
    };
  };
  /** Actions per resource: the shape IAM evaluates, whichever way the statements were split or merged. */
  const byResource = (statements: Statement[]) => {
    const grouped = new Map<string, Set<string>>();
    for (const { actions, resource } of statements) {
      const key = JSON.stringify(resource);
      grouped.set(key, new Set([...(grouped.get(key) ?? []), ...actions]));
    }
    return Object.fromEntries([...grouped].map(([key, actions]) => [key, [...actions].sort()]));
  };

  it.each(Object.keys(FUNCTIONS) as FunctionName[])(
    'grants %s exactly FUNCTIONS[fn].permissions of lib/definitions.ts (what npm start enforces), plus its own log group',
    (fn) => {
      const defined = FUNCTIONS[fn].permissions.map((p) => ({ actions: [...p.actions], resource: templateResource(p.resource) }));
      expect(byResource(roleStatements(synth.template, synth.stack.functions[fn].role))).toEqual(
        byResource([logs(fn), ...defined]),
      );
    },
  );

  it('lets tasksApi only get, batch-get, put, update and query tasks (no DeleteItem: deletes leave tombstones), and put and query change entries', () => {
    expectStatements('tasksApi', [
      {
        actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
        resource: getAtt(synth.stack.data.tasksTable, 'Arn'),
      },
      { actions: ['dynamodb:PutItem', 'dynamodb:Query'], resource: getAtt(synth.stack.data.changesTable, 'Arn') },
    ]);
  });

  it('lets $connect only put and $disconnect only delete connection rows', () => {
    const connections = getAtt(synth.stack.data.connectionsTable, 'Arn');
    expectStatements('wsConnect', [{ actions: ['dynamodb:PutItem'], resource: connections }]);
    expectStatements('wsDisconnect', [{ actions: ['dynamodb:DeleteItem'], resource: connections }]);
  });

  it('gives the authorizer nothing but its logs', () => {
    expectStatements('wsAuthorizer', []);
  });

  it('lets $default query the changes and connections tables, and post to and close connections of this stage', () => {
    expectStatements('wsDefault', [
      { actions: ['dynamodb:Query'], resource: getAtt(synth.stack.data.changesTable, 'Arn') },
      { actions: ['dynamodb:Query'], resource: getAtt(synth.stack.data.connectionsTable, 'Arn') },
      { actions: ['execute-api:ManageConnections'], resource: manageConnections('POST') },
      { actions: ['execute-api:ManageConnections'], resource: manageConnections('DELETE') },
    ]);
  });

  it('lets presence read the connections stream, query connections and only post to this stage', () => {
    expectStatements('presence', [
      { actions: ['dynamodb:Query'], resource: getAtt(synth.stack.data.connectionsTable, 'Arn') },
      {
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resource: getAtt(synth.stack.data.connectionsTable, 'StreamArn'),
      },
      { actions: ['dynamodb:ListStreams'], resource: '*' },
      { actions: ['execute-api:ManageConnections'], resource: manageConnections('POST') },
    ]);
  });

  const manageConnections = (method: ManageConnectionsMethod) => templateResource({ connections: method });

  it('lets the broadcaster read the stream, query and delete connections, post to this stage and fail over to its queue', () => {
    expectStatements('broadcaster', [
      { actions: ['dynamodb:DeleteItem', 'dynamodb:Query'], resource: getAtt(synth.stack.data.connectionsTable, 'Arn') },
      {
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resource: getAtt(synth.stack.data.tasksTable, 'StreamArn'),
      },
      // ListStreams supports no resource-level permissions (acknowledged in cdk-nag with that reason).
      { actions: ['dynamodb:ListStreams'], resource: '*' },
      { actions: ['execute-api:ManageConnections'], resource: manageConnections('POST') },
      {
        actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        resource: getAtt(synth.stack.realtime.failureQueue, 'Arn'),
      },
    ]);
  });

  it('attaches no managed policy to any function role', () => {
    for (const fn of Object.keys(FUNCTIONS) as FunctionName[]) {
      const role = tableResource(logicalId(synth.stack.functions[fn].role));
      expect(role.Properties.ManagedPolicyArns, fn).toBeUndefined();
    }
  });
});

describe('Cognito', () => {
  it('is a user pool with email sign-in, admin-created users, a strong password policy and optional TOTP', () => {
    const { resource } = onlyResource('AWS::Cognito::UserPool');
    expect(resource.Properties).toMatchObject({
      UsernameAttributes: ['email'],
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
      DeletionProtection: 'ACTIVE',
    });
    expect(resource.DeletionPolicy).toBe('Retain');
  });

  it('has a public app client for the authorization code flow with PKCE and the dashboard as redirect', () => {
    const { resource } = onlyResource('AWS::Cognito::UserPoolClient');
    const dashboard = { 'Fn::Join': ['', ['https://', getAtt(synth.stack.web.distribution, 'DomainName'), '/']] };
    expect(resource.Properties).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      SupportedIdentityProviders: ['COGNITO'],
      ExplicitAuthFlows: ['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      CallbackURLs: [dashboard, 'http://localhost:3000/'],
      LogoutURLs: [dashboard, 'http://localhost:3000/'],
    });
  });

  it('has a managed login (version 2) domain whose prefix is unique per stack, with a branding style', () => {
    const { resource } = onlyResource('AWS::Cognito::UserPoolDomain');
    expect(resource.Properties.ManagedLoginVersion).toBe(2);
    expect(JSON.stringify(resource.Properties.Domain)).toContain('"Ref":"AWS::StackId"');
    synth.template.hasResourceProperties('AWS::Cognito::ManagedLoginBranding', {
      ClientId: ref(synth.stack.auth.client),
      UseCognitoProvidedValues: true,
    });
  });
});

describe('web hosting', () => {
  it('keeps the bucket private, encrypted and TLS-only', () => {
    const bucket = tableResource(logicalId(synth.stack.web.bucket)).Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe(
      'AES256',
    );
    const policy = onlyResource('AWS::S3::BucketPolicy').resource.Properties.PolicyDocument.Statement as any[];
    expect(policy).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('lets only this distribution read the bucket, through origin access control', () => {
    const statements = onlyResource('AWS::S3::BucketPolicy').resource.Properties.PolicyDocument.Statement as any[];
    const allows = statements.filter((s) => s.Effect === 'Allow');
    // Nobody anonymous; the only other grantee is CDK's auto-delete-objects role (emptying the bucket on destroy).
    expect(allows.map((s) => JSON.stringify(s.Principal))).not.toContainEqual(expect.stringMatching(/"\*"/));
    const reads = allows.filter((s) => s.Principal.Service);
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({
      Action: 's3:GetObject',
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Condition: { StringEquals: { 'AWS:SourceArn': expect.anything() } },
    });
    const others = allows.filter((s) => !s.Principal.Service);
    expect(others.map((s) => JSON.stringify(s.Principal))).toEqual([expect.stringContaining('CustomS3AutoDeleteObjects')]);
    expect(JSON.stringify(reads[0].Condition)).toContain(logicalId(synth.stack.web.distribution));

    const distribution = tableResource(logicalId(synth.stack.web.distribution)).Properties.DistributionConfig;
    const origin = distribution.Origins[0];
    const oac = getAtt(synth.stack.web.node.findAll().find((c) => c.node.id === 'OriginAccessControl')!, 'Id');
    // Both origins (the site and its previous builds' assets) are the same bucket, read through the same OAC.
    expect(distribution.Origins).toHaveLength(2);
    for (const o of distribution.Origins) {
      expect(o.OriginAccessControlId).toEqual(oac);
      expect(o.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    }
    expect(origin.OriginPath).toBeUndefined();
    expect(distribution.DefaultRootObject).toBe('index.html');
    expect(distribution.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
  });

  it('sends HSTS, a CSP that allows the APIs and the login host, no framing and no sniffing', () => {
    const config = onlyResource('AWS::CloudFront::ResponseHeadersPolicy').resource.Properties.ResponseHeadersPolicyConfig
      .SecurityHeadersConfig;
    expect(config.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 31_536_000, Override: true });
    expect(config.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(config.ContentTypeOptions).toEqual({ Override: true });
    expect(config.ReferrerPolicy.ReferrerPolicy).toBe('strict-origin-when-cross-origin');
    const csp = JSON.stringify(config.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self' https://*.execute-api.");
    expect(csp).toContain(JSON.stringify(getAtt(synth.stack.realtime.api, 'ApiEndpoint')));
    expect(csp).toContain('.amazoncognito.com');
  });

  it('writes config.json for Cognito mode with the deployed endpoints and ids, and invalidates it', () => {
    const deployments = Object.values(resourcesOfType('Custom::CDKBucketDeployment')).map((d) => d.Properties);
    const entry = deployments.find((d) => d.DistributionPaths)!;
    expect(entry.DistributionPaths).toEqual(['/', '/config.json', '/favicon.svg', '/index.html']);
    expect(entry.DistributionId).toEqual(ref(synth.stack.web.distribution));
    expect(entry.SystemMetadata).toEqual({ 'cache-control': 'no-cache' });

    // Source.jsonData stores the object with markers the deployment replaces by deploy-time values.
    const markers = Object.assign({}, ...(entry.SourceMarkers as Record<string, unknown>[])) as Record<string, unknown>;
    const config = JSON.parse(readConfigJsonAsset(synth.outdir)) as Record<string, any>;
    const parts = (value: string) =>
      value
        .split(/(<<marker:0xbaba:\d+>>)/)
        .filter((part) => part !== '')
        .map((part) => (part in markers ? markers[part] : part));

    expect(config.auth.mode).toBe('cognito');
    expect(parts(config.apiUrl)).toEqual([getAtt(synth.stack.httpApi.api, 'ApiEndpoint')]);
    expect(parts(config.wsUrl)).toEqual([
      'wss://',
      ref(synth.stack.realtime.api),
      '.execute-api.',
      { Ref: 'AWS::Region' },
      '.',
      { Ref: 'AWS::URLSuffix' },
      '/prod',
    ]);
    expect(parts(config.auth.region)).toEqual([{ Ref: 'AWS::Region' }]);
    expect(parts(config.auth.userPoolId)).toEqual([ref(synth.stack.auth.userPool)]);
    expect(parts(config.auth.clientId)).toEqual([ref(synth.stack.auth.client)]);
    expect(parts(config.auth.domain).at(-1)).toBe('.amazoncognito.com');
  });
});

describe('outputs', () => {
  it('gives the user the dashboard, API and WebSocket URLs, the pool ids, the login domain and the failure queue', () => {
    const outputs = Object.keys(synth.template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'DashboardUrl',
        'ApiUrl',
        'WebSocketUrl',
        'UserPoolId',
        'UserPoolClientId',
        'CognitoDomain',
        'FailureQueueUrl',
        'TasksTableName',
      ]),
    );
  });
});

function readConfigJsonAsset(outdir: string): string {
  for (const entry of fs.readdirSync(outdir)) {
    const candidate = path.join(outdir, entry, 'config.json');
    if (fs.existsSync(candidate)) return fs.readFileSync(candidate, 'utf8');
  }
  throw new Error(`no config.json asset in ${outdir}`);
}
