/**
 * Runs Python scripts in Pyodide, in worker threads of a separate sandbox host process.
 *
 * The API process never loads Pyodide itself. It starts the host (see host-launch.ts
 * for its permissions), sends each run over IPC and streams the events back. When the
 * host dies, every run in flight ends as `crashed` and a new host is started. When every
 * interpreter is busy and `maxQueuedRuns` runs already wait, `run` throws
 * `ServiceBusyError`, which the HTTP layer returns as 503 with `Retry-After`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { pino, type Logger } from 'pino';
import type { SandboxEvent, SandboxRunRequest } from '@policy-logic-studio/shared';
import { ServiceBusyError } from '../../errors.js';
import type { RunnerHealth, RunnerOutcome, RunOptions, ScriptRunner } from '../runner.js';
import type { HostCommand, HostReport, InterpreterStart, PoolStatus } from './host-protocol.js';
import type { PackagePlanSettings } from './packages/planner.js';
import { buildHostLaunch, canIsolateNetwork, canRaiseOomScore, DEFAULT_MEMORY_LIMIT_BYTES, splitMemoryLimit } from './host-launch.js';

export interface PyodideRunnerOptions {
  /** Warm interpreters kept ready; each serves one run. */
  poolSize?: number;
  /** Runs that may wait for an interpreter. One more makes `run` throw `ServiceBusyError`. */
  maxQueuedRuns?: number;
  /** Runs that may execute at once; later ones wait in the queue. */
  maxRunningRuns?: number;
  /** Start-up path of each worker's interpreter. Default `snapshot`; `full-load` serves comparisons. */
  interpreterStart?: InterpreterStart;
  /** Memory cap of one run: JavaScript heap plus WebAssembly memory. */
  memoryLimitBytes?: number;
  /**
   * Cap on the characters of events one run may send; the run crashes past it. Keep it
   * well above runtime.py's own caps, which a script can bypass from inside the interpreter.
   */
  runOutputMaxChars?: number;
  /** Packages a run may load from the package cache; without it, scripts get the standard library only. */
  packages?: PackagePlanSettings;
  logger?: Logger;
}

interface PendingRun {
  options: RunOptions;
  resolve: (outcome: RunnerOutcome) => void;
  reject: (error: Error) => void;
  removeAbortListener: () => void;
}

const DEFAULT_POOL_SIZE = 2;
const DEFAULT_MAX_QUEUED_RUNS = 32;
// Each running run may use `memoryLimitBytes`, so this bounds the sandbox host's memory to
// about 8 times that limit plus the ready interpreters, whatever the request rate.
// PYODIDE_MAX_RUNNING_RUNS sets it in the service.
const DEFAULT_MAX_RUNNING_RUNS = 8;
// Runs that arrive while the host starts or restarts wait for it, so Retry-After covers one start-up.
const HOST_START_RETRY_AFTER_SECONDS = 5;
const HOST_START_TIMEOUT_MS = 120_000;
const HOST_RESTART_DELAY_MS = 1_000;
const DEFAULT_RUN_OUTPUT_MAX_CHARS = 64 * 1024 * 1024;

export class PyodideRunner implements ScriptRunner {
  readonly mode = 'pyodide' as const;

  private readonly poolSize: number;
  private readonly maxQueuedRuns: number;
  private readonly maxRunningRuns: number;
  private readonly interpreterStart: InterpreterStart;
  private readonly memoryLimitBytes: number;
  private readonly packagePlan?: PackagePlanSettings;
  private readonly runOutputMaxChars: number;
  private readonly logger: Logger;
  private readonly runs = new Map<string, PendingRun>();
  private host?: ChildProcess;
  private starting?: Promise<void>;
  private networkIsolation = false;
  private pool: PoolStatus;
  private runsWaitingForHost = 0;
  private hostReady = false;
  private lastHostError?: string;
  private closed = false;

  constructor(options: PyodideRunnerOptions = {}) {
    this.poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    this.maxQueuedRuns = options.maxQueuedRuns ?? DEFAULT_MAX_QUEUED_RUNS;
    this.maxRunningRuns = options.maxRunningRuns ?? DEFAULT_MAX_RUNNING_RUNS;
    this.interpreterStart = options.interpreterStart ?? 'snapshot';
    this.pool = emptyPool(this.interpreterStart);
    this.memoryLimitBytes = options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES;
    this.packagePlan = options.packages;
    this.runOutputMaxChars = options.runOutputMaxChars ?? DEFAULT_RUN_OUTPUT_MAX_CHARS;
    this.logger = (options.logger ?? pino({ enabled: false })).child({ component: 'pyodide-runner' });
    if (!Number.isInteger(this.poolSize) || this.poolSize < 1) {
      throw new Error(`PyodideRunner: poolSize must be a positive integer, got ${this.poolSize}`);
    }
    if (!Number.isInteger(this.maxQueuedRuns) || this.maxQueuedRuns < 0) {
      throw new Error(`PyodideRunner: maxQueuedRuns must be a whole number, got ${this.maxQueuedRuns}`);
    }
    if (!Number.isInteger(this.maxRunningRuns) || this.maxRunningRuns < 1) {
      throw new Error(`PyodideRunner: maxRunningRuns must be a positive integer, got ${this.maxRunningRuns}`);
    }
  }

  /** Starts the sandbox host and resolves once one interpreter is ready. */
  start(): Promise<void> {
    this.starting ??= this.launchHost();
    return this.starting;
  }

  async run(request: SandboxRunRequest, options: RunOptions): Promise<RunnerOutcome> {
    if (options.signal.aborted) {
      return { kind: 'cancelled' };
    }
    await this.waitForHost();
    if (this.runs.has(request.runId)) {
      throw new Error(`PyodideRunner: run ${request.runId} is already running`);
    }

    return new Promise<RunnerOutcome>((resolve, reject) => {
      const onAbort = (): void => {
        this.sendCommand({ type: 'host:cancel', runId: request.runId });
      };
      options.signal.addEventListener('abort', onAbort, { once: true });
      this.runs.set(request.runId, {
        options,
        resolve,
        reject,
        removeAbortListener: () => options.signal.removeEventListener('abort', onAbort),
      });
      if (!this.sendCommand({ type: 'host:run', request, timeoutMs: options.timeoutMs })) {
        this.endRun(request.runId, hostUnavailable('the sandbox host process is not running'));
      }
    });
  }

  /** Waits for a started host; while one starts, at most `maxQueuedRuns` runs wait here. */
  private async waitForHost(): Promise<void> {
    if (this.hostReady) {
      return;
    }
    if (this.runsWaitingForHost >= this.maxQueuedRuns) {
      throw new ServiceBusyError(
        `The Python sandbox is starting and ${this.runsWaitingForHost} runs already wait for it (PYODIDE_MAX_QUEUED_RUNS). Retry shortly.`,
        HOST_START_RETRY_AFTER_SECONDS,
      );
    }
    this.runsWaitingForHost += 1;
    try {
      await this.start();
    } finally {
      this.runsWaitingForHost -= 1;
    }
  }

  health(): RunnerHealth {
    const ready = this.host !== undefined && this.pool.readyWorkers + this.pool.startingWorkers > 0;
    const health: RunnerHealth = {
      ready,
      networkIsolation: this.networkIsolation,
      permissionModel: true,
      memoryLimitBytes: this.memoryLimitBytes,
      poolSize: this.poolSize,
      maxQueuedRuns: this.maxQueuedRuns,
      maxRunningRuns: this.maxRunningRuns,
      ...this.pool,
    };
    if (!ready) {
      health.detail = this.lastHostError ?? 'the Pyodide sandbox is starting';
    } else if (!this.networkIsolation) {
      health.detail = 'no network namespace: scripts that escape to JavaScript could reach the network';
    }
    return health;
  }

  async close(): Promise<void> {
    this.closed = true;
    const host = this.host;
    if (host === undefined) {
      return;
    }
    const exited = new Promise<void>((resolve) => host.once('exit', () => resolve()));
    this.sendCommand({ type: 'host:shutdown' });
    const forceKill = setTimeout(() => host.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(forceKill);
  }

  private async launchHost(): Promise<void> {
    this.networkIsolation = canIsolateNetwork();
    if (!this.networkIsolation) {
      this.logger.warn('unshare --net is not available: the Pyodide sandbox host shares the network of the API process');
    }
    const launch = buildHostLaunch({
      poolSize: this.poolSize,
      maxQueuedRuns: this.maxQueuedRuns,
      maxRunningRuns: this.maxRunningRuns,
      interpreterStart: this.interpreterStart,
      memoryLimitBytes: this.memoryLimitBytes,
      packagePlan: this.packagePlan,
      isolateNetwork: this.networkIsolation,
      raiseOomScore: canRaiseOomScore(),
      runOutputMaxChars: this.runOutputMaxChars,
    });
    const host = spawn(launch.command, launch.args, {
      env: launch.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.host = host;
    this.logger.info({ pid: host.pid, ...splitMemoryLimit(this.memoryLimitBytes), networkIsolation: this.networkIsolation }, 'sandbox host started');

    host.stdout?.setEncoding('utf8').on('data', (text: string) => this.logHostOutput(text));
    host.stderr?.setEncoding('utf8').on('data', (text: string) => this.logHostOutput(text));
    host.on('message', (report: HostReport) => this.handleReport(report));
    host.on('exit', (code, signal) => this.handleHostExit(host, code, signal));
    host.on('error', (error) => {
      this.lastHostError = `the sandbox host could not start: ${error.message}`;
      this.logger.error({ err: error }, 'sandbox host failed to start');
    });

    await this.waitForReadyWorker(host);
    this.hostReady = this.host === host;
  }

  private waitForReadyWorker(host: ChildProcess): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanUp();
        reject(new Error(`the Pyodide sandbox did not start within ${HOST_START_TIMEOUT_MS} ms: ${this.lastHostError ?? 'no interpreter became ready'}`));
      }, HOST_START_TIMEOUT_MS);
      const onReport = (report: HostReport): void => {
        if (report.type !== 'sandbox:pool') {
          return;
        }
        const pool = report.pool;
        if (pool.readyWorkers > 0) {
          cleanUp();
          resolve();
        } else if (!pool.preparing && pool.startingWorkers + pool.busyWorkers === 0) {
          // The pool gave up after repeated start failures.
          cleanUp();
          reject(new Error(`the Pyodide sandbox could not start an interpreter: ${this.lastHostError ?? 'see the log'}`));
        }
      };
      const onExit = (): void => {
        cleanUp();
        reject(new Error(`the Pyodide sandbox host exited during start-up: ${this.lastHostError ?? 'see the log'}`));
      };
      const cleanUp = (): void => {
        clearTimeout(timer);
        host.off('message', onReport);
        host.off('exit', onExit);
      };
      host.on('message', onReport);
      host.once('exit', onExit);
    });
  }

  private handleReport(report: HostReport): void {
    switch (report.type) {
      case 'sandbox:host-ready':
      case 'sandbox:pool':
        this.pool = report.pool;
        return;
      case 'sandbox:event':
        return this.handleEvent(report.runId, report.eventJson);
      case 'sandbox:run-ended':
        return this.endRun(report.runId, report.outcome);
      case 'sandbox:run-rejected':
        return this.rejectRun(report.runId, new ServiceBusyError(`The Python sandbox is busy: ${report.message}. Retry later.`, report.retryAfterSeconds));
      case 'sandbox:log':
        return this.handleLog(report);
      default:
        report satisfies never;
    }
  }

  private handleEvent(runId: string, eventJson: string): void {
    const run = this.runs.get(runId);
    if (run === undefined) {
      return;
    }
    let event: SandboxEvent;
    try {
      event = JSON.parse(eventJson) as SandboxEvent;
    } catch (error) {
      this.logger.warn({ runId, err: error }, 'ignored a sandbox event that is not valid JSON');
      return;
    }
    try {
      run.options.onEvent(event);
    } catch (error) {
      this.logger.error({ runId, err: error }, 'the onEvent callback of a run threw');
    }
  }

  private handleLog(report: Extract<HostReport, { type: 'sandbox:log' }>): void {
    if (report.level === 'error') {
      this.lastHostError = report.message;
    }
    this.logger[report.level]({ runId: report.runId }, report.message);
  }

  private endRun(runId: string, outcome: RunnerOutcome): void {
    const run = this.runs.get(runId);
    if (run === undefined) {
      return;
    }
    this.runs.delete(runId);
    run.removeAbortListener();
    run.resolve(outcome);
  }

  private rejectRun(runId: string, error: ServiceBusyError): void {
    const run = this.runs.get(runId);
    if (run === undefined) {
      return;
    }
    this.runs.delete(runId);
    run.removeAbortListener();
    run.reject(error);
  }

  private handleHostExit(host: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.host !== host) {
      return;
    }
    this.host = undefined;
    this.hostReady = false;
    this.starting = undefined;
    this.pool = emptyPool(this.interpreterStart);
    for (const runId of [...this.runs.keys()]) {
      this.endRun(runId, hostUnavailable(`the sandbox host process exited (code ${code}, signal ${signal})`));
    }
    if (this.closed) {
      return;
    }

    this.lastHostError = `the sandbox host process exited (code ${code}, signal ${signal})`;
    this.logger.error({ code, signal }, 'sandbox host exited; restarting it');
    setTimeout(() => {
      if (!this.closed) {
        this.start().catch((error: unknown) => this.logger.error({ err: error }, 'sandbox host restart failed'));
      }
    }, HOST_RESTART_DELAY_MS).unref();
  }

  private sendCommand(command: HostCommand): boolean {
    const host = this.host;
    if (host === undefined || !host.connected) {
      return false;
    }
    host.send(command);
    return true;
  }

  private logHostOutput(text: string): void {
    for (const line of text.split('\n')) {
      if (line.trim() !== '') {
        this.logger.warn({ output: line }, 'sandbox host wrote to its console');
      }
    }
  }
}

function emptyPool(interpreterStart: InterpreterStart): PoolStatus {
  return { readyWorkers: 0, startingWorkers: 0, busyWorkers: 0, queuedRuns: 0, preparing: true, interpreterStart };
}

function hostUnavailable(message: string): RunnerOutcome {
  return {
    kind: 'crashed',
    error: {
      type: 'SandboxUnavailable',
      message,
      hint: 'Run the script again; the sandbox restarts by itself. If this repeats, check the service log.',
    },
  };
}
