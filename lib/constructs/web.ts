import fs from 'node:fs';
import path from 'node:path';
import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as iam from 'aws-cdk-lib/aws-iam';
import { OriginGroup, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import type { RuntimeConfig } from '../../lambdas/contract.js';
import { uniqueInAccount } from './names.js';
import { acknowledge } from './nag.js';

/** Key prefix of the copies of hashed assets that outlive their build (see WebSite.deployContent). */
export const PREVIOUS_ASSETS_PREFIX = 'previous/';
/** How long a hashed asset stays under PREVIOUS_ASSETS_PREFIX after the last deployment that uploaded it. */
export const PREVIOUS_ASSETS_RETENTION_DAYS = 30;
/** Written by the deployment next to the build (lambdas/contract.ts RuntimeConfig). */
export const CONFIG_FILE = 'config.json';
/** Cache-Control of hashed files: their content never changes under their name. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** Cache-Control of every unhashed file: browsers revalidate them on every use. */
export const ENTRY_CACHE_CONTROL = 'no-cache';

/**
 * esbuild's `[name]-[hash]` output (web/build.ts): an 8-character upper-case
 * hash before the first extension, as in `app-N2KP6Z7Z.js`,
 * `app-N2KP6Z7Z.js.map` or `styles-OO54WBVG.css`.
 */
const HASHED_NAME = /-[A-Z0-9]{8}(\.[A-Za-z0-9]+)+$/;

export interface WebFiles {
  /** Names that change with their content: cached for a year, kept after their build is replaced. */
  readonly hashed: string[];
  /** Names a browser asks for by name (index.html, favicon.svg, ...): revalidated on every use. */
  readonly unhashed: string[];
}

/** The files of a web build, relative to it with `/` separators, split by whether their name carries a content hash. */
export function classifyWebFiles(distPath: string): WebFiles {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(path.relative(distPath, full).split(path.sep).join('/'));
    }
  };
  walk(distPath);
  files.sort();
  const hashed = files.filter((file) => HASHED_NAME.test(path.posix.basename(file)));
  return { hashed, unhashed: files.filter((file) => !hashed.includes(file)) };
}

export interface WebSiteProps {
  /**
   * Origins the browser may open connections to besides the site itself
   * (fetch, XHR, WebSocket), as CSP `connect-src` sources.
   */
  readonly connectSources: string[];
  /** Origins forms and navigations may post to (the managed login pages), as CSP `form-action` sources. */
  readonly formActionSources: string[];
  /** @default cloudfront.PriceClass.PRICE_CLASS_100 (North America and Europe edges; cheapest) */
  readonly priceClass?: cloudfront.PriceClass;
}

export interface WebContentProps {
  /** Directory of the built web client (`web/dist`); its files are uploaded as they are. */
  readonly distPath: string;
  /** Written next to them as `/config.json`; may hold deploy-time tokens (API URLs, pool ids). */
  readonly config: RuntimeConfig;
}

/**
 * The dashboard's hosting: a private, encrypted S3 bucket readable only by
 * this CloudFront distribution (origin access control), HTTPS only, with
 * security headers on every response.
 */
export class WebSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://<id>.cloudfront.net` (no trailing slash: the form CORS origins use). */
  readonly origin: string;

  constructor(scope: Construct, id: string, props: WebSiteProps) {
    super(scope, id);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Everything in it is rebuilt from the repository on every deploy.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
      lifecycleRules: [
        {
          id: 'ExpirePreviousAssets',
          prefix: PREVIOUS_ASSETS_PREFIX,
          expiration: Duration.days(PREVIOUS_ASSETS_RETENTION_DAYS),
        },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    acknowledge(
      this.bucket,
      'AwsSolutions-S1',
      'The bucket holds only the public build of the web client, written by the deployment and read by CloudFront through OAC; server access logs would record nothing but CloudFront fetches.',
    );

    const csp = [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "font-src 'self'",
      `connect-src 'self' ${props.connectSources.join(' ')}`,
      `form-action 'self' ${props.formActionSources.join(' ')}`,
      "frame-ancestors 'none'",
      "base-uri 'self'",
      "object-src 'none'",
    ].join('; ');

    // CloudFront names are unique per account, not per region: regionalName
    // lets the stack be deployed in several regions of one account.
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Dashboard security headers (HSTS, CSP, no framing, no sniffing)',
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: {
          referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
          override: true,
        },
      },
    });

    uniqueInAccount(headers, 'ResponseHeadersPolicyConfig.Name', 128);

    const originAccessControl = new cloudfront.S3OriginAccessControl(this, 'OriginAccessControl', {
      description: 'Lets the dashboard distribution read the site bucket',
      signing: cloudfront.Signing.SIGV4_ALWAYS,
    });
    uniqueInAccount(originAccessControl, 'OriginAccessControlConfig.Name', 64);

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `${Stack.of(this).stackName} dashboard`,
      defaultRootObject: 'index.html',
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        // A file the site no longer has (a hashed asset of the build an open
        // page was loaded with) is looked up again among the previous builds'
        // copies; see deployContent.
        origin: new OriginGroup({
          primaryOrigin: S3BucketOrigin.withOriginAccessControl(this.bucket, { originAccessControl }),
          fallbackOrigin: S3BucketOrigin.withOriginAccessControl(this.bucket, {
            originAccessControl,
            originPath: `/${PREVIOUS_ASSETS_PREFIX.replace(/\/$/, '')}`,
          }),
          // S3 answers 403 for a missing key to a reader without s3:ListBucket.
          fallbackStatusCodes: [403, 404],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
      },
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;

    acknowledge(
      this.distribution,
      'AwsSolutions-CFR1',
      'A personal task dashboard has no country-specific audience or legal restriction to enforce.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR2',
      'The distribution serves only static files; the APIs it talks to are protected by JWT authorizers and stage throttling. WAF (about 5 USD/month per web ACL plus per rule) can be attached later.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR3',
      'Access logs of static files add cost and hold viewer IPs without serving a product need; API requests are logged by the API Gateway stages.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR4',
      'The default *.cloudfront.net certificate cannot set a minimum TLS version; viewers are redirected to HTTPS. A custom domain with an ACM certificate (TLSv1.2_2021) would lift this.',
    );
  }

  /**
   * Publishes a build so that no page ever asks for a file that is not there,
   * neither a new page nor one loaded from the previous build:
   *
   * 1. `Assets` and `PreviousAssets` upload the hashed files (`app-<hash>.js`,
   *    `styles-<hash>.css`, their maps) to the site root and to
   *    PREVIOUS_ASSETS_PREFIX. Neither deletes anything.
   * 2. `Entry`, after both, writes the unhashed files (`index.html`,
   *    `config.json`, `favicon.svg`, any other) and invalidates them in
   *    CloudFront, waiting until the invalidation is done.
   * 3. `PruneAssets`, after that, deletes from the site root the hashed files
   *    this build does not have.
   *
   * A page still running the previous build that asks for one of its files
   * after step 3 gets it from PREVIOUS_ASSETS_PREFIX through the
   * distribution's fallback origin. Objects there expire
   * PREVIOUS_ASSETS_RETENTION_DAYS after the last deployment that uploaded
   * them (a lifecycle rule); the live copies at the root carry no expiry, so
   * a site left undeployed for months still serves its current build.
   *
   * Hashed files are cached as immutable for a year; every unhashed file is
   * revalidated on each use (`no-cache`). Returns the `Entry` deployment.
   */
  deployContent(props: WebContentProps): s3deploy.BucketDeployment {
    const files = classifyWebFiles(props.distPath);
    const entryFiles = [...new Set([...files.unhashed, CONFIG_FILE])].sort();
    if (!files.unhashed.includes('index.html'))
      throw new Error(`${props.distPath} has no index.html: build the web client first`);

    const logGroup = new logs.LogGroup(this, 'ContentDeploymentLogs', {
      retention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Own role so the deployment handler gets its log group only, instead of
    // the managed AWSLambdaBasicExecutionRole; BucketDeployment adds its S3
    // and CloudFront grants to it.
    const role = new iam.Role(this, 'ContentDeploymentRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Uploads the dashboard build and config.json to the site bucket',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    const build = s3deploy.Source.asset(props.distPath);
    const common = { destinationBucket: this.bucket, memoryLimit: 256, role, logGroup };
    const immutable = [s3deploy.CacheControl.fromString(IMMUTABLE_CACHE_CONTROL)];
    // Sync filters (exclude/include) also bound what a pass may delete: a
    // pass never touches a file outside its own filter.
    const hashedOnly = { exclude: [...entryFiles, `${PREVIOUS_ASSETS_PREFIX}*`] };

    const assets = new s3deploy.BucketDeployment(this, 'Assets', {
      ...common,
      ...hashedOnly,
      sources: [build],
      prune: false,
      cacheControl: immutable,
    });
    const previous = new s3deploy.BucketDeployment(this, 'PreviousAssets', {
      ...common,
      sources: [build],
      destinationKeyPrefix: PREVIOUS_ASSETS_PREFIX,
      exclude: entryFiles,
      prune: false,
      cacheControl: immutable,
    });
    const entry = new s3deploy.BucketDeployment(this, 'Entry', {
      ...common,
      sources: [build, s3deploy.Source.jsonData(CONFIG_FILE, props.config)],
      exclude: ['*'],
      include: entryFiles,
      prune: false,
      cacheControl: [s3deploy.CacheControl.fromString(ENTRY_CACHE_CONTROL)],
      // Only unhashed names change meaning between deployments; hashed names are new names.
      distribution: this.distribution,
      distributionPaths: ['/', ...entryFiles.map((file) => `/${file}`)],
    });
    // index.html must never point at assets that are not uploaded yet.
    entry.node.addDependency(assets, previous);
    const prune = new s3deploy.BucketDeployment(this, 'PruneAssets', {
      ...common,
      ...hashedOnly,
      sources: [build],
      prune: true,
      cacheControl: immutable,
    });
    // The previous build's files leave the root only once no index.html names them.
    prune.node.addDependency(entry);

    // cdk-nag names a pseudo parameter `<AWS::Region>`, a literal (explicit env) as it is.
    const stack = Stack.of(this);
    const pseudo = (value: string, name: string) => (Token.isUnresolved(value) ? `<${name}>` : value);
    const grantReason =
      "BucketDeployment's own grant sets: read the CDK bootstrap asset objects, replace every object of this site bucket (prune), and invalidate this distribution (CDK names no distribution ARN for cloudfront:CreateInvalidation/GetInvalidation).";
    for (const finding of [
      'Action::s3:GetBucket*',
      'Action::s3:GetObject*',
      'Action::s3:List*',
      'Action::s3:Abort*',
      'Action::s3:DeleteObject*',
      `Resource::arn:${pseudo(stack.partition, 'AWS::Partition')}:s3:::cdk-hnb659fds-assets-${pseudo(stack.account, 'AWS::AccountId')}-${pseudo(stack.region, 'AWS::Region')}/*`,
      `Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`,
      'Resource::*',
    ]) {
      acknowledge(role, `AwsSolutions-IAM5[${finding}]`, grantReason);
    }

    // The upload handler is a CDK-provided singleton function at stack level.
    const handler = Stack.of(this).node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (handler) {
      const providedReason =
        'CDK-provided BucketDeployment handler (Python, runtime chosen by aws-cdk-lib): it runs only during deployments, invoked by CloudFormation, which fails the deployment if it errors; a DLQ, tracing or a runtime pin here would change nothing the product relies on.';
      for (const id of [
        'AwsSolutions-L1',
        'Serverless-LambdaLatestVersion',
        'Serverless-LambdaDLQ',
        'Serverless-LambdaTracing',
      ]) {
        acknowledge(handler, id, providedReason);
      }
    }
    return entry;
  }
}
