/**
 * `npx tsx bench/merge-partial.ts`: replaces the scenarios of
 * bench/results/partial.tmp (a `--only` run) in bench/results/latest.json,
 * records that they came from a separate run, and re-evaluates the targets
 * and the table. For re-measuring one scenario without re-running them all.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { printTable, TARGETS, type Results } from './report.js';

const dir = path.resolve(import.meta.dirname, 'results');
const latest = JSON.parse(await readFile(path.join(dir, 'latest.json'), 'utf8')) as Results & Record<string, unknown>;
const partial = JSON.parse(await readFile(path.join(dir, 'partial.tmp'), 'utf8')) as Results & Record<string, unknown>;
const replaced: string[] = [];
for (const [key, value] of Object.entries(partial)) {
  if (key === 'meta' || key === 'targets') continue;
  latest[key] = value;
  replaced.push(key);
}
for (const name of Object.keys(partial.meta.errors)) latest.meta.errors[name] = partial.meta.errors[name]!;
for (const run of partial.meta.scenarioRuns) {
  delete latest.meta.errors[run.name];
  latest.meta.scenarioRuns.push({ ...run, name: `${run.name} (re-run ${partial.meta.date}, commit ${partial.meta.commit})` });
}
latest.targets = TARGETS.map((t) => t.evaluate(latest));
await writeFile(path.join(dir, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
await rm(path.join(dir, 'partial.tmp'));
process.stdout.write(`${printTable(latest)}\nmerged ${replaced.join(', ')} into bench/results/latest.json\n`);
