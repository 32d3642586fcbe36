import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { FunctionName, Permission } from '../../lib/definitions.js';
import type { Denial } from '../iam/policy.js';
import { LambdaFunctionError, LambdaTimeoutError } from './errors.js';
import type { FunctionErrorPayload, ParentMessage, WorkerIam, WorkerMessage } from './protocol.js';

/** Everything needed to start one execution environment of a function, as it is defined right now. */
export interface WorkerSpec {
  /** LAMBDA_TASK_ROOT: the bundle version's directory. */
  taskRoot: string;
  /** The complete environment (nothing is inherited from the emulator's process). */
  env: Record<string, string>;
  memoryMb: number;
  timeoutSeconds: number;
  /** The IAM check the worker runs in front of DynamoDB Local. */
  iam: WorkerIam;
}

export interface PoolOptions {
  fn: FunctionName;
  /** The built bootstrap (bootstrap.ts) every worker runs. */
  bootstrapFile: string;
  /** The current spec; throws when the function cannot start (no bundle yet, environment incomplete). */
  spec: () => WorkerSpec;
  /** Most workers (concurrent invocations) of this function; more invocations wait for one. */
  maxWorkers: number;
  /** Idle workers beyond the first are stopped after this long unused. */
  idleTimeoutMs: number;
  /** A line the function wrote to stdout or stderr. */
  output: (line: string, stream: 'stdout' | 'stderr') => void;
  /** What a worker's IAM check reports: calls it let through, and each refusal. */
  onIam?: (allowed: number, denial?: Denial) => void;
}

export interface PoolStats {
  invocations: number;
  /** Workers started (each one a cold start: process start plus the bundle's init). */
  coldStarts: number;
  /** Median init (import of the bundle) of the cold starts so far, ms. */
  initMsMedian: number | null;
  errors: number;
  timeouts: number;
  /** Init failures (the bundle threw at import, or could not start). */
  initErrors: number;
  /** Workers alive now (starting, idle or busy). */
  workers: number;
  busy: number;
  idle: number;
  /** Invocations waiting for a worker (all maxWorkers busy). */
  queued: number;
  maxWorkers: number;
  /** Workers retired by a reload. */
  retired: number;
}

let nextId = 1;
const invokedFunctionArn = (fn: FunctionName) => `arn:aws:lambda:local:000000000000:function:${fn}`;

/** One execution environment: a child process with the function's bundle loaded. */
class Worker {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly epoch: number;
  state: 'starting' | 'idle' | 'busy' | 'dead' = 'starting';
  idleSince = 0;
  initMs: number | undefined;
  private pending: { id: number; resolve: (value: unknown) => void; reject: (error: Error) => void } | undefined;
  private stderrTail = '';
  private exitListeners: Array<(error: Error) => void> = [];

  constructor(
    readonly fn: FunctionName,
    readonly spec: WorkerSpec,
    bootstrapFile: string,
    epoch: number,
    output: PoolOptions['output'],
    onIam: PoolOptions['onIam'],
  ) {
    this.epoch = epoch;
    this.child = fork(bootstrapFile, [], {
      cwd: spec.taskRoot,
      env: spec.env,
      // Lambda's memory setting as the heap limit (Lambda limits the whole sandbox, off-heap memory too).
      execArgv: [`--max-old-space-size=${spec.memoryMb}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    forwardLines(this.child.stdout!, (line) => output(line, 'stdout'));
    forwardLines(this.child.stderr!, (line) => {
      this.stderrTail = (this.stderrTail + line + '\n').slice(-4_000);
      output(line, 'stderr');
    });

    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: WorkerMessage) => {
        if (message.type === 'iam') {
          onIam?.(message.allowed, message.denial);
        } else if (message.type === 'ready') {
          this.initMs = message.initMs;
          resolve();
        } else if (message.type === 'initError') {
          reject(new LambdaFunctionError(message.error));
        } else {
          this.settle(message);
        }
      };
      this.child.on('message', onMessage);
      this.exitListeners.push(reject);
    });
    this.ready.catch(() => undefined);
    this.send({ type: 'configure', iam: spec.iam });
    this.child.on('error', (error) => this.died(error));
    this.child.on('exit', (code, signal) => this.died(this.exitError(code, signal)));
  }

  /** Runs one invocation; the worker is killed if it runs past the timeout. */
  run(event: unknown): Promise<unknown> {
    const id = nextId++;
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const message: ParentMessage = {
      type: 'invoke',
      id,
      event,
      requestId: randomUUID(),
      deadline: Date.now() + timeoutMs,
      invokedFunctionArn: invokedFunctionArn(this.fn),
    };
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Lambda stops the environment; the next invocation gets a fresh one.
        this.pending = undefined;
        this.kill();
        reject(new LambdaTimeoutError(`Task timed out after ${this.spec.timeoutSeconds}.00 seconds`));
      }, timeoutMs);
      this.pending = {
        id,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.send(message, (error) => this.pending?.reject(error));
    });
  }

  send(message: ParentMessage, onError?: (error: Error) => void): void {
    if (!this.child.connected) return;
    this.child.send(message, (error) => {
      if (error) onError?.(error);
    });
  }

  kill(): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.child.kill('SIGKILL');
  }

  onExit(listener: (error: Error) => void): void {
    this.exitListeners.push(listener);
  }

  private settle(message: WorkerMessage): void {
    const pending = this.pending;
    if (!pending || !('id' in message) || message.id !== pending.id) return;
    this.pending = undefined;
    if (message.type === 'result') pending.resolve(JSON.parse(message.payload));
    else if (message.type === 'error') pending.reject(new LambdaFunctionError(message.error));
  }

  private exitError(code: number | null, signal: NodeJS.Signals | null): Error {
    const outOfMemory = /heap out of memory|Reached heap limit/i.test(this.stderrTail);
    const payload: FunctionErrorPayload = {
      errorType: outOfMemory ? 'Runtime.OutOfMemory' : 'Runtime.ExitError',
      errorMessage: `Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}`,
      trace: [],
    };
    return new LambdaFunctionError(payload);
  }

  private died(error: Error): void {
    this.state = 'dead';
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
    for (const listener of this.exitListeners.splice(0)) listener(error);
  }
}

function forwardLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (buffered) onLine(buffered);
  });
}

interface Waiter {
  resolve: (worker: Worker) => void;
  reject: (error: Error) => void;
}

/**
 * The execution environments of one function: each worker process serves one
 * invocation at a time, so concurrent invocations never share a module
 * instance. A free warm worker is reused (the most recently used first, as
 * Lambda tends to); otherwise a new one starts (a cold start) up to
 * maxWorkers, and beyond that invocations wait their turn. retire() (a
 * reload) stops reusing the current workers: idle ones end at once, busy ones
 * after their invocation.
 */
export class FunctionPool {
  private readonly idle: Worker[] = [];
  private readonly alive = new Set<Worker>();
  private readonly waiters: Waiter[] = [];
  private starting = 0;
  private epoch = 0;
  private stopped = false;
  private readonly initTimes: number[] = [];
  private readonly counters = { invocations: 0, coldStarts: 0, errors: 0, timeouts: 0, initErrors: 0, retired: 0 };
  private readonly reaper: NodeJS.Timeout;

  constructor(private readonly options: PoolOptions) {
    this.reaper = setInterval(() => this.reapIdle(), Math.max(1_000, Math.min(30_000, options.idleTimeoutMs / 2)));
    this.reaper.unref();
  }

  async invoke(event: unknown): Promise<unknown> {
    this.counters.invocations++;
    const worker = await this.acquire();
    try {
      return await worker.run(event);
    } catch (error) {
      if (error instanceof LambdaTimeoutError) this.counters.timeouts++;
      else this.counters.errors++;
      throw error;
    } finally {
      this.release(worker);
    }
  }

  /** Starts one worker if none of the current code is alive, and resolves when it is ready (or failed to start, with the error). */
  async prewarm(): Promise<Error | undefined> {
    if (this.stopped || [...this.alive].some((worker) => worker.epoch === this.epoch)) return undefined;
    try {
      const worker = this.spawn();
      await worker.ready;
      return undefined;
    } catch (error) {
      return error as Error;
    }
  }

  /** The definitions were reloaded: the workers alive enforce these permissions from their next call on. */
  setPermissions(permissions: readonly Permission[]): void {
    for (const worker of this.alive) worker.send({ type: 'permissions', permissions });
  }

  /** A new version of the code or definition: no current worker is reused. */
  retire(): void {
    this.epoch++;
    for (const worker of this.idle.splice(0)) {
      this.counters.retired++;
      this.discard(worker);
    }
  }

  stats(): PoolStats {
    let busy = 0;
    for (const worker of this.alive) if (worker.state === 'busy') busy++;
    const sorted = [...this.initTimes].sort((a, b) => a - b);
    return {
      ...this.counters,
      initMsMedian: sorted.length > 0 ? sorted[Math.floor(sorted.length / 2)]! : null,
      workers: this.alive.size,
      busy,
      idle: this.idle.length,
      queued: this.waiters.length,
      maxWorkers: this.options.maxWorkers,
    };
  }

  /** Process ids of the workers alive now (benchmarks read their memory). */
  pids(): number[] {
    return [...this.alive].map((worker) => worker.child.pid).filter((pid): pid is number => pid !== undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reaper);
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`${this.options.fn}: the local runtime is stopping`));
    const exited = (child: ChildProcess) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
    const exits = [...this.alive].map((worker) => exited(worker.child));
    for (const worker of this.alive) worker.kill();
    await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 2_000))]);
  }

  private acquire(): Promise<Worker> {
    if (this.stopped) return Promise.reject(new Error(`${this.options.fn}: the local runtime is stopping`));
    const worker = this.idle.pop();
    if (worker) {
      worker.state = 'busy';
      return Promise.resolve(worker);
    }
    return new Promise<Worker>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.fill();
    });
  }

  /** Starts workers for waiting invocations, up to maxWorkers. */
  private fill(): void {
    while (!this.stopped && this.waiters.length > this.starting && this.alive.size < this.options.maxWorkers) {
      try {
        this.spawn();
      } catch (error) {
        // The function cannot start at all (no bundle, environment incomplete): fail one invocation, as Lambda would.
        this.counters.initErrors++;
        this.waiters.shift()?.reject(error as Error);
      }
    }
  }

  private spawn(): Worker {
    const spec = this.options.spec();
    const worker = new Worker(
      this.options.fn,
      spec,
      this.options.bootstrapFile,
      this.epoch,
      this.options.output,
      this.options.onIam,
    );
    this.alive.add(worker);
    this.starting++;
    this.counters.coldStarts++;
    worker.onExit(() => {
      this.alive.delete(worker);
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
    });
    worker.ready.then(
      () => {
        this.starting--;
        if (worker.initMs !== undefined) this.initTimes.push(worker.initMs);
        if (this.initTimes.length > 200) this.initTimes.shift();
        this.release(worker);
      },
      (error: Error) => {
        this.starting--;
        this.counters.initErrors++;
        worker.kill();
        this.alive.delete(worker);
        // The invocation that waited for this environment fails with its init error; the next one tries again.
        this.waiters.shift()?.reject(error);
        this.fill();
      },
    );
    return worker;
  }

  private release(worker: Worker): void {
    if (worker.state === 'dead' || this.stopped) {
      this.alive.delete(worker);
      this.fill();
      return;
    }
    if (worker.epoch !== this.epoch) {
      this.counters.retired++;
      this.discard(worker);
      this.fill();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      worker.state = 'busy';
      waiter.resolve(worker);
      return;
    }
    worker.state = 'idle';
    worker.idleSince = Date.now();
    this.idle.push(worker);
  }

  private discard(worker: Worker): void {
    worker.kill();
    this.alive.delete(worker);
  }

  /** Like Lambda reclaiming unused environments; the last warm one stays (so a developer's next click is warm). */
  private reapIdle(): void {
    const now = Date.now();
    for (const worker of [...this.idle]) {
      if (this.idle.length <= 1) return;
      if (now - worker.idleSince > this.options.idleTimeoutMs) {
        this.idle.splice(this.idle.indexOf(worker), 1);
        this.discard(worker);
      }
    }
  }
}
