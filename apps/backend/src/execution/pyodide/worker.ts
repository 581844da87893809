/**
 * One single-use Pyodide interpreter in a worker thread of the sandbox host.
 *
 * The worker starts its interpreter (restoring the host's memory snapshot into a fresh
 * WebAssembly memory, or with a full start-up), reports `sandbox:worker-ready`, runs
 * exactly one script, reports `sandbox:finished` and waits to be terminated. The host
 * never sends it a second run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PyodideInterface } from 'pyodide';
import type { SandboxRunRequest } from '@policy-logic-studio/shared';
import type { WorkerCommand, WorkerReport, WorkerSetup } from './host-protocol.js';
import { baseLoadOptions, describeFailure, importLoadPyodide, importRuntime, prepareThread, writeSandboxFiles } from './interpreter-start.js';
import { preparePackages } from './packages/prepare-packages.js';

type Pyodide = PyodideInterface;

const setup = workerData as WorkerSetup;

function report(message: WorkerReport): void {
  setup.eventPort.postMessage(message);
}

/** Removes network and storage APIs from the worker's global scope once Pyodide no longer needs them. */
function removeNetworkGlobals(): void {
  const names = ['fetch', 'Request', 'Response', 'Headers', 'WebSocket', 'EventSource', 'XMLHttpRequest'];
  for (const name of names) {
    Reflect.deleteProperty(globalThis, name);
  }
}

// Every restored interpreter starts with the snapshot's random state; without a reseed
// from os.urandom, `random` would return the same numbers in every run.
const RESEED_AFTER_RESTORE = [
  'import sys',
  "if 'random' in sys.modules:",
  "    sys.modules['random'].seed()",
].join('\n');

async function loadInterpreter(): Promise<Pyodide> {
  const loadPyodide = await importLoadPyodide(setup.pyodideModuleUrl);
  if (setup.snapshot !== undefined) {
    const pyodide = await loadPyodide({ ...baseLoadOptions(setup), _loadSnapshot: setup.snapshot });
    // The restored memory already contains runtime.py and the preloaded modules.
    writeSandboxFiles(pyodide, setup, setup.tableBytecode);
    pyodide.runPython(RESEED_AFTER_RESTORE);
    return pyodide;
  }

  const pyodide = await loadPyodide(baseLoadOptions(setup));
  writeSandboxFiles(pyodide, setup);
  importRuntime(pyodide);
  return pyodide;
}

async function runScript(pyodide: Pyodide, request: SandboxRunRequest): Promise<void> {
  const emit = (eventJson: string): void => report({ type: 'sandbox:event', eventJson });

  // Packages load before runtime.py hardens the interpreter, which blocks Pyodide's loader.
  const prepared = await preparePackages(pyodide, { script: request.script, prelude: request.prelude }, setup.packagePlan);
  if (prepared.error !== undefined) {
    emit(JSON.stringify({ type: 'sandbox:error', error: prepared.error }));
    return;
  }

  const runtime = pyodide.pyimport('runtime');
  const runRequest = runtime.run_request;
  try {
    await runRequest.callKwargs(JSON.stringify(request), emit, {
      packages: prepared.packages,
      package_load_ms: prepared.packageLoadMs,
    });
  } finally {
    runRequest.destroy();
    runtime.destroy();
  }
}

async function main(): Promise<void> {
  prepareThread(setup);
  const pyodide = await loadInterpreter();
  removeNetworkGlobals();

  // The interpreter's memory now contains the restored state, so the copy goes back to
  // the host before any script could reach it, and this thread keeps no reference.
  const snapshot = setup.snapshot;
  setup.snapshot = undefined;
  if (snapshot === undefined) {
    report({ type: 'sandbox:worker-ready' });
  } else {
    setup.eventPort.postMessage({ type: 'sandbox:worker-ready', snapshot } satisfies WorkerReport, [snapshot.buffer as ArrayBuffer]);
  }

  parentPort!.once('message', (command: WorkerCommand) => {
    runScript(pyodide, command.request).then(
      () => report({ type: 'sandbox:finished' }),
      (error: unknown) => report({ type: 'sandbox:worker-failed', message: describeFailure(error) }),
    );
  });
}

main().catch((error: unknown) => {
  report({ type: 'sandbox:worker-failed', message: `Pyodide failed to start: ${describeFailure(error)}` });
});
