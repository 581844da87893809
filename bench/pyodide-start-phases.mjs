/**
 * Splits a fresh Pyodide interpreter's start-up time for the people tuning the pool. It
 * times compiling pyodide.asm.wasm alone, a plain `loadPyodide()`, and `loadPyodide()` from
 * a memory snapshot taken right after start-up. The snapshot uses Pyodide 0.26's
 * experimental `_makeSnapshot` and `_loadSnapshot` options and still gives every run its
 * own interpreter.
 * Prints one JSON line with the samples of each step in milliseconds.
 *
 * Usage: node bench/pyodide-start-phases.mjs RUNS TIME_BUDGET_MS
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadPyodide } from 'pyodide';

const runs = Number.parseInt(process.argv[2] ?? '3', 10);
const timeBudgetMs = Number.parseInt(process.argv[3] ?? '60000', 10);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(timeBudgetMs) || timeBudgetMs < 1) {
  process.stderr.write(`usage: node bench/pyodide-start-phases.mjs RUNS TIME_BUDGET_MS (got ${process.argv.slice(2).join(' ')})\n`);
  process.exit(2);
}

const pyodideDir = path.dirname(createRequire(import.meta.url).resolve('pyodide'));
const wasmBytes = await readFile(path.join(pyodideDir, 'pyodide.asm.wasm'));
const result = { wasmBytes: wasmBytes.length, compileWasmMs: [], loadPyodideMs: [], makeSnapshotMs: undefined, snapshotBytes: undefined, loadFromSnapshotMs: [] };
const startedAt = performance.now();
const withinBudget = (run) => run < runs && performance.now() - startedAt < timeBudgetMs;

for (let run = 0; withinBudget(run); run += 1) {
  const mark = performance.now();
  await WebAssembly.compile(wasmBytes);
  result.compileWasmMs.push(performance.now() - mark);
}
for (let run = 0; withinBudget(run); run += 1) {
  const mark = performance.now();
  const pyodide = await loadPyodide();
  pyodide.runPython('x = 1');
  result.loadPyodideMs.push(performance.now() - mark);
}

let mark = performance.now();
const template = await loadPyodide({ _makeSnapshot: true });
const snapshot = template.makeMemorySnapshot();
result.makeSnapshotMs = performance.now() - mark;
result.snapshotBytes = snapshot.length;
for (let run = 0; withinBudget(run); run += 1) {
  mark = performance.now();
  const pyodide = await loadPyodide({ _loadSnapshot: snapshot });
  pyodide.runPython('x = 1');
  result.loadFromSnapshotMs.push(performance.now() - mark);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
