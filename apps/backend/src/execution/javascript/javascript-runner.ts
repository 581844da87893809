import type { SandboxRunRequest } from '@policy-logic-studio/shared';
import type { Logger } from 'pino';
import type { RunOptions, RunnerHealth, RunnerOutcome, ScriptRunner } from '../runner.js';
import { IsolatePool } from './isolate-pool.js';
import { IsolateRun, type IsolateRunLimits } from './isolate-run.js';
import { referencedLibraries } from './libraries.js';

export interface JavaScriptRunnerOptions {
  /** V8 heap limit of each isolate, in MB (default 128, minimum 8 as in isolated-vm 5). */
  memoryLimitMb?: number;
  /** Whether to prepare isolates ahead of runs (default true). When false, every run builds its own. */
  keepSpareIsolates?: boolean;
  /** Total JSON bytes of all `done()` and `debug()` values of one run (default 64 MiB). */
  maxRunValueBytes?: number;
  /** Receives failures the runner handles itself, such as a spare isolate that could not be prepared. */
  logger?: Logger;
}

const DEFAULT_MEMORY_LIMIT_MB = 128;
const MIN_MEMORY_LIMIT_MB = 8;
const DEFAULT_MAX_RUN_VALUE_BYTES = 64 * 1024 * 1024;

/** isolated-vm 5 documents that Node 20 and later can crash unless Node's startup snapshot is off. */
function nodeSnapshotDisabled(): boolean {
  return process.execArgv.includes('--no-node-snapshot') || (process.env.NODE_OPTIONS ?? '').includes('--no-node-snapshot');
}

/**
 * Runs Custom Logic scripts written in JavaScript, each in a fresh V8 isolate
 * (isolated-vm). Scripts run through isolated-vm's asynchronous calls, on its own
 * threads, so a busy script does not block Node's event loop. The isolate is
 * disposed after every run.
 */
export class JavaScriptRunner implements ScriptRunner {
  readonly mode = 'isolated-vm' as const;
  private readonly runLimits: IsolateRunLimits;
  private readonly pool: IsolatePool;
  private readonly activeRuns = new Set<IsolateRun>();
  private readonly logger: Logger | undefined;
  private closed = false;

  constructor(options: JavaScriptRunnerOptions = {}) {
    const memoryLimitMb = options.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB;
    if (!Number.isInteger(memoryLimitMb) || memoryLimitMb < MIN_MEMORY_LIMIT_MB) {
      throw new RangeError(
        `Invalid JavaScript memory limit ${memoryLimitMb} MB: expected a whole number of at least ${MIN_MEMORY_LIMIT_MB}.`,
      );
    }
    const maxRunValueBytes = options.maxRunValueBytes ?? DEFAULT_MAX_RUN_VALUE_BYTES;
    if (!Number.isInteger(maxRunValueBytes) || maxRunValueBytes < 1) {
      throw new RangeError(`Invalid total value limit ${maxRunValueBytes} bytes: expected a positive whole number.`);
    }
    this.runLimits = { memoryLimitMb, maxRunValueBytes };
    this.logger = options.logger;
    this.pool = new IsolatePool(memoryLimitMb, options.keepSpareIsolates ?? true, options.logger);
    this.pool.prepareSpare();
  }

  async run(request: SandboxRunRequest, options: RunOptions): Promise<RunnerOutcome> {
    if (this.closed) {
      return crashed('The JavaScript runner is closed and accepts no more runs.', 'Restart the service.');
    }

    const libraries = referencedLibraries(`${request.prelude}\n${request.script}`);
    let prepared;
    try {
      prepared = await this.pool.take(libraries);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger?.error({ err: error, runId: request.runId, libraries }, 'JavaScript isolate preparation failed');
      return crashed(`Could not prepare a JavaScript isolate: ${message}`, 'Check the service log, because the backend may be out of memory.');
    }

    if (this.closed) {
      this.pool.release(prepared);
      return { kind: 'cancelled' };
    }

    const run = new IsolateRun(prepared, request, options, this.runLimits);
    this.activeRuns.add(run);
    try {
      const outcome = await run.execute();
      if (outcome.kind === 'crashed') {
        this.logger?.warn({ runId: request.runId, error: outcome.error }, 'JavaScript isolate stopped abnormally');
      }
      return outcome;
    } finally {
      this.activeRuns.delete(run);
      this.pool.release(prepared);
    }
  }

  health(): RunnerHealth {
    if (this.closed) {
      return { ready: false, detail: 'The JavaScript runner is closed.' };
    }
    if (!nodeSnapshotDisabled()) {
      return {
        ready: true,
        memoryLimitMb: this.runLimits.memoryLimitMb,
        detail: 'Node was started without --no-node-snapshot, which isolated-vm requires on Node 20 and later; the process may crash.',
      };
    }
    return { ready: true, memoryLimitMb: this.runLimits.memoryLimitMb };
  }

  /** Cancels runs in progress and disposes the spare isolates. */
  async close(): Promise<void> {
    this.closed = true;
    for (const run of this.activeRuns) {
      run.cancel();
    }
    await this.pool.close();
  }
}

function crashed(message: string, hint: string): RunnerOutcome {
  return { kind: 'crashed', error: { type: 'SandboxError', message, hint } };
}
