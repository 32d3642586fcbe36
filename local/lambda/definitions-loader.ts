import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { context, type BuildContext, type BuildFailure } from 'esbuild';

export type DefinitionsModule = typeof import('../../lib/definitions.js');

/**
 * Loads a fresh copy of lib/definitions.ts on each call (npm start's watch):
 * Node caches an imported module for the life of the process, so the file is
 * bundled into a new `.mjs` per load and that one is imported.
 */
export function createDefinitionsLoader(projectRoot: string, outDir: string) {
  let ctx: Promise<BuildContext> | undefined;
  let generation = 0;
  return {
    file: path.join(projectRoot, 'lib/definitions.ts'),
    async load(): Promise<DefinitionsModule> {
      ctx ??= context({
        absWorkingDir: projectRoot,
        entryPoints: [path.join(projectRoot, 'lib/definitions.ts')],
        bundle: true,
        format: 'esm',
        platform: 'node',
        write: false,
        outfile: path.join(outDir, 'definitions.mjs'),
        logLevel: 'silent',
      });
      let result: Awaited<ReturnType<Awaited<typeof ctx>['rebuild']>>;
      try {
        result = await (await ctx).rebuild();
      } catch (error) {
        const failure = error as Partial<BuildFailure>;
        throw new Error(
          failure.errors?.map((m) => `${m.location?.file ?? ''}:${m.location?.line ?? ''}: ${m.text}`).join('\n') ??
            String(error),
        );
      }
      generation++;
      await mkdir(outDir, { recursive: true });
      const file = path.join(outDir, `definitions-${generation}.mjs`);
      await writeFile(file, result.outputFiles![0]!.contents);
      try {
        return (await import(pathToFileURL(file).href)) as DefinitionsModule;
      } finally {
        await rm(file, { force: true });
      }
    },
    async dispose(): Promise<void> {
      await (await ctx)?.dispose();
    },
  };
}
