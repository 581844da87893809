/**
 * Baseline for the Python benchmark: a fresh Pyodide interpreter per run (`loadPyodide()`,
 * then the script). Guardian's Python Custom Logic worker
 * (policy-service/src/policy-engine/helpers/workers/custom-logic-python-worker.ts) does this
 * and then installs its library list with micropip on every run, so this is a lower bound
 * on Guardian's cost. Runs in its own process so that the interpreters left for the garbage
 * collector do not weigh on the benchmark process. Prints `{ "samplesMs": [...] }`.
 *
 * Usage: node bench/pyodide-baseline.mjs RUNS TIME_BUDGET_MS
 */
import { loadPyodide } from 'pyodide';

const runs = Number.parseInt(process.argv[2] ?? '5', 10);
const timeBudgetMs = Number.parseInt(process.argv[3] ?? '60000', 10);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(timeBudgetMs) || timeBudgetMs < 1) {
  process.stderr.write(`usage: node bench/pyodide-baseline.mjs RUNS TIME_BUDGET_MS (got ${process.argv.slice(2).join(' ')})\n`);
  process.exit(2);
}

const script = 'result = {"value": documents[0]["value"]}';
const samplesMs = [];
const startedAt = performance.now();
for (let run = 0; run < runs && performance.now() - startedAt < timeBudgetMs; run += 1) {
  const runStartedAt = performance.now();
  const pyodide = await loadPyodide();
  pyodide.globals.set('documents', pyodide.toPy([{ value: 1 }]));
  pyodide.runPython(script);
  pyodide.globals.get('result').toJs();
  samplesMs.push(performance.now() - runStartedAt);
}
process.stdout.write(`${JSON.stringify({ samplesMs })}\n`);
