/**
 * The command line of the sandbox host process: Node's permission model, the files it
 * may read, its memory budget and, where available, an empty network namespace.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { compiledPath, pythonRuntimePath } from '../../paths.js';
import type { PackagePlanSettings } from './packages/planner.js';
import type { InterpreterStart } from './host-protocol.js';
import type { HostSettings } from './sandbox-host.js';

const MB = 1024 * 1024;

export const DEFAULT_MEMORY_LIMIT_BYTES = 512 * MB;

// Python objects live in the WebAssembly memory, so it gets most of a run's memory.
// The JavaScript heap only needs room for Pyodide's loader and the event traffic.
const MIN_JS_HEAP_MB = 64;
const MAX_JS_HEAP_MB = 256;
const MIN_WASM_MEMORY_BYTES = 128 * MB;

export interface MemoryBudget {
  jsHeapMaxMb: number;
  wasmMemoryMaxBytes: number;
}

/** Splits a run's memory limit between the worker's JavaScript heap and its WebAssembly memory. */
export function splitMemoryLimit(memoryLimitBytes: number): MemoryBudget {
  const quarterMb = Math.floor(memoryLimitBytes / 4 / MB);
  const jsHeapMaxMb = Math.min(MAX_JS_HEAP_MB, Math.max(MIN_JS_HEAP_MB, quarterMb));
  const wasmMemoryMaxBytes = Math.max(MIN_WASM_MEMORY_BYTES, memoryLimitBytes - jsHeapMaxMb * MB);
  return { jsHeapMaxMb, wasmMemoryMaxBytes };
}

/** Returns the folder of the installed `pyodide` package (pyodide.mjs, the wasm binary, the standard library). */
export function pyodidePackageDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('pyodide'));
}

/** True when `unshare` can start a process in new network and PID namespaces here. */
export function canIsolateNetwork(): boolean {
  const probe = spawnSync('unshare', ['--net', '--pid', '--fork', '--', 'true'], { stdio: 'ignore', timeout: 5_000 });
  return probe.status === 0;
}

// When the machine runs out of memory, the kernel kills the sandbox host before the API process.
const HOST_OOM_SCORE_ADJ = 1000;

/** True when `choom` (util-linux) can raise a process's OOM score here. */
export function canRaiseOomScore(): boolean {
  const probe = spawnSync('choom', ['-n', String(HOST_OOM_SCORE_ADJ), '--', 'true'], { stdio: 'ignore', timeout: 5_000 });
  return probe.status === 0;
}

export interface HostLaunchOptions {
  poolSize: number;
  maxQueuedRuns: number;
  maxRunningRuns: number;
  interpreterStart: InterpreterStart;
  memoryLimitBytes: number;
  packagePlan?: PackagePlanSettings;
  isolateNetwork: boolean;
  raiseOomScore: boolean;
  /** Cap on the events and printed text one run may send, in characters. */
  runOutputMaxChars: number;
}

export interface HostLaunch {
  command: string;
  args: string[];
  /** The host's whole environment: no variable of the API process reaches the sandbox. */
  env: Record<string, string>;
  settings: HostSettings;
}

/**
 * Makes glibc serve every allocation of 128 KiB or more with its own mmap, which free()
 * returns to the system. By default glibc raises that threshold after the first large
 * free, so the 20 MB snapshot copies of later workers come from the heap and stay resident.
 * Measured over 200 runs with a pool of 4: 504 to 657 MiB without it, 423 to 442 MiB with it.
 */
const HOST_ENVIRONMENT = { MALLOC_MMAP_THRESHOLD_: String(128 * 1024) };

export function buildHostLaunch(options: HostLaunchOptions): HostLaunch {
  const pyodideDir = pyodidePackageDir();
  const sandboxDir = path.dirname(compiledPath('execution/pyodide/sandbox-host.js'));
  const tablePath = path.join(path.dirname(pythonRuntimePath), 'table.py');
  const budget = splitMemoryLimit(options.memoryLimitBytes);

  const settings: HostSettings = {
    workerScriptPath: path.join(sandboxDir, 'worker.js'),
    snapshotWorkerPath: path.join(sandboxDir, 'snapshot-worker.js'),
    interpreterStart: options.interpreterStart,
    pyodideModuleUrl: pathToFileURL(path.join(pyodideDir, 'pyodide.mjs')).href,
    pyodideIndexPath: pyodideDir + path.sep,
    packagePlan: options.packagePlan,
    runtimePath: pythonRuntimePath,
    tablePath: existsSync(tablePath) ? tablePath : undefined,
    poolSize: options.poolSize,
    maxQueuedRuns: options.maxQueuedRuns,
    maxRunningRuns: options.maxRunningRuns,
    jsHeapMaxMb: budget.jsHeapMaxMb,
    wasmMemoryMaxBytes: budget.wasmMemoryMaxBytes,
    runOutputMaxChars: options.runOutputMaxChars,
  };

  const readable = [pyodideDir, sandboxDir, settings.runtimePath, settings.tablePath, options.packagePlan?.cacheDir];
  const nodeArgs = [
    '--experimental-permission',
    // Node 20 takes one path per flag; a comma-separated list is read as a single path.
    ...readable.filter((entry) => entry !== undefined).map((entry) => `--allow-fs-read=${entry}`),
    '--allow-worker',
    // The runner reports these limits itself (health and start-up log).
    '--disable-warning=ExperimentalWarning',
    '--disable-warning=SecurityWarning',
    path.join(sandboxDir, 'sandbox-host.js'),
    JSON.stringify(settings),
  ];

  let command: string[] = [process.execPath, ...nodeArgs];
  if (options.isolateNetwork) {
    // --net: an empty network namespace. --pid: the host cannot signal processes outside
    // it, such as the API process. --kill-child: killing unshare kills the host too.
    command = ['unshare', '--net', '--pid', '--fork', '--kill-child', '--', ...command];
  }
  if (options.raiseOomScore) {
    command = ['choom', '-n', String(HOST_OOM_SCORE_ADJ), '--', ...command];
  }
  return { command: command[0]!, args: command.slice(1), env: { ...HOST_ENVIRONMENT }, settings };
}
