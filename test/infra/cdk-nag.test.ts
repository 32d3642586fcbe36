import fs from 'node:fs';
import path from 'node:path';
import { Validations, type Acknowledgment } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp, synthesize, type BuiltApp } from './support.js';

interface Finding {
  rule: string;
  severity: string;
  constructPath: string;
}

/** Every finding in the cloud assembly's validation report (cdk-nag packs, and CDK annotations with the recommended flags). */
function findings(outdir: string): Finding[] {
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { violations: { ruleName: string; severity: string; violatingConstructs: { constructPath: string }[] }[] }[];
  };
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((violation) =>
      violation.violatingConstructs.map((c) => ({
        rule: violation.ruleName,
        severity: violation.severity,
        constructPath: c.constructPath,
      })),
    ),
  );
}

describe('cdk-nag (AwsSolutions and Serverless packs)', () => {
  const builds: BuiltApp[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(() => {
    for (const build of builds) build.cleanup();
  });

  it('leaves no unacknowledged error or warning, and CDK itself warns about nothing', () => {
    const synth = synthesize();
    builds.push(synth);

    expect(findings(synth.outdir)).toEqual([]);
    expect(Annotations.fromStack(synth.stack).findWarning('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(synth.stack).findError('*', Match.anyValue())).toEqual([]);
  });

  it('acknowledges only findings that occur, each with a specific reason', () => {
    // Record the acknowledgments instead of applying them, so the packs report
    // every finding; then match the two lists.
    const acknowledged: (Acknowledgment & { path: string })[] = [];
    vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (this: Validations, ...rules) {
      const scopePath = (this as unknown as { scope: { node: { path: string } } }).scope.node.path;
      for (const rule of rules) acknowledged.push({ ...rule, path: scopePath });
    });
    const built = buildApp();
    builds.push(built);
    try {
      built.app.synth();
    } catch {
      // Expected: without acknowledgments the packs' errors fail the synthesis; the report is written first.
    }
    const found = findings(built.outdir);

    const covers = (ack: { id: string; path: string }, finding: Finding) =>
      finding.rule === ack.id && (finding.constructPath === ack.path || finding.constructPath.startsWith(`${ack.path}/`));
    const unused = acknowledged.filter((ack) => !found.some((finding) => covers(ack, finding)));
    const uncovered = found.filter((finding) => !acknowledged.some((ack) => covers(ack, finding)));
    expect(unused.map((a) => `${a.id} on ${a.path}`)).toEqual([]);
    expect(uncovered).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const ack of acknowledged) {
      expect(ack.reason.length, `${ack.id} on ${ack.path}`).toBeGreaterThanOrEqual(60);
    }
  });
});
