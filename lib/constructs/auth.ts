import { Aws, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

export interface AuthProps {
  /** Where managed login may send the browser back to after sign-in and sign-out (exact URLs, with trailing slash). */
  readonly redirectUrls: string[];
  /**
   * Managed login domain prefix (`<prefix>.auth.<region>.amazoncognito.com`).
   * Must be unique in the region and follow Cognito's rules (domainPrefixProblems);
   * a prefix that does not fails the synthesis. It cannot change after the
   * first deployment without replacing the domain (and the login URL).
   * @default - `<stack name>-<first 8 hex digits of the stack's UUID>`, unique per deployment
   */
  readonly domainPrefix?: string;
  /**
   * Whether anyone may create an account on the managed login page.
   * @default false - an administrator creates users (`aws cognito-idp admin-create-user`)
   */
  readonly selfSignUp?: boolean;
  /**
   * Cognito threat protection (adaptive authentication, compromised-credential
   * checks) enforced. Needs the Plus feature plan, billed per monthly active user.
   * @default false - Essentials plan, no threat protection
   */
  readonly threatProtection?: boolean;
  /**
   * What happens to the user pool when it leaves the stack. Task rows are keyed
   * by the user's `sub`, which a new pool would never reissue, so the pool
   * should live exactly as long as the tasks table.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Cognito user pool the HTTP API's JWT authorizer and the WebSocket
 * authorizer trust, its public app client (authorization code + PKCE, no
 * secret) and the managed login domain.
 */
export class Auth extends Construct {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly domain: cognito.UserPoolDomain;
  /** `https://cognito-idp.<region>.amazonaws.com/<poolId>`: the `iss` of every token. */
  readonly issuer: string;
  /** Host name of the managed login pages, e.g. `tasksync-1a2b3c4d.auth.eu-west-1.amazoncognito.com`. */
  readonly domainHost: string;

  constructor(scope: Construct, id: string, props: AuthProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const threatProtection = props.threatProtection ?? false;

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: props.selfSignUp ?? false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      // TOTP only: SMS would need an SNS role and is billed per message.
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      featurePlan: threatProtection ? cognito.FeaturePlan.PLUS : cognito.FeaturePlan.ESSENTIALS,
      ...(threatProtection ? { standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION } : {}),
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });

    this.client = this.userPool.addClient('WebClient', {
      // A browser app cannot keep a secret; PKCE protects the code exchange instead.
      generateSecret: false,
      // SRP for Cognito's own SDK sign-in; ADMIN_USER_PASSWORD_AUTH lets an
      // operator with AWS credentials (cognito-idp:AdminInitiateAuth) fetch a
      // token from the shell for smoke tests. Browsers use managed login.
      authFlows: { userSrp: true, adminUserPassword: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: props.redirectUrls,
        logoutUrls: props.redirectUrls,
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });

    if (props.domainPrefix !== undefined) assertDomainPrefix(props.domainPrefix, 'domainPrefix');
    const domainPrefix = props.domainPrefix ?? defaultDomainPrefix(Stack.of(this).stackName);
    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix },
      managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    this.domainHost = `${domainPrefix}.auth.${Aws.REGION}.amazoncognito.com`;

    // Managed login (version 2) shows an error page to an app client that has
    // no branding style; Cognito's default style is enough.
    const branding = new cognito.CfnManagedLoginBranding(this, 'Branding', {
      userPoolId: this.userPool.userPoolId,
      clientId: this.client.userPoolClientId,
      useCognitoProvidedValues: true,
    });
    branding.node.addDependency(this.domain);

    this.issuer = `https://cognito-idp.${Aws.REGION}.amazonaws.com/${this.userPool.userPoolId}`;

    acknowledge(
      this.userPool,
      'AwsSolutions-COG2',
      'MFA is optional (TOTP) rather than required so a first-time user can sign in without an authenticator app; users may enrol TOTP at any time.',
    );
    if (!threatProtection) {
      acknowledge(
        this.userPool,
        'AwsSolutions-COG8',
        'Threat protection needs the Plus plan, billed per monthly active user with no free tier; it is one prop away (threatProtection: true). Sign-in is already rate-limited by Cognito and passwords follow a strong policy.',
      );
    }
  }
}

/** Cognito's words that no domain prefix may contain. */
const RESERVED_WORDS = ['aws', 'amazon', 'cognito'] as const;

/**
 * What is wrong with a managed login domain prefix, by Cognito's rules:
 * lower-case letters, digits and hyphens; 1 to 63 characters; no hyphen first
 * or last; none of the words aws, amazon or cognito. Empty when it is valid.
 * (CDK itself checks only the characters; Cognito refuses the rest at deploy
 * time, minutes into the deployment.)
 */
export function domainPrefixProblems(prefix: string): string[] {
  const problems: string[] = [];
  if (prefix.length < 1 || prefix.length > 63) problems.push(`must be 1 to 63 characters long (it has ${prefix.length})`);
  if (/[^a-z0-9-]/.test(prefix)) problems.push('may hold only lower-case letters a-z, digits and hyphens');
  if (prefix.startsWith('-') || prefix.endsWith('-')) problems.push('must not start or end with a hyphen');
  const lower = prefix.toLowerCase();
  const reserved = RESERVED_WORDS.filter((word) => lower.includes(word));
  if (reserved.length > 0)
    problems.push(`must not contain ${reserved.map((w) => `"${w}"`).join(' or ')} (Cognito reserves them)`);
  return problems;
}

/** Throws a readable error naming `source` (the context key or prop) when the prefix breaks Cognito's rules. */
export function assertDomainPrefix(prefix: string, source: string): void {
  const problems = domainPrefixProblems(prefix);
  if (problems.length > 0) {
    throw new Error(
      `${source} ${JSON.stringify(prefix)} is not a valid Cognito domain prefix: it ${problems.join('; it ')}. ` +
        'Example: -c domainPrefix=my-tasks-1234',
    );
  }
}

/**
 * The literal part of the default prefix, from the stack name: lower-cased,
 * the reserved words removed until none is left (removing one can join the
 * halves of another, as in "amazawson"), every run of other characters made
 * a hyphen, no hyphen first or last, at most 40 characters; "tasks" when
 * nothing is left. For names where one removal pass suffices this is what
 * earlier versions derived, so existing deployments keep their domain.
 */
export function defaultDomainPrefixBase(stackName: string): string {
  let base = stackName.toLowerCase();
  for (let previous = ''; previous !== base; ) {
    previous = base;
    base = base.replace(/aws|amazon|cognito/g, '');
  }
  return (
    base
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'tasks'
  );
}

/**
 * `<defaultDomainPrefixBase(stack name)>-<8 hex digits of the stack UUID>`:
 * unique per deployment without a lookup at synth time. The base is checked
 * with a stand-in for the hex digits (hex digits cannot spell a reserved word).
 */
function defaultDomainPrefix(stackName: string): string {
  const base = defaultDomainPrefixBase(stackName);
  assertDomainPrefix(`${base}-0123abcd`, `The login domain prefix derived from the stack name ${JSON.stringify(stackName)},`);
  const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
  return `${base}-${Fn.select(0, Fn.split('-', stackUuid))}`;
}
