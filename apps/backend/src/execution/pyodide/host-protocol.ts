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
  /** True while the host compiles pyodide.asm.wasm and prepares the start-up snapshot; no worker starts before. */
  preparing: boolean;
  /** Start-up path of new workers: the prepared memory snapshot, or a full `loadPyodide()`. */
  interpreterStart: InterpreterStart;
  /** Size of the memory snapshot each worker restores; absent without one. */
  snapshotBytes?: number;
  /** Moving average of the time from starting a worker to its `sandbox:worker-ready`, in milliseconds. */
  refillMs?: number;
}

/**
 * `snapshot`: each worker restores the memory of an interpreter prepared once by the host.
 * `full-load`: each worker runs Pyodide's whole start-up (about 1.6 s of CPU).
 */
export type InterpreterStart = 'snapshot' | 'full-load';

export type HostLogLevel = 'info' | 'warn' | 'error';

/** Sandbox host to API process. */
export type HostReport =
  | { type: 'sandbox:host-ready'; pool: PoolStatus }
  | { type: 'sandbox:pool'; pool: PoolStatus }
  | { type: 'sandbox:event'; runId: string; eventJson: string }
  | { type: 'sandbox:run-ended'; runId: string; outcome: RunnerOutcome }
  /** The run queue was full: the run never started. */
  | { type: 'sandbox:run-rejected'; runId: string; retryAfterSeconds: number; message: string }
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
  /** table.py compiled by the snapshot worker, so runs do not compile it again. */
  tableBytecode?: CompiledFile;
  /** Cap on the WebAssembly memory of the interpreter. */
  wasmMemoryMaxBytes: number;
  /** pyodide.asm.wasm, compiled once by the host; workers instantiate it instead of compiling their own copy. */
  wasmModule: WebAssembly.Module;
  /**
   * This worker's own copy of the prepared interpreter's memory (`makeMemorySnapshot()`),
   * transferred to it; absent when workers start with a full `loadPyodide()`.
   */
  snapshot?: Uint8Array;
  /** Receives every event of the run (`WorkerReport`). */
  eventPort: MessagePort;
}

/** A Python bytecode file (.pyc) and its path in the interpreter's virtual filesystem. */
export interface CompiledFile {
  path: string;
  bytes: Uint8Array;
}

/** Everything the snapshot worker needs, passed as `workerData`. */
export type SnapshotSetup = Omit<WorkerSetup, 'snapshot' | 'tableBytecode' | 'eventPort'>;

/** Snapshot worker to sandbox host, over `parentPort`. */
export type SnapshotReport =
  | { type: 'sandbox:snapshot-ready'; snapshot: Uint8Array; tableBytecode?: CompiledFile }
  | { type: 'sandbox:snapshot-failed'; message: string };

/** Sandbox host to worker thread. */
export type WorkerCommand = { type: 'host:run'; request: SandboxRunRequest };

/** Worker thread to sandbox host, over `WorkerSetup.eventPort`. */
export type WorkerReport =
  /**
   * The interpreter is ready and has run nothing yet. `snapshot` returns the worker's
   * restored copy, unchanged, so the host can hand it to the next worker.
   */
  | { type: 'sandbox:worker-ready'; snapshot?: Uint8Array }
  | { type: 'sandbox:event'; eventJson: string }
  /** runtime.py returned: the last event was `sandbox:error` or `sandbox:complete`. */
  | { type: 'sandbox:finished' }
  /** The interpreter failed outside the script: start-up, a fatal Pyodide error. */
  | { type: 'sandbox:worker-failed'; message: string };
