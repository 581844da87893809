/**
 * A pool of warm, single-use Pyodide workers inside the sandbox host process.
 *
 * Each run takes one ready worker; the worker is terminated when the run ends and a
 * new one starts in its place. At most `maxRunningRuns` runs execute at once. Runs that
 * find no ready worker, or the running limit reached, wait in a queue of at most
 * `maxQueuedRuns`. A run beyond that is rejected at once with a retry estimate.
 *
 * Before the first worker starts, the pool compiles pyodide.asm.wasm once and prepares a
 * memory snapshot (interpreter-template.ts), so a new worker instantiates the shared
 * module and restores its own copy of the snapshot instead of running Pyodide's start-up.
 *
 * A run's status:
 *
 *   queued -> running -> exited | timed_out | cancelled | crashed
 *      \-> cancelled
 *
 * `finishRun` is the only place a run leaves `running`.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { SandboxRunRequest, ScriptError } from '@policy-logic-studio/shared';
import type { RunnerOutcome } from '../runner.js';
import type { InterpreterStart, PoolStatus, WorkerReport, WorkerSetup } from './host-protocol.js';
import { prepareTemplate, recycleSnapshot, snapshotCopy, type InterpreterTemplate } from './interpreter-template.js';

export interface WorkerPoolOptions {
  workerScriptPath: string;
  snapshotWorkerPath: string;
  interpreterStart: InterpreterStart;
  poolSize: number;
  /** Runs that may wait for a worker. One more is rejected through `onRunRejected`. */
  maxQueuedRuns: number;
  /** Runs that may execute at once, each in its own worker, on top of the `poolSize` ready ones. */
  maxRunningRuns: number;
  /** Old-generation heap cap of each worker's JavaScript engine. */
  jsHeapMaxMb: number;
  /** Cap on events plus printed text, in characters, that one run may send through the host. */
  runOutputMaxChars: number;
  setup: Omit<WorkerSetup, 'eventPort' | 'wasmModule' | 'snapshot' | 'tableBytecode'>;
  onEvent: (runId: string, eventJson: string) => void;
  onRunEnded: (runId: string, outcome: RunnerOutcome) => void;
  onRunRejected: (runId: string, retryAfterSeconds: number, message: string) => void;
  onPoolChange: (pool: PoolStatus) => void;
  log: (level: 'info' | 'warn' | 'error', message: string, runId?: string) => void;
}

type WorkerState = 'starting' | 'ready' | 'busy' | 'stopped';

interface PooledWorker {
  id: number;
  thread: Worker;
  port: MessagePort;
  state: WorkerState;
  startedAt: number;
  run?: ActiveRun;
}

interface ActiveRun {
  request: SandboxRunRequest;
  timeoutMs: number;
  status: 'queued' | 'running';
  worker?: PooledWorker;
  timer?: NodeJS.Timeout;
  /** Timer that starts the replacement of this run's interpreter once the run lasts REFILL_DELAY_MS. */
  refillTimer?: NodeJS.Timeout;
  outputChars: number;
}

// Keeps the worker's Python frames well inside the thread stack; measured deep
// recursion ends as RecursionError with this size.
const WORKER_STACK_SIZE_MB = 4;

// A worker that cannot start this many times in a row stops the refill loop.
const MAX_CONSECUTIVE_START_FAILURES = 5;

// A replacement interpreter starts when its run ends, or this long after the run started,
// so that a short run does not share the two cores with a worker's start-up. With no
// interpreter left ready, the replacement starts at once.
const REFILL_DELAY_MS = 100;

// Weight of the newest sample in the moving average of refill times.
const REFILL_AVERAGE_WEIGHT = 0.2;

export class WorkerPool {
  private readonly workers = new Set<PooledWorker>();
  private readonly queue: ActiveRun[] = [];
  private readonly runs = new Map<string, ActiveRun>();
  private nextWorkerId = 1;
  private consecutiveStartFailures = 0;
  private closed = false;
  private template?: InterpreterTemplate;
  private refillMs?: number;

  constructor(private readonly options: WorkerPoolOptions) {}

  /** Prepares the shared module and snapshot, then starts the workers. Runs submitted meanwhile wait in the queue. */
  async start(): Promise<void> {
    const preparedAt = performance.now();
    const template = await prepareTemplate({
      interpreterStart: this.options.interpreterStart,
      snapshotWorkerPath: this.options.snapshotWorkerPath,
      jsHeapMaxMb: this.options.jsHeapMaxMb,
      workerStackSizeMb: WORKER_STACK_SIZE_MB,
      setup: this.options.setup,
    });
    if (template.snapshotError !== undefined) {
      this.options.log('error', `Pyodide workers start without a memory snapshot, each with a full start-up: ${template.snapshotError}`);
    } else {
      const snapshotBytes = template.snapshot?.byteLength ?? 0;
      this.options.log('info', `prepared the Pyodide template in ${Math.round(performance.now() - preparedAt)} ms (snapshot: ${snapshotBytes} bytes)`);
    }
    this.template = template;
    this.refill();
  }

  status(): PoolStatus {
    const status: PoolStatus = {
      readyWorkers: this.countWorkers('ready'),
      startingWorkers: this.countWorkers('starting'),
      busyWorkers: this.countWorkers('busy'),
      queuedRuns: this.queue.length,
      preparing: this.template === undefined,
      interpreterStart: this.template !== undefined && this.template.snapshot === undefined ? 'full-load' : this.options.interpreterStart,
    };
    if (this.template?.snapshot !== undefined) {
      status.snapshotBytes = this.template.snapshot.byteLength;
    }
    if (this.refillMs !== undefined) {
      status.refillMs = Math.round(this.refillMs);
    }
    return status;
  }

  private countWorkers(state: WorkerState): number {
    let count = 0;
    for (const worker of this.workers) {
      if (worker.state === state) {
        count += 1;
      }
    }
    return count;
  }

  submit(request: SandboxRunRequest, timeoutMs: number): void {
    if (this.runs.has(request.runId)) {
      this.options.log('warn', 'ignored a second run with the same id', request.runId);
      return;
    }
    const run: ActiveRun = { request, timeoutMs, status: 'queued', outputChars: 0 };
    this.runs.set(request.runId, run);
    this.queue.push(run);
    this.dispatch();
    if (run.status === 'queued' && this.queue.length > this.options.maxQueuedRuns) {
      this.rejectQueuedRun(run);
    }
    this.announcePool();
  }

  private rejectQueuedRun(run: ActiveRun): void {
    this.queue.splice(this.queue.indexOf(run), 1);
    this.runs.delete(run.request.runId);
    const message = `all Pyodide interpreters are busy and ${this.options.maxQueuedRuns} runs are already waiting (PYODIDE_MAX_QUEUED_RUNS)`;
    this.options.onRunRejected(run.request.runId, this.estimateRetryAfterSeconds(), message);
  }

  /**
   * Estimates when the queue will have room again: the waiting runs need this many new
   * workers, started `poolSize` at a time. An estimate, because the machine's load changes it.
   */
  private estimateRetryAfterSeconds(): number {
    const refillMs = this.refillMs ?? 2_000;
    const rounds = Math.ceil(this.queue.length / this.options.poolSize);
    return Math.max(1, Math.ceil((rounds * refillMs) / 1000));
  }

  cancel(runId: string): void {
    const run = this.runs.get(runId);
    if (run === undefined) {
      return;
    }
    if (run.status === 'queued') {
      this.queue.splice(this.queue.indexOf(run), 1);
      this.runs.delete(runId);
      this.options.onRunEnded(runId, { kind: 'cancelled' });
      this.announcePool();
      return;
    }
    this.finishRun(run, { kind: 'cancelled' });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const run of [...this.runs.values()]) {
      this.cancel(run.request.runId);
    }
    await Promise.all([...this.workers].map((worker) => this.stopWorker(worker)));
  }

  private refill(): void {
    if (this.closed || this.template === undefined || this.consecutiveStartFailures >= MAX_CONSECUTIVE_START_FAILURES) {
      return;
    }
    const live = [...this.workers].filter((worker) => worker.state === 'starting' || worker.state === 'ready');
    for (let missing = this.options.poolSize - live.length; missing > 0; missing -= 1) {
      this.startWorker(this.template);
    }
    this.announcePool();
  }

  private startWorker(template: InterpreterTemplate): void {
    const channel = new MessageChannel();
    const snapshot = snapshotCopy(template);
    const setup: WorkerSetup = {
      ...this.options.setup,
      wasmModule: template.wasmModule,
      snapshot,
      tableBytecode: template.tableBytecode,
      eventPort: channel.port2,
    };
    const transferList: Array<MessagePort | ArrayBuffer> = [channel.port2];
    if (snapshot !== undefined) {
      transferList.push(snapshot.buffer as ArrayBuffer);
    }
    const thread = new Worker(this.options.workerScriptPath, {
      workerData: setup,
      transferList,
      resourceLimits: {
        maxOldGenerationSizeMb: this.options.jsHeapMaxMb,
        stackSizeMb: WORKER_STACK_SIZE_MB,
      },
      // The worker inherits no environment variables from the host.
      env: {},
      stdout: true,
      stderr: true,
    });
    const worker: PooledWorker = { id: this.nextWorkerId++, thread, port: channel.port1, state: 'starting', startedAt: performance.now() };
    this.workers.add(worker);

    // Native writes of the worker are discarded; runtime.py captures the script's output.
    thread.stdout.resume();
    thread.stderr.resume();
    channel.port1.on('message', (message: WorkerReport) => this.handleReport(worker, message));
    thread.on('error', (error) => this.handleWorkerError(worker, error));
    thread.on('exit', (code) => this.handleWorkerExit(worker, code));
  }

  private handleReport(worker: PooledWorker, message: WorkerReport): void {
    switch (message.type) {
      case 'sandbox:worker-ready':
        return this.handleWorkerReady(worker, message.snapshot);
      case 'sandbox:event':
        return this.handleEvent(worker, message.eventJson);
      case 'sandbox:finished':
        return this.handleFinished(worker);
      case 'sandbox:worker-failed':
        return this.handleWorkerFailed(worker, message.message);
    }
  }

  private handleWorkerReady(worker: PooledWorker, snapshot: Uint8Array | undefined): void {
    // Only a starting worker has run no script, so only its report and copy are trusted.
    if (worker.state !== 'starting') {
      return;
    }
    if (snapshot !== undefined && this.template !== undefined) {
      recycleSnapshot(this.template, snapshot);
    }
    worker.state = 'ready';
    this.consecutiveStartFailures = 0;
    this.recordRefill(performance.now() - worker.startedAt);
    this.dispatch();
    this.announcePool();
  }

  private handleEvent(worker: PooledWorker, eventJson: string): void {
    const run = worker.run;
    if (run === undefined || run.status !== 'running') {
      return;
    }
    run.outputChars += eventJson.length;
    if (run.outputChars > this.options.runOutputMaxChars) {
      this.finishRun(run, crashed('OutputLimitExceeded', `the run sent more than ${this.options.runOutputMaxChars} characters of events`));
      return;
    }
    this.options.onEvent(run.request.runId, eventJson);
  }

  private handleFinished(worker: PooledWorker): void {
    if (worker.run !== undefined) {
      this.finishRun(worker.run, { kind: 'exited' });
    }
  }

  private handleWorkerFailed(worker: PooledWorker, message: string): void {
    if (worker.run !== undefined) {
      this.finishRun(worker.run, crashed('SandboxCrashed', describeCrash(message)));
      return;
    }
    this.options.log('error', `Pyodide worker ${worker.id} failed before a run: ${message}`);
    this.consecutiveStartFailures += 1;
    void this.replaceWorker(worker);
  }

  private handleWorkerError(worker: PooledWorker, error: Error): void {
    const message = isOutOfMemory(error) ? 'memory limit exceeded (JavaScript heap)' : error.message;
    if (worker.run !== undefined) {
      this.finishRun(worker.run, crashed('SandboxCrashed', describeCrash(message)));
      return;
    }
    this.options.log('error', `Pyodide worker ${worker.id} failed: ${message}`);
    this.consecutiveStartFailures += 1;
  }

  private handleWorkerExit(worker: PooledWorker, code: number): void {
    // The exit can overtake the worker's last reports, which travel on another channel.
    this.drainReports(worker);
    const run = worker.run;
    if (run !== undefined) {
      this.finishRun(run, crashed('SandboxCrashed', `the Python worker exited unexpectedly (code ${code})`));
    }
    if (worker.state !== 'stopped') {
      worker.state = 'stopped';
      this.workers.delete(worker);
      this.refill();
    }
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.countWorkers('busy') < this.options.maxRunningRuns) {
      const worker = [...this.workers].find((candidate) => candidate.state === 'ready');
      if (worker === undefined) {
        return;
      }
      const run = this.queue.shift()!;
      this.startRun(run, worker);
    }
  }

  private startRun(run: ActiveRun, worker: PooledWorker): void {
    run.status = 'running';
    run.worker = worker;
    worker.state = 'busy';
    worker.run = run;
    run.timer = setTimeout(() => this.finishRun(run, { kind: 'timed_out', timeoutMs: run.timeoutMs }), run.timeoutMs);
    worker.thread.postMessage({ type: 'host:run', request: run.request });
    if (this.countWorkers('ready') === 0) {
      this.refill();
    } else {
      run.refillTimer = setTimeout(() => this.refill(), REFILL_DELAY_MS);
    }
  }

  /** Ends a running run: stops its worker, forwards what it already sent, and reports the outcome. */
  private finishRun(run: ActiveRun, outcome: RunnerOutcome): void {
    if (run.status !== 'running' || !this.runs.has(run.request.runId)) {
      return;
    }
    this.runs.delete(run.request.runId);
    clearTimeout(run.timer);
    clearTimeout(run.refillTimer);
    const worker = run.worker!;

    // Events the worker posted before it was stopped are still in the port: keep them.
    this.drainReports(worker);
    worker.run = undefined;
    void this.replaceWorker(worker);

    this.options.onRunEnded(run.request.runId, outcome);
    // The run's end frees a place under `maxRunningRuns` for a queued run.
    this.dispatch();
  }

  private drainReports(worker: PooledWorker): void {
    for (let entry = receiveMessageOnPort(worker.port); entry !== undefined; entry = receiveMessageOnPort(worker.port)) {
      this.handleReport(worker, entry.message as WorkerReport);
    }
  }

  private async replaceWorker(worker: PooledWorker): Promise<void> {
    await this.stopWorker(worker);
    this.refill();
  }

  private async stopWorker(worker: PooledWorker): Promise<void> {
    if (worker.state === 'stopped') {
      return;
    }
    worker.state = 'stopped';
    this.workers.delete(worker);
    worker.port.close();
    await worker.thread.terminate();
  }

  private recordRefill(durationMs: number): void {
    this.refillMs = this.refillMs === undefined ? durationMs : this.refillMs + REFILL_AVERAGE_WEIGHT * (durationMs - this.refillMs);
  }

  private announcePool(): void {
    this.options.onPoolChange(this.status());
  }
}

function crashed(type: string, message: string): RunnerOutcome {
  const error: ScriptError = { type, message };
  if (/memory limit exceeded/i.test(message)) {
    error.type = 'MemoryError';
    error.hint = 'The script used more memory than the sandbox allows; process the data in smaller pieces.';
  }
  return { kind: 'crashed', error };
}

function isOutOfMemory(error: Error): boolean {
  return (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
}

function describeCrash(message: string): string {
  if (/out of memory|memory access out of bounds|Cannot enlarge memory|memory limit exceeded/i.test(message)) {
    return `memory limit exceeded: ${message}`;
  }
  return `the Python interpreter failed: ${message}`;
}
