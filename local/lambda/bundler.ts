import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { context, type BuildContext, type BuildFailure, type Message } from 'esbuild';
import { LAMBDA_ESBUILD_OPTIONS } from '../../lib/bundling.js';

/** One build of one function: the directory holding its `index.mjs` (LAMBDA_TASK_ROOT). */
export interface BundleVersion {
  generation: number;
  /** Absolute directory with index.mjs and index.mjs.map. */
  dir: string;
  /** Absolute paths of the project's own source files in the bundle (not node_modules): what to watch. */
  inputs: Set<string>;
  bytes: number;
  builtAt: number;
  buildMs: number;
}

export class BundleError extends Error {
  override name = 'BundleError';
}

export interface Bundler {
  /** Builds (or rebuilds, incrementally) `name`; on error the previous version stays current. */
  build(name: string): Promise<BundleVersion>;
  current(name: string): BundleVersion | undefined;
  /** Names whose bundle contains `file` (absolute). */
  affectedBy(file: string): string[];
  /** Points `name` at another entry file (a changed definition); true if it changed. */
  setEntry(name: string, entry: string): Promise<boolean>;
  dispose(): Promise<void>;
}

export interface BundlerOptions {
  projectRoot: string;
  /** Where versions are written: `<outRoot>/<name>/g<generation>/index.mjs`. */
  outRoot: string;
  /** Entry file (relative to projectRoot) per name. */
  entries: Record<string, string>;
}

const formatMessages = (messages: Message[]) =>
  messages.map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text)).join('\n');

/**
 * Builds each function with the esbuild options CDK deploys with
 * (LAMBDA_ESBUILD_OPTIONS), keeping one incremental esbuild context per
 * function so a rebuild after a change re-reads only what changed. Every
 * build goes to a new generation directory, so a worker still loading the
 * previous version never reads a half-written file.
 */
export function createBundler(options: BundlerOptions): Bundler {
  const contexts = new Map<string, Promise<BuildContext>>();
  const versions = new Map<string, BundleVersion>();
  const generations = new Map<string, number>();
  const { outputFile, ...esbuildOptions } = LAMBDA_ESBUILD_OPTIONS;
  const entries = { ...options.entries };

  const contextOf = (name: string): Promise<BuildContext> => {
    let ctx = contexts.get(name);
    if (!ctx) {
      const entry = entries[name];
      if (!entry) throw new BundleError(`no entry for ${name}`);
      ctx = context({
        ...esbuildOptions,
        mainFields: [...esbuildOptions.mainFields],
        external: [...esbuildOptions.external],
        absWorkingDir: options.projectRoot,
        entryPoints: [path.join(options.projectRoot, entry)],
        // Written by hand into g<N>/ below; `current/` has the same depth, so the source map's paths hold.
        outfile: path.join(options.outRoot, name, 'current', outputFile),
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      contexts.set(name, ctx);
    }
    return ctx;
  };

  return {
    async build(name) {
      const started = performance.now();
      const ctx = await contextOf(name);
      let result: Awaited<ReturnType<typeof ctx.rebuild>>;
      try {
        result = await ctx.rebuild();
      } catch (error) {
        const failure = error as Partial<BuildFailure>;
        throw new BundleError(failure.errors ? formatMessages(failure.errors) : String(error));
      }
      const generation = (generations.get(name) ?? 0) + 1;
      generations.set(name, generation);
      const dir = path.join(options.outRoot, name, `g${generation}`);
      await mkdir(dir, { recursive: true });
      let bytes = 0;
      for (const file of result.outputFiles ?? []) {
        await writeFile(path.join(dir, path.basename(file.path)), file.contents);
        if (file.path.endsWith(outputFile)) bytes = file.contents.byteLength;
      }
      const inputs = new Set(
        Object.keys(result.metafile?.inputs ?? {})
          .filter((file) => !file.includes('node_modules/'))
          .map((file) => path.resolve(options.projectRoot, file)),
      );
      const version: BundleVersion = {
        generation,
        dir,
        inputs,
        bytes,
        builtAt: Date.now(),
        buildMs: Math.round(performance.now() - started),
      };
      versions.set(name, version);
      // Two versions back nobody loads any more (workers of the previous one may still be finishing).
      await rm(path.join(options.outRoot, name, `g${generation - 2}`), { recursive: true, force: true });
      return version;
    },
    current: (name) => versions.get(name),
    async setEntry(name, entry) {
      if (entries[name] === entry) return false;
      entries[name] = entry;
      const ctx = contexts.get(name);
      contexts.delete(name);
      await (await ctx)?.dispose();
      return true;
    },
    affectedBy: (file) => [...versions].filter(([, version]) => version.inputs.has(file)).map(([name]) => name),
    async dispose() {
      await Promise.allSettled([...contexts.values()].map(async (ctx) => (await ctx).dispose()));
      contexts.clear();
    },
  };
}
