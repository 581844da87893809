/**
 * Start-up steps shared by the snapshot worker and the run workers, all inside worker
 * threads of the sandbox host: preparing the thread for Pyodide under Node's permission
 * model, loading Pyodide with the host's compiled WebAssembly module, and loading runtime.py.
 */
import fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import type { PyodideInterface } from 'pyodide';
import type { CompiledFile, SnapshotSetup } from './host-protocol.js';

const require = createRequire(import.meta.url);

type LoadPyodide = typeof import('pyodide').loadPyodide;
export type LoadPyodideOptions = NonNullable<Parameters<LoadPyodide>[0]>;

const WASM_PAGE_BYTES = 64 * 1024;
export const SANDBOX_FOLDER = '/sandbox';
const TABLE_PATH = `${SANDBOX_FOLDER}/table.py`;

// Imported while the interpreter is prepared, so a run does not pay for them.
const PRELOADED_MODULES = [
  'asyncio', 'base64', 'collections', 'dataclasses', 'datetime', 'decimal', 'fractions',
  'itertools', 'json', 'math', 're', 'statistics', 'subprocess', 'socket', 'uuid', '_strptime',
];

/**
 * Returns the constants for `process.binding('constants')`, which Emscripten calls at
 * start-up and Node's permission model blocks. Every other binding stays blocked.
 */
export function answerConstantsBinding(): void {
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
export function capWasmMemory(maxBytes: number): void {
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
 * Makes Pyodide instantiate the host's compiled `module` instead of reading and compiling
 * pyodide.asm.wasm again. Pyodide reads the file with `fs/promises.readFile` and passes
 * the bytes to `WebAssembly.instantiate`. The read of that one path returns a marker
 * instead (saving a 10 MB read and its garbage per worker), and instantiating the marker
 * instantiates `module`. Package libraries load later and reach the original functions.
 */
function instantiateSharedModule(module: WebAssembly.Module, wasmPath: string): void {
  const marker = new Uint8Array(0);
  const fsPromises = require('node:fs/promises') as { readFile: (...args: unknown[]) => Promise<unknown> };
  const originalReadFile = fsPromises.readFile;
  fsPromises.readFile = (...args: unknown[]): Promise<unknown> => {
    if (args[0] === wasmPath) {
      return Promise.resolve(marker);
    }
    return originalReadFile(...args);
  };
  // Pyodide imports `node:fs/promises` as ES module, whose bindings follow this call.
  syncBuiltinESMExports();

  const originalInstantiate = WebAssembly.instantiate as (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;
  const instantiate = async (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> => {
    if (!(ArrayBuffer.isView(source) && source.buffer === marker.buffer)) {
      return originalInstantiate.call(WebAssembly, source, imports);
    }
    const instance = await originalInstantiate.call(WebAssembly, module, imports);
    return { instance, module };
  };
  WebAssembly.instantiate = instantiate as typeof WebAssembly.instantiate;
}

/**
 * Loads pyodide.asm.js through the CommonJS loader, then pyodide.mjs, which skips its own
 * load of pyodide.asm.js because the global it defines exists. An ES module import of the
 * 1.2 MB file first scans it for named exports, which cost about 100 ms per worker here.
 *
 * NOTE: a V8 code cache of pyodide.asm.js (vm.Script `cachedData`) measured about 40 ms
 * less CPU per worker, but Node 20 drops the `import()` handler of cached code. Escaped
 * scripts would then fail at `import()` before they reach Node's permission model, so
 * the escape battery could no longer check that layer. The cache is therefore not used.
 */
export async function importLoadPyodide(pyodideModuleUrl: string): Promise<LoadPyodide> {
  createRequire(pyodideModuleUrl)('./pyodide.asm.js');
  const { loadPyodide } = (await import(pyodideModuleUrl)) as { loadPyodide: LoadPyodide };
  return loadPyodide;
}

/**
 * Creates the only globals `import js` can see: an empty object, not frozen because
 * Pyodide adds properties to it. Not a boundary, because any JavaScript object leads to `Function`.
 */
export function restrictedJsGlobals(): object {
  return Object.create(null) as object;
}

/** Returns the `loadPyodide` options of every interpreter in the sandbox, restored from the snapshot or not. */
export function baseLoadOptions(setup: SnapshotSetup): LoadPyodideOptions {
  const discard = (): void => {};
  return {
    indexURL: setup.pyodideIndexPath,
    packageCacheDir: setup.packagePlan?.cacheDir,
    jsglobals: restrictedJsGlobals(),
    // runtime.py captures Python's print; this only catches native writes to fd 1 and 2.
    stdout: discard,
    stderr: discard,
    env: { HOME: '/home/pyodide', PATH: '/usr/bin' },
  };
}

/**
 * Writes runtime.py, table.py and, when given, table.py's bytecode into the interpreter's
 * virtual filesystem. The filesystem lives in JavaScript, outside the memory snapshot, so
 * every worker writes them.
 */
export function writeSandboxFiles(pyodide: PyodideInterface, setup: SnapshotSetup, tableBytecode?: CompiledFile): void {
  pyodide.FS.mkdirTree(SANDBOX_FOLDER);
  pyodide.FS.writeFile(`${SANDBOX_FOLDER}/runtime.py`, setup.runtimeSource);
  if (setup.tableSource === undefined) {
    return;
  }
  pyodide.FS.writeFile(TABLE_PATH, setup.tableSource);
  if (tableBytecode !== undefined) {
    pyodide.FS.mkdirTree(tableBytecode.path.slice(0, tableBytecode.path.lastIndexOf('/')));
    pyodide.FS.writeFile(tableBytecode.path, tableBytecode.bytes);
  }
}

/**
 * Compiles table.py to a .pyc that Python's import system uses without checking it
 * against the source (PEP 552 unchecked hash). runtime.py loads table.py in every run,
 * and this saves compiling it each time.
 */
export function compileTableHelper(pyodide: PyodideInterface, setup: SnapshotSetup): CompiledFile | undefined {
  if (setup.tableSource === undefined) {
    return undefined;
  }
  const compile = pyodide.runPython(
    [
      'import importlib.util, py_compile',
      'def compile_unchecked(path):',
      '    target = importlib.util.cache_from_source(path)',
      '    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH',
      '    return py_compile.compile(path, cfile=target, invalidation_mode=mode, doraise=True)',
      'compile_unchecked',
    ].join('\n'),
  ) as { (path: string): string; destroy: () => void };
  try {
    const path = compile(TABLE_PATH);
    return { path, bytes: pyodide.FS.readFile(path) as Uint8Array };
  } finally {
    compile.destroy();
  }
}

/** Imports runtime.py and the preloaded standard modules. In snapshot mode this runs once, before the snapshot. */
export function importRuntime(pyodide: PyodideInterface): void {
  pyodide.runPython(
    [
      'import sys',
      `sys.path.insert(0, ${JSON.stringify(SANDBOX_FOLDER)})`,
      'import runtime',
      ...PRELOADED_MODULES.map((name) => `import ${name}`),
    ].join('\n'),
  );
}

/**
 * Loads table.py once before the snapshot is taken, so its regular expressions are in the
 * `re` module's cache inside the snapshot. Runs load table.py again and reuse them.
 */
export function warmTableHelper(pyodide: PyodideInterface): void {
  pyodide.runPython('import runtime\nruntime._load_table_helper([])');
}

/** Prepares this thread for Pyodide: the constants binding, the memory cap and the shared module. */
export function prepareThread(setup: SnapshotSetup): void {
  answerConstantsBinding();
  capWasmMemory(setup.wasmMemoryMaxBytes);
  instantiateSharedModule(setup.wasmModule, `${setup.pyodideIndexPath}pyodide.asm.wasm`);
}

export function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
