/**
 * One single-use Pyodide interpreter in a worker thread of the sandbox host.
 *
 * The worker loads Pyodide and runtime.py, reports `sandbox:worker-ready`, runs exactly
 * one script, reports `sandbox:finished` and waits to be terminated. The host never
 * sends it a second run.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { SandboxRunRequest } from '@policy-logic-studio/shared';
import type { WorkerCommand, WorkerReport, WorkerSetup } from './host-protocol.js';
import { preparePackages } from './packages/prepare-packages.js';

type LoadPyodide = typeof import('pyodide').loadPyodide;
type Pyodide = Awaited<ReturnType<LoadPyodide>>;

const WASM_PAGE_BYTES = 64 * 1024;
const SANDBOX_FOLDER = '/sandbox';

// Imported once while the worker is warm, so a run does not pay for them.
const PRELOADED_MODULES = [
  'asyncio', 'base64', 'collections', 'dataclasses', 'datetime', 'decimal', 'fractions',
  'itertools', 'json', 'math', 're', 'statistics', 'subprocess', 'socket', 'uuid', '_strptime',
];

const setup = workerData as WorkerSetup;

function report(message: WorkerReport): void {
  setup.eventPort.postMessage(message);
}

/**
 * Returns the constants for `process.binding('constants')`, which Emscripten calls at
 * start-up and Node's permission model blocks. Every other binding stays blocked.
 */
function answerConstantsBinding(): void {
  const target = process as unknown as { binding: (name: string) => unknown };
  const original = target.binding.bind(process);
  target.binding = (name: string): unknown => {
    if (name === 'constants') {
      return { fs: fs.constants, os: os.constants };
    }
    return original(name);
  };
}

/**
 * Caps every WebAssembly memory created from now on at `maxBytes`. When the
 * interpreter's heap would grow past the cap, malloc fails and Python raises MemoryError.
 */
function capWasmMemory(maxBytes: number): void {
  const OriginalMemory = WebAssembly.Memory;
  const maxPages = Math.max(1, Math.floor(maxBytes / WASM_PAGE_BYTES));

  function CappedMemory(descriptor: WebAssembly.MemoryDescriptor): WebAssembly.Memory {
    if (descriptor.shared) {
      return new OriginalMemory(descriptor);
    }
    const maximum = Math.min(descriptor.maximum ?? maxPages, maxPages);
    return new OriginalMemory({ ...descriptor, initial: Math.min(descriptor.initial, maximum), maximum });
  }
  CappedMemory.prototype = OriginalMemory.prototype;
  WebAssembly.Memory = CappedMemory as unknown as typeof WebAssembly.Memory;
}

/**
 * Creates the only globals `import js` can see: an empty object, not frozen because
 * Pyodide adds properties to it. Not a boundary, because any JavaScript object leads to `Function`.
 */
function restrictedJsGlobals(): object {
  return Object.create(null) as object;
}

/** Removes network and storage APIs from the worker's global scope once Pyodide no longer needs them. */
function removeNetworkGlobals(): void {
  const names = ['fetch', 'Request', 'Response', 'Headers', 'WebSocket', 'EventSource', 'XMLHttpRequest'];
  for (const name of names) {
    Reflect.deleteProperty(globalThis, name);
  }
}

async function loadInterpreter(): Promise<Pyodide> {
  const { loadPyodide } = (await import(setup.pyodideModuleUrl)) as { loadPyodide: LoadPyodide };
  const discard = (): void => {};
  const pyodide = await loadPyodide({
    indexURL: setup.pyodideIndexPath,
    packageCacheDir: setup.packagePlan?.cacheDir,
    jsglobals: restrictedJsGlobals(),
    // runtime.py captures Python's print; this only catches native writes to fd 1 and 2.
    stdout: discard,
    stderr: discard,
    env: { HOME: '/home/pyodide', PATH: '/usr/bin' },
  });

  pyodide.FS.mkdirTree(SANDBOX_FOLDER);
  pyodide.FS.writeFile(`${SANDBOX_FOLDER}/runtime.py`, setup.runtimeSource);
  if (setup.tableSource !== undefined) {
    pyodide.FS.writeFile(`${SANDBOX_FOLDER}/table.py`, setup.tableSource);
  }
  pyodide.runPython(
    [
      'import sys',
      `sys.path.insert(0, ${JSON.stringify(SANDBOX_FOLDER)})`,
      'import runtime',
      ...PRELOADED_MODULES.map((name) => `import ${name}`),
    ].join('\n'),
  );
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
    await runRequest.callKwargs(JSON.stringify(request), emit, { packages: prepared.packages });
  } finally {
    runRequest.destroy();
    runtime.destroy();
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

async function main(): Promise<void> {
  answerConstantsBinding();
  capWasmMemory(setup.wasmMemoryMaxBytes);
  const pyodide = await loadInterpreter();
  removeNetworkGlobals();
  report({ type: 'sandbox:worker-ready' });

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
