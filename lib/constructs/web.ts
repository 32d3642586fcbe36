import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as iam from 'aws-cdk-lib/aws-iam';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import type { RuntimeConfig } from '../../lambdas/contract.js';
import { acknowledge } from './nag.js';

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

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `${Stack.of(this).stackName} dashboard`,
      defaultRootObject: 'index.html',
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
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
   * Uploads the built client plus `config.json`, then invalidates the
   * entry files in CloudFront. Returns the deployment that writes `config.json`.
   */
  deployContent(props: WebContentProps): s3deploy.BucketDeployment {
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

    // Two passes over the same build, because the two kinds of file cache
    // differently: hashed assets (app-<hash>.js, ...) never change under their
    // name and are cached for a year; index.html and config.json name those
    // assets and the deployed endpoints, so browsers revalidate them every
    // time. A sync filter (exclude/include) also keeps each pass from pruning
    // the other's files.
    const entryFiles = ['index.html', 'config.json'];
    const assets = new s3deploy.BucketDeployment(this, 'Assets', {
      sources: [s3deploy.Source.asset(props.distPath)],
      destinationBucket: this.bucket,
      exclude: entryFiles,
      prune: true,
      cacheControl: [
        s3deploy.CacheControl.setPublic(),
        s3deploy.CacheControl.maxAge(Duration.days(365)),
        s3deploy.CacheControl.immutable(),
      ],
      memoryLimit: 256,
      role,
      logGroup,
    });
    const entry = new s3deploy.BucketDeployment(this, 'Entry', {
      sources: [s3deploy.Source.asset(props.distPath), s3deploy.Source.jsonData('config.json', props.config)],
      destinationBucket: this.bucket,
      exclude: ['*'],
      include: entryFiles,
      prune: true,
      cacheControl: [s3deploy.CacheControl.noCache()],
      // Only the entry files change meaning between deployments; hashed names are new names.
      distribution: this.distribution,
      distributionPaths: ['/', ...entryFiles.map((file) => `/${file}`)],
      memoryLimit: 256,
      role,
      logGroup,
    });
    // index.html must never point at assets that are not uploaded yet.
    entry.node.addDependency(assets);

    const grantReason =
      "BucketDeployment's own grant sets: read the CDK bootstrap asset objects, replace every object of this site bucket (prune), and invalidate this distribution (CDK names no distribution ARN for cloudfront:CreateInvalidation/GetInvalidation).";
    for (const finding of [
      'Action::s3:GetBucket*',
      'Action::s3:GetObject*',
      'Action::s3:List*',
      'Action::s3:Abort*',
      'Action::s3:DeleteObject*',
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
      `Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`,
      'Resource::*',
    ]) {
      acknowledge(role, `AwsSolutions-IAM5[${finding}]`, grantReason);
    }

    // The upload handler is a CDK-provided singleton function at stack level.
    const handler = Stack.of(this)
      .node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
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
