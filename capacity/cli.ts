import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { helpText, parseArgs, UsageError } from './args.js';
import { costPerUserSvg } from './chart.js';
import { formatReport, formatUsers } from './format.js';
import { costCurve, runModel } from './model.js';
import { unitsFromBench } from './units.js';

/**
 * `npm run capacity -- --users N --devices-per-user D --changes-per-user-per-day C ...`
 * The thin shell around the model: parse, read the bench results, print.
 */

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => string;
  writeFile: (path: string, text: string) => void;
}

const nodeIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (p) => readFileSync(p, 'utf8'),
  writeFile: (p, t) => writeFileSync(p, t),
};

export function main(argv: readonly string[], io: Io = nodeIo): number {
  try {
    const options = parseArgs(argv);
    if (options.help) {
      io.stdout(`${helpText()}\n`);
      return 0;
    }
    let bench: unknown;
    if (options.resultsPath !== null) {
      let text: string;
      try {
        text = io.readFile(options.resultsPath);
      } catch (error) {
        throw new UsageError(
          `Cannot read ${options.resultsPath} (${(error as Error).message}); run the benchmark, or pass --results none to use the documented fallbacks`,
        );
      }
      try {
        bench = JSON.parse(text);
      } catch {
        throw new UsageError(`${options.resultsPath} is not JSON`);
      }
    }
    const units = unitsFromBench(bench, options.profile.devicesPerUser);
    const report = runModel(options.profile, units, options.quotas, options.scales);
    io.stdout(`${options.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
    if (options.svgPath !== null) {
      const from = Math.min(1_000, ...options.scales);
      const to = Math.max(from * 10, ...options.scales);
      const svg = costPerUserSvg(costCurve(options.profile, units, options.quotas, from, to), {
        title: 'Cost per user per month against users (us-east-1 list prices)',
        marks: report.scales.map((s) => ({
          users: s.users,
          perUser: s.cost.perUser,
          label: `${formatUsers(s.users)}: $${s.cost.perUser.toFixed(4)}`,
        })),
      });
      io.writeFile(options.svgPath, svg);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`capacity: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

const invokedDirectly = (() => {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (invokedDirectly) process.exitCode = main(process.argv.slice(2));
