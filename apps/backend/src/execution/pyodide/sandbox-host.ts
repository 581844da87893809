/**
 * Entry point of the sandbox host process, which owns the Pyodide worker threads.
 *
 * The API process starts it under Node's permission model, which allows reading the
 * Pyodide runtime, these compiled files, runtime.py and the package cache, and nothing
 * else: no writes and no child processes. It also gets an empty environment and, where
 * possible, empty network and PID namespaces. It talks to the API process over the IPC
 * channel only: it never logs on its own and sends `sandbox:log` reports instead.
 */
import { readFileSync } from 'node:fs';
import type { HostCommand, HostReport, InterpreterStart } from './host-protocol.js';
import type { PackagePlanSettings } from './packages/planner.js';
import { WorkerPool } from './worker-pool.js';

/** Settings passed by the API process as the single command-line argument (JSON). */
export interface HostSettings {
  workerScriptPath: string;
  snapshotWorkerPath: string;
  interpreterStart: InterpreterStart;
  pyodideModuleUrl: string;
  pyodideIndexPath: string;
  packagePlan?: PackagePlanSettings;
  runtimePath: string;
  tablePath?: string;
  poolSize: number;
  maxQueuedRuns: number;
  maxRunningRuns: number;
  jsHeapMaxMb: number;
  wasmMemoryMaxBytes: number;
  runOutputMaxChars: number;
}

function send(report: HostReport): void {
  process.send?.(report);
}

function readSettings(): HostSettings {
  const argument = process.argv[2];
  if (argument === undefined) {
    throw new Error('sandbox host: missing settings argument (JSON)');
  }
  return JSON.parse(argument) as HostSettings;
}

function createPool(settings: HostSettings): WorkerPool {
  return new WorkerPool({
    workerScriptPath: settings.workerScriptPath,
    snapshotWorkerPath: settings.snapshotWorkerPath,
    interpreterStart: settings.interpreterStart,
    poolSize: settings.poolSize,
    maxQueuedRuns: settings.maxQueuedRuns,
    maxRunningRuns: settings.maxRunningRuns,
    jsHeapMaxMb: settings.jsHeapMaxMb,
    runOutputMaxChars: settings.runOutputMaxChars,
    setup: {
      pyodideModuleUrl: settings.pyodideModuleUrl,
      pyodideIndexPath: settings.pyodideIndexPath,
      packagePlan: settings.packagePlan,
      runtimeSource: readFileSync(settings.runtimePath, 'utf8'),
      tableSource: settings.tablePath === undefined ? undefined : readFileSync(settings.tablePath, 'utf8'),
      wasmMemoryMaxBytes: settings.wasmMemoryMaxBytes,
    },
    onEvent: (runId, eventJson) => send({ type: 'sandbox:event', runId, eventJson }),
    onRunEnded: (runId, outcome) => send({ type: 'sandbox:run-ended', runId, outcome }),
    onRunRejected: (runId, retryAfterSeconds, message) => send({ type: 'sandbox:run-rejected', runId, retryAfterSeconds, message }),
    onPoolChange: (pool) => send({ type: 'sandbox:pool', pool }),
    log: (level, message, runId) => send({ type: 'sandbox:log', level, message, runId }),
  });
}

function main(): void {
  const pool = createPool(readSettings());

  const handleCommand = (command: HostCommand): void => {
    switch (command.type) {
      case 'host:run':
        return pool.submit(command.request, command.timeoutMs);
      case 'host:cancel':
        return pool.cancel(command.runId);
      case 'host:shutdown':
        void pool.close().finally(() => process.exit(0));
        return;
      default:
        // Only types are imported from other packages: the permission model lets this process read nothing else.
        command satisfies never;
    }
  };

  process.on('message', handleCommand);
  // The API process went away: nothing is left to serve.
  process.on('disconnect', () => {
    void pool.close().finally(() => process.exit(0));
  });

  send({ type: 'sandbox:host-ready', pool: pool.status() });
  pool.start().catch((error: unknown) => {
    // Without the compiled module no worker can start; the runner restarts the host.
    send({ type: 'sandbox:log', level: 'error', message: `the sandbox host could not prepare Pyodide: ${(error as Error).message}` });
    process.exit(1);
  });
}

main();
