import type { MessagePort } from 'node:worker_threads';
import type { RunnerOutcome } from '../runner.js';
import type { PackagePlanSettings } from './packages/planner.js';
import type { SandboxRunRequest } from '@policy-logic-studio/shared';

/**
 * Messages of the Pyodide sandbox, in two hops:
 *
 *   API process  <-- IPC -->  sandbox host process  <-- MessagePort -->  worker thread
 *
 * The script's own events (`SandboxEvent` in the shared package) travel inside
 * `sandbox:event` as the JSON text runtime.py produced, so no hop parses them again.
 * Types only: both sides `import type` this file.
 */

/** API process to sandbox host. */
export type HostCommand =
  | { type: 'host:run'; request: SandboxRunRequest; timeoutMs: number }
  | { type: 'host:cancel'; runId: string }
  | { type: 'host:shutdown' };

export interface PoolStatus {
  readyWorkers: number;
  startingWorkers: number;
  busyWorkers: number;
  queuedRuns: number;
}

export type HostLogLevel = 'info' | 'warn' | 'error';

/** Sandbox host to API process. */
export type HostReport =
  | { type: 'sandbox:host-ready'; pool: PoolStatus }
  | { type: 'sandbox:pool'; pool: PoolStatus }
  | { type: 'sandbox:event'; runId: string; eventJson: string }
  | { type: 'sandbox:run-ended'; runId: string; outcome: RunnerOutcome }
  | { type: 'sandbox:log'; level: HostLogLevel; message: string; runId?: string };

/** Everything a worker thread needs, passed as `workerData`. */
export interface WorkerSetup {
  /** `file:` URL of pyodide.mjs. */
  pyodideModuleUrl: string;
  /** Folder holding pyodide.asm.wasm and python_stdlib.zip, with a trailing slash. */
  pyodideIndexPath: string;
  /** Packages a run may load and the folder of their cached files. Without it, runs get the standard library only. */
  packagePlan?: PackagePlanSettings;
  runtimeSource: string;
  /** Source of table.py, when that file exists. */
  tableSource?: string;
  /** Cap on the WebAssembly memory of the interpreter. */
  wasmMemoryMaxBytes: number;
  /** Receives every event of the run (`WorkerReport`). */
  eventPort: MessagePort;
}

/** Sandbox host to worker thread. */
export type WorkerCommand = { type: 'host:run'; request: SandboxRunRequest };

/** Worker thread to sandbox host, over `WorkerSetup.eventPort`. */
export type WorkerReport =
  | { type: 'sandbox:worker-ready' }
  | { type: 'sandbox:event'; eventJson: string }
  /** runtime.py returned: the last event was `sandbox:error` or `sandbox:complete`. */
  | { type: 'sandbox:finished' }
  /** The interpreter failed outside the script: start-up, a fatal Pyodide error. */
  | { type: 'sandbox:worker-failed'; message: string };
