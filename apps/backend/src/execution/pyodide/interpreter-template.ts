/**
 * The interpreter template that the sandbox host prepares once for every run worker:
 * pyodide.asm.wasm compiled to a `WebAssembly.Module`, and a memory snapshot of an
 * interpreter that has loaded runtime.py but never run a script.
 *
 * The module is immutable code, so workers share it. The snapshot is never shared: each
 * worker gets its own copy (`snapshotCopy`), because a SharedArrayBuffer would let an
 * escaped script change what later interpreters start from.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CompiledFile, InterpreterStart, SnapshotReport, SnapshotSetup } from './host-protocol.js';

// Spare copies serve refills that start while others finish. Each one costs a snapshot's
// size (about 20 MB) of host memory, so an idle pool keeps no more than this.
const MAX_SPARE_COPIES = 2;

// A snapshot worker runs one full Pyodide start-up: about 2 s on an idle core, far more on a loaded machine.
const SNAPSHOT_TIMEOUT_MS = 120_000;

export interface TemplateOptions {
  interpreterStart: InterpreterStart;
  snapshotWorkerPath: string;
  jsHeapMaxMb: number;
  workerStackSizeMb: number;
  setup: Omit<SnapshotSetup, 'wasmModule'>;
}

export interface InterpreterTemplate {
  wasmModule: WebAssembly.Module;
  /** Memory of the prepared interpreter; undefined in `full-load` mode or when preparing it failed. */
  snapshot?: Uint8Array;
  /** table.py compiled together with the snapshot. */
  tableBytecode?: CompiledFile;
  /** Reason for a missing snapshot in `snapshot` mode. */
  snapshotError?: string;
  /** Copies that workers returned unchanged after their restore, for the next workers. */
  spareCopies: Uint8Array[];
}

/** Compiles pyodide.asm.wasm and, in `snapshot` mode, prepares the memory snapshot in a worker of its own. */
export async function prepareTemplate(options: TemplateOptions): Promise<InterpreterTemplate> {
  const wasmPath = path.join(fileURLToPath(new URL('.', options.setup.pyodideModuleUrl)), 'pyodide.asm.wasm');
  const wasmBytes = await readFile(wasmPath);
  const wasmModule = await WebAssembly.compile(wasmBytes);
  const template: InterpreterTemplate = { wasmModule, spareCopies: [] };
  if (options.interpreterStart === 'full-load') {
    return template;
  }

  try {
    const prepared = await makeSnapshot(options, { ...options.setup, wasmModule });
    template.snapshot = prepared.snapshot;
    template.tableBytecode = prepared.tableBytecode;
  } catch (error) {
    template.snapshotError = (error as Error).message;
  }
  if (template.snapshot !== undefined && template.snapshot.byteLength >= options.setup.wasmMemoryMaxBytes) {
    template.snapshotError = `the snapshot (${template.snapshot.byteLength} bytes) does not fit the WebAssembly memory cap of ${options.setup.wasmMemoryMaxBytes} bytes`;
    template.snapshot = undefined;
  }
  return template;
}

/** Returns a copy of the snapshot for one worker, whose buffer can be transferred to it. */
export function snapshotCopy(template: InterpreterTemplate): Uint8Array | undefined {
  if (template.snapshot === undefined) {
    return undefined;
  }
  return template.spareCopies.pop() ?? template.snapshot.slice();
}

/**
 * Keeps a copy that a worker returned before running anything, so the next worker needs
 * no fresh 20 MB allocation and copy. Pyodide's restore only reads the copy.
 */
export function recycleSnapshot(template: InterpreterTemplate, copy: Uint8Array): void {
  const fits = template.snapshot !== undefined && copy.byteLength === template.snapshot.byteLength;
  if (fits && template.spareCopies.length < MAX_SPARE_COPIES) {
    template.spareCopies.push(copy);
  }
}

function makeSnapshot(options: TemplateOptions, setup: SnapshotSetup): Promise<{ snapshot: Uint8Array; tableBytecode?: CompiledFile }> {
  const thread = new Worker(options.snapshotWorkerPath, {
    workerData: setup,
    resourceLimits: { maxOldGenerationSizeMb: options.jsHeapMaxMb, stackSizeMb: options.workerStackSizeMb },
    env: {},
    stdout: true,
    stderr: true,
  });
  thread.stdout.resume();
  thread.stderr.resume();

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`no snapshot within ${SNAPSHOT_TIMEOUT_MS} ms`), SNAPSHOT_TIMEOUT_MS);
    const finish = (): void => {
      clearTimeout(timer);
      thread.removeAllListeners();
      void thread.terminate();
    };
    const fail = (message: string): void => {
      finish();
      reject(new Error(`preparing the Pyodide memory snapshot failed: ${message}`));
    };

    thread.on('message', (message: SnapshotReport) => {
      if (message.type === 'sandbox:snapshot-ready') {
        finish();
        resolve({ snapshot: message.snapshot, tableBytecode: message.tableBytecode });
        return;
      }
      fail(message.message);
    });
    thread.on('error', (error) => fail(error.message));
    thread.on('exit', (code) => fail(`the snapshot worker exited (code ${code})`));
  });
}
