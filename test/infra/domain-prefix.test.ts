import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { defaultDomainPrefixBase, domainPrefixProblems } from '../../lib/constructs/auth.js';
import { stackPropsFromContext } from '../../lib/stack-app.js';
import { buildApp } from './support.js';

/**
 * The managed login domain prefix (issue 12, "Login domain"): Cognito refuses
 * a bad one only at deploy time, minutes in; the synthesis refuses it first,
 * saying why. Rules: lower-case letters, digits and hyphens, 1 to 63
 * characters, no hyphen first or last, none of aws, amazon, cognito.
 */
const INVALID: [prefix: string, reason: RegExp][] = [
  ['aws-tasks', /must not contain "aws"/],
  ['my-amazon-tasks', /must not contain "amazon"/],
  ['tasks-cognito', /must not contain "cognito"/],
  ['lawsuit', /must not contain "aws"/],
  ['My-Tasks', /lower-case letters a-z, digits and hyphens/],
  ['tasks_1', /lower-case letters a-z, digits and hyphens/],
  ['tasks.example', /lower-case letters a-z, digits and hyphens/],
  ['-tasks', /must not start or end with a hyphen/],
  ['tasks-', /must not start or end with a hyphen/],
  ['', /1 to 63 characters/],
  ['a'.repeat(64), /1 to 63 characters long \(it has 64\)/],
];
const VALID = ['my-tasks-demo', 'a', '7', 'tasks-2024', 'a'.repeat(63), 'x-y'];

describe('Cognito domain prefix rules', () => {
  it.each(INVALID)('refuses %j', (prefix, reason) => {
    expect(domainPrefixProblems(prefix).join('; ')).toMatch(reason);
  });

  it('accepts prefixes that follow every rule', () => {
    for (const prefix of VALID) expect(domainPrefixProblems(prefix), prefix).toEqual([]);
  });
});

describe('-c domainPrefix', () => {
  it.each(INVALID)('fails with a clear error for %j, naming the switch', (prefix, reason) => {
    const app = new App({ context: { domainPrefix: prefix } });
    expect(() => stackPropsFromContext(app)).toThrow(
      new RegExp(
        `^Context domainPrefix ${escapeRegExp(JSON.stringify(prefix))} is not a valid Cognito domain prefix: .*${reason.source}`,
      ),
    );
  });

  it('passes a valid prefix through', () => {
    expect(stackPropsFromContext(new App({ context: { domainPrefix: 'my-tasks-demo' } }))).toEqual({
      domainPrefix: 'my-tasks-demo',
    });
  });

  it('fails the synthesis of the stack, before anything is deployed, when given as a stack prop', () => {
    expect(() => buildApp({ domainPrefix: 'amazon-tasks' }).cleanup()).toThrow(
      /domainPrefix "amazon-tasks" is not a valid Cognito domain prefix: it must not contain "amazon"/,
    );
  });
});

describe('the default prefix derived from the stack name', () => {
  it('is what earlier versions derived for ordinary stack names, so deployed domains do not change', () => {
    expect(defaultDomainPrefixBase('TaskSync')).toBe('tasksync');
    expect(defaultDomainPrefixBase('TaskSync-Staging')).toBe('tasksync-staging');
    expect(defaultDomainPrefixBase('AwsTasks')).toBe('tasks');
    expect(defaultDomainPrefixBase('Cognito')).toBe('tasks');
  });

  it('never contains a reserved word, even one that removing another leaves behind', () => {
    // One pass of removing "aws" from "amazawson" leaves "amazon"; so does "cogawsnito" leave "cognito".
    for (const stackName of ['amazawson', 'AmazAwsOn-Tasks', 'cogawsnito', 'aawsws', 'Tasks_Cognito.Amazon']) {
      const base = defaultDomainPrefixBase(stackName);
      expect(domainPrefixProblems(`${base}-0123abcd`), `${stackName} -> ${base}`).toEqual([]);
    }
  });

  it('gives a stack whose name would spell a reserved word a valid domain', () => {
    const built = buildApp({ stackName: 'amazawson' });
    try {
      const domain = Object.values(
        built.app.synth().getStackByName('amazawson').template.Resources as Record<string, { Type: string; Properties: any }>,
      ).find((r) => r.Type === 'AWS::Cognito::UserPoolDomain')!;
      const literal = (domain.Properties.Domain['Fn::Join'][1] as unknown[])[0] as string;
      expect(literal).toBe('tasks-');
    } finally {
      built.cleanup();
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
