import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { StackInfo } from './stack-info.js';

const root = path.resolve(import.meta.dirname, '../..');

export interface RunningStack {
  info: StackInfo;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  /** Rebuild and reload functions when lambdas/ or lib/definitions.ts change, as `npm start` does. Default: false (`--no-watch`). */
  watch?: boolean;
  /** The project to run (a copy, for the reload benchmark). Default: this repository. */
  root?: string;
}

/**
 * Starts `bin/local.ts` exactly as `npm start` does (a separate process tree),
 * on free ports, in memory unless `args` names a `--data-dir`, without the
 * source watch (`--no-watch`: other work in the tree must not reload the
 * stack under test) unless asked, and resolves once it prints its READY line.
 */
export async function startLocalStack(
  args: string[] = [],
  timeoutMs = 60_000,
  options: LocalStackOptions = {},
): Promise<RunningStack> {
  const storage = args.includes('--data-dir') ? [] : ['--in-memory'];
  const watch = options.watch ? [] : ['--no-watch'];
  const project = options.root ?? root;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(project, 'bin/local.ts'), ...storage, ...watch, '--port', '0', '--ready-json', ...args],
    {
      cwd: project,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  const info = await new Promise<StackInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local stack not ready after ${timeoutMs} ms:\n${log}`)), timeoutMs);
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      log += text;
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('READY ')) {
          clearTimeout(timer);
          resolve(JSON.parse(line.slice('READY '.length)) as StackInfo);
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local stack exited with ${code} before ready:\n${log}`));
    });
  });
  return {
    info,
    process: child,
    output: () => log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(killer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
