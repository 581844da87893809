/**
 * Package-load cost in Pyodide itself: on one loaded interpreter, installs a generated
 * pure-Python wheel from a file:// URL and imports it, compared with a run that imports
 * nothing. A second wheel then loads into the same interpreter, which separates Pyodide's
 * one-time package-loader set-up from the cost of one wheel. A new interpreter serves each
 * sample, as the product gives each run its own. Prints one JSON line with the wheel size
 * and the samples of each step in milliseconds.
 *
 * Usage: node bench/pyodide-package-load.mjs RUNS TIME_BUDGET_MS
 */
import { stat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadPyodide } from 'pyodide';
import { writeBenchmarkWheel } from './lib/wheel.mjs';

const runs = Number.parseInt(process.argv[2] ?? '3', 10);
const timeBudgetMs = Number.parseInt(process.argv[3] ?? '60000', 10);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(timeBudgetMs) || timeBudgetMs < 1) {
  process.stderr.write(`usage: node bench/pyodide-package-load.mjs RUNS TIME_BUDGET_MS (got ${process.argv.slice(2).join(' ')})\n`);
  process.exit(2);
}

const folder = await mkdtemp(path.join(tmpdir(), 'pls-bench-wheel-'));
try {
  const first = await writeBenchmarkWheel(folder, 'plsbench_first');
  const second = await writeBenchmarkWheel(folder, 'plsbench_second');
  const result = {
    wheelBytes: (await stat(first.wheelPath)).size,
    plainRunMs: [],
    firstLoadPackageMs: [],
    importMs: [],
    secondLoadPackageMs: [],
  };
  const quiet = { messageCallback: () => {}, errorCallback: (message) => process.stderr.write(`${message}\n`) };

  const startedAt = performance.now();
  for (let run = 0; run < runs && performance.now() - startedAt < timeBudgetMs; run += 1) {
    const pyodide = await loadPyodide();

    let mark = performance.now();
    pyodide.runPython('result = {"value": 1}');
    result.plainRunMs.push(performance.now() - mark);

    mark = performance.now();
    await pyodide.loadPackage(pathToFileURL(first.wheelPath).href, quiet);
    result.firstLoadPackageMs.push(performance.now() - mark);

    mark = performance.now();
    pyodide.runPython(`import ${first.moduleName}\nresult = {"value": ${first.moduleName}.TOTAL}`);
    result.importMs.push(performance.now() - mark);

    mark = performance.now();
    await pyodide.loadPackage(pathToFileURL(second.wheelPath).href, quiet);
    result.secondLoadPackageMs.push(performance.now() - mark);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await rm(folder, { recursive: true, force: true });
}
