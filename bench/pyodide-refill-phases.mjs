/**
 * Splits the cost of one interpreter refill, the work the sandbox host repeats for every
 * run. It prepares the interpreter template the way the host does (compiled
 * pyodide.asm.wasm and memory snapshot, from the backend build under BUILD_ROOT), then
 * starts RUNS worker threads one after another. Each worker repeats the start-up steps of
 * the product's worker.js with a time mark after each step, runs a trivial script and is
 * terminated. It also takes the process CPU time of each worker's whole life. The main
 * thread is idle meanwhile, so that time belongs to the worker, its compiler threads and
 * its garbage collector. Node's permission model, which the real host runs under, is not
 * applied here.
 * Prints one JSON line: the snapshot size and, per step, the samples in milliseconds.
 *
 * Usage: node bench/pyodide-refill-phases.mjs RUNS TIME_BUDGET_MS BUILD_ROOT
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';

const [runsText = '5', budgetText = '60000', buildRoot] = process.argv.slice(2);
const runs = Number.parseInt(runsText, 10);
const timeBudgetMs = Number.parseInt(budgetText, 10);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(timeBudgetMs) || timeBudgetMs < 1 || buildRoot === undefined) {
  process.stderr.write(`usage: node bench/pyodide-refill-phases.mjs RUNS TIME_BUDGET_MS BUILD_ROOT (got ${process.argv.slice(2).join(' ')})\n`);
  process.exit(2);
}

// The same limits as the product's defaults (PYODIDE_MEMORY_LIMIT_MB=512 split by host-launch.ts).
const JS_HEAP_MAX_MB = 128;
const WASM_MEMORY_MAX_BYTES = 384 * 1024 * 1024;
const WORKER_STACK_SIZE_MB = 4;
const STEPS = ['threadStart', 'importPyodide', 'restoreSnapshot', 'sandboxFiles', 'trivialRun'];

const backendDir = path.join(path.resolve(buildRoot), 'apps', 'backend');
const pyodideDistDir = path.join(backendDir, 'dist', 'execution', 'pyodide');
const pythonDir = path.join(backendDir, 'src', 'execution', 'python');
const pyodideDir = path.dirname(createRequire(path.join(backendDir, 'package.json')).resolve('pyodide'));
const { prepareTemplate, snapshotCopy } = await import(pathToFileURL(path.join(pyodideDistDir, 'interpreter-template.js')).href);

const setup = {
  pyodideModuleUrl: pathToFileURL(path.join(pyodideDir, 'pyodide.mjs')).href,
  pyodideIndexPath: pyodideDir + path.sep,
  runtimeSource: readFileSync(path.join(pythonDir, 'runtime.py'), 'utf8'),
  tableSource: readFileSync(path.join(pythonDir, 'table.py'), 'utf8'),
  wasmMemoryMaxBytes: WASM_MEMORY_MAX_BYTES,
};
const template = await prepareTemplate({
  interpreterStart: 'snapshot',
  snapshotWorkerPath: path.join(pyodideDistDir, 'snapshot-worker.js'),
  jsHeapMaxMb: JS_HEAP_MAX_MB,
  workerStackSizeMb: WORKER_STACK_SIZE_MB,
  setup,
});
if (template.snapshot === undefined) {
  process.stderr.write(`pyodide-refill-phases: preparing the memory snapshot failed: ${template.snapshotError}\n`);
  process.exit(1);
}

const result = { snapshotBytes: template.snapshot.byteLength, cpuPerWorkerMs: [], readyMs: [] };
for (const step of STEPS) {
  result[`${step}Ms`] = [];
}
const workerPath = fileURLToPath(new URL('./lib/refill-phase-worker.mjs', import.meta.url));
const startedAt = performance.now();

for (let run = 0; run < runs && performance.now() - startedAt < timeBudgetMs; run += 1) {
  const cpuBefore = process.cpuUsage();
  const spawnedAt = performance.now();
  const channel = new MessageChannel();
  const snapshot = snapshotCopy(template);
  const thread = new Worker(workerPath, {
    workerData: {
      ...setup,
      wasmModule: template.wasmModule,
      tableBytecode: template.tableBytecode,
      snapshot,
      eventPort: channel.port2,
      interpreterStartUrl: pathToFileURL(path.join(pyodideDistDir, 'interpreter-start.js')).href,
      spawnedAt: performance.timeOrigin + spawnedAt,
    },
    transferList: [channel.port2, snapshot.buffer],
    resourceLimits: { maxOldGenerationSizeMb: JS_HEAP_MAX_MB, stackSizeMb: WORKER_STACK_SIZE_MB },
    env: {},
  });
  const marks = await new Promise((resolve, reject) => {
    thread.once('message', resolve);
    thread.once('error', reject);
  });
  await thread.terminate();
  channel.port1.close();
  const cpu = process.cpuUsage(cpuBefore);
  for (const step of STEPS) {
    result[`${step}Ms`].push(marks[step]);
  }
  result.readyMs.push(STEPS.slice(0, 4).reduce((sum, step) => sum + marks[step], 0));
  result.cpuPerWorkerMs.push((cpu.user + cpu.system) / 1000);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
