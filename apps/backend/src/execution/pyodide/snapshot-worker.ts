/**
 * The snapshot worker: a worker thread of the sandbox host that starts one interpreter,
 * loads runtime.py and the preloaded modules, and sends back a copy of its WebAssembly
 * memory (Pyodide 0.26's experimental `makeMemorySnapshot()`). The host then terminates
 * it. It never runs a script and never hardens the interpreter, so the snapshot contains no
 * state of any run: every run worker restores it into a fresh memory of its own.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SnapshotReport, SnapshotSetup } from './host-protocol.js';
import { baseLoadOptions, compileTableHelper, describeFailure, importLoadPyodide, importRuntime, prepareThread, warmTableHelper, writeSandboxFiles } from './interpreter-start.js';

const setup = workerData as SnapshotSetup;

function report(message: SnapshotReport, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

async function main(): Promise<void> {
  prepareThread(setup);
  const loadPyodide = await importLoadPyodide(setup.pyodideModuleUrl);
  const pyodide = await loadPyodide({ ...baseLoadOptions(setup), _makeSnapshot: true });
  writeSandboxFiles(pyodide, setup);
  importRuntime(pyodide);
  if (setup.tableSource !== undefined) {
    warmTableHelper(pyodide);
  }
  const tableBytecode = compileTableHelper(pyodide, setup);

  const snapshot = pyodide.makeMemorySnapshot();
  report({ type: 'sandbox:snapshot-ready', snapshot, tableBytecode }, [snapshot.buffer as ArrayBuffer]);
}

main().catch((error: unknown) => {
  report({ type: 'sandbox:snapshot-failed', message: describeFailure(error) });
});
