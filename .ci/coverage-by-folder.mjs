// Prints line and branch coverage per top-level folder from vitest's
// coverage/coverage-summary.json (V8). Figures only, no thresholds.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const summary = JSON.parse(readFileSync('coverage/coverage-summary.json', 'utf8'));
const root = process.cwd();
const folders = new Map();
for (const [file, figures] of Object.entries(summary)) {
  if (file === 'total') continue;
  const rel = path.relative(root, file).split(path.sep);
  const folder = rel[0] === 'web' ? `${rel[0]}/${rel[1]}` : rel[0];
  const f = folders.get(folder) ?? { lines: 0, linesCovered: 0, branches: 0, branchesCovered: 0, files: 0 };
  f.lines += figures.lines.total;
  f.linesCovered += figures.lines.covered;
  f.branches += figures.branches.total;
  f.branchesCovered += figures.branches.covered;
  f.files++;
  folders.set(folder, f);
}
const pct = (covered, total) => (total === 0 ? '—' : `${((100 * covered) / total).toFixed(1)} %`);
console.log('coverage by folder (lines, branches; V8, in the test process only):');
for (const [folder, f] of [...folders].sort()) {
  console.log(
    `  ${folder.padEnd(10)} ${pct(f.linesCovered, f.lines).padStart(8)} lines  ${pct(f.branchesCovered, f.branches).padStart(8)} branches  (${f.files} files)`,
  );
}
const t = summary.total;
console.log(
  `  ${'total'.padEnd(10)} ${pct(t.lines.covered, t.lines.total).padStart(8)} lines  ${pct(t.branches.covered, t.branches.total).padStart(8)} branches`,
);
