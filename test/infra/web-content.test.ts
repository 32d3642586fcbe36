import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CfnResource } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classifyWebFiles,
  ENTRY_CACHE_CONTROL,
  IMMUTABLE_CACHE_CONTROL,
  PREVIOUS_ASSETS_PREFIX,
  PREVIOUS_ASSETS_RETENTION_DAYS,
} from '../../lib/constructs/web.js';
import { logicalId, synthesize, WEB_BUILD, type SynthResult } from './support.js';

/**
 * How a redeploy publishes the dashboard (issue 12, "Redeploys without broken
 * pages"): no browser holding the previous index.html may get a 403 on the
 * hashed files it names, and only hashed files may be cached as immutable.
 */
let synth: SynthResult;
beforeAll(() => {
  synth = synthesize();
});
afterAll(() => synth?.cleanup());

interface BucketDeployment {
  id: string;
  props: Record<string, any>;
  dependsOn: string[];
}

function deployments(): BucketDeployment[] {
  return Object.entries(synth.template.findResources('Custom::CDKBucketDeployment')).map(([id, r]) => ({
    id,
    props: r.Properties as Record<string, any>,
    dependsOn: (r.DependsOn as string[] | undefined) ?? [],
  }));
}

/** The deployment of WebSite.deployContent with this construct id. */
function deployment(constructId: string): BucketDeployment {
  const resource = synth.stack.web.node
    .findChild(constructId)
    .node.findAll()
    .find((c) => CfnResource.isCfnResource(c) && c.cfnResourceType === 'Custom::CDKBucketDeployment')!;
  const id = logicalId(resource);
  const found = deployments().find((d) => d.id === id);
  if (!found) throw new Error(`no BucketDeployment ${constructId}`);
  return found;
}

/** Deployments that run before `d`: CloudFormation orders resources only through DependsOn and references. */
function runsBefore(before: BucketDeployment, after: BucketDeployment): boolean {
  return after.dependsOn.includes(before.id);
}

const hashedFiles = Object.keys(WEB_BUILD).filter((f) => /-[A-Z0-9]{8}\./.test(f));
const unhashedFiles = Object.keys(WEB_BUILD).filter((f) => !hashedFiles.includes(f));

/** Which of `files` a deployment's sync filter lets through (aws s3 sync: later filters win). */
function passes(d: BucketDeployment, files: string[]): string[] {
  const match = (pattern: string, file: string) =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(file);
  const filters = [
    ...((d.props.Exclude as string[] | undefined) ?? []).map((p) => ({ p, keep: false })),
    ...((d.props.Include as string[] | undefined) ?? []).map((p) => ({ p, keep: true })),
  ];
  return files.filter((file) => filters.reduce((keep, f) => (match(f.p, file) ? f.keep : keep), true));
}

describe('web build classification', () => {
  it('tells hashed files (app-<hash>.js, its map, styles-<hash>.css) from the ones browsers ask for by name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-files-'));
    try {
      for (const [name, content] of Object.entries(WEB_BUILD)) fs.writeFileSync(path.join(dir, name), content);
      fs.mkdirSync(path.join(dir, 'icons'));
      fs.writeFileSync(path.join(dir, 'icons', 'icon-192.png'), '');
      fs.writeFileSync(path.join(dir, 'sw.js'), '');
      fs.writeFileSync(path.join(dir, 'manifest.webmanifest'), '');
      expect(classifyWebFiles(dir)).toEqual({
        hashed: ['app-N2KP6Z7Z.js', 'app-N2KP6Z7Z.js.map', 'styles-OO54WBVG.css'],
        unhashed: ['favicon.svg', 'icons/icon-192.png', 'index.html', 'manifest.webmanifest', 'sw.js'],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('publishing a build', () => {
  it('uploads the hashed files to the site and to the previous-builds prefix before index.html, and deletes nothing then', () => {
    const entry = deployment('Entry');
    for (const id of ['Assets', 'PreviousAssets']) {
      const d = deployment(id);
      expect(runsBefore(d, entry), `${id} before Entry`).toBe(true);
      expect(d.props.Prune, id).toBe(false);
      expect(passes(d, Object.keys(WEB_BUILD)), id).toEqual(hashedFiles);
    }
    expect(deployment('Assets').props.DestinationBucketKeyPrefix).toBeUndefined();
    expect(deployment('PreviousAssets').props.DestinationBucketKeyPrefix).toBe(PREVIOUS_ASSETS_PREFIX);
  });

  it('publishes index.html, config.json and every other unhashed file in one deployment, and invalidates them', () => {
    const entry = deployment('Entry');
    expect(entry.props.Prune).toBe(false);
    expect(passes(entry, [...Object.keys(WEB_BUILD), 'config.json'])).toEqual([...unhashedFiles, 'config.json']);
    expect([...entry.props.DistributionPaths].sort()).toEqual(
      ['/', ...[...unhashedFiles, 'config.json'].map((f) => `/${f}`)].sort(),
    );
    expect(entry.props.WaitForDistributionInvalidation).toBe(true);
  });

  it('removes the previous build from the site root only after index.html is replaced, and never touches the previous-builds prefix', () => {
    const entry = deployment('Entry');
    const prune = deployment('PruneAssets');
    expect(runsBefore(entry, prune)).toBe(true);
    expect(prune.props.Prune).toBe(true);
    expect(prune.props.DestinationBucketKeyPrefix).toBeUndefined();
    // What it may delete is what its filter lets through: old hashed names, never an unhashed file or a kept copy.
    const bucketKeys = [
      'app-OLDHASH1.js',
      'styles-OLDHASH1.css',
      ...unhashedFiles,
      'config.json',
      `${PREVIOUS_ASSETS_PREFIX}app-OLDHASH1.js`,
    ];
    expect(passes(prune, bucketKeys)).toEqual(['app-OLDHASH1.js', 'styles-OLDHASH1.css']);
    // No other deployment deletes anything.
    expect(
      deployments()
        .filter((d) => d.props.Prune !== false)
        .map((d) => d.id),
    ).toEqual([prune.id]);
    expect(deployments()).toHaveLength(4);
  });

  it('caches hashed files for a year as immutable and makes browsers revalidate every unhashed file', () => {
    for (const id of ['Assets', 'PreviousAssets', 'PruneAssets']) {
      expect(deployment(id).props.SystemMetadata, id).toEqual({ 'cache-control': IMMUTABLE_CACHE_CONTROL });
    }
    expect(IMMUTABLE_CACHE_CONTROL).toBe('public, max-age=31536000, immutable');
    expect(deployment('Entry').props.SystemMetadata).toEqual({ 'cache-control': ENTRY_CACHE_CONTROL });
    expect(ENTRY_CACHE_CONTROL).toBe('no-cache');
    // favicon.svg is unhashed: it goes out with index.html, never as immutable.
    for (const d of deployments()) {
      if (passes(d, ['favicon.svg']).length > 0) expect(d.props.SystemMetadata, d.id).toEqual({ 'cache-control': 'no-cache' });
    }
  });
});

describe('serving files of a previous build', () => {
  it('falls back to the previous-builds prefix when the site root has no such file', () => {
    const config = synth.template.toJSON().Resources[logicalId(synth.stack.web.distribution)].Properties.DistributionConfig;
    const [group] = config.OriginGroups.Items;
    expect(config.OriginGroups.Quantity).toBe(1);
    expect(config.DefaultCacheBehavior.TargetOriginId).toBe(group.Id);
    expect(group.FailoverCriteria.StatusCodes).toEqual({ Quantity: 2, Items: [403, 404] });
    const [primary, fallback] = group.Members.Items.map((m: { OriginId: string }) =>
      config.Origins.find((o: { Id: string }) => o.Id === m.OriginId),
    );
    expect(primary.OriginPath).toBeUndefined();
    expect(fallback.OriginPath).toBe(`/${PREVIOUS_ASSETS_PREFIX.replace(/\/$/, '')}`);
  });

  it('expires the kept copies after PREVIOUS_ASSETS_RETENTION_DAYS, and nothing at the site root', () => {
    const rules = synth.template.toJSON().Resources[logicalId(synth.stack.web.bucket)].Properties.LifecycleConfiguration
      .Rules as Record<string, any>[];
    const expiring = rules.filter((r) => r.ExpirationInDays !== undefined || r.ExpirationDate !== undefined);
    expect(expiring).toEqual([
      {
        Id: 'ExpirePreviousAssets',
        Prefix: PREVIOUS_ASSETS_PREFIX,
        ExpirationInDays: PREVIOUS_ASSETS_RETENTION_DAYS,
        Status: 'Enabled',
      },
    ]);
    expect(PREVIOUS_ASSETS_RETENTION_DAYS).toBeGreaterThanOrEqual(7);
  });
});
