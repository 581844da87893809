/**
 * Worker thread of bench/pyodide-refill-phases.mjs. It repeats the start-up steps of the
 * product's worker.js with the same compiled code, runs one trivial script and posts the
 * wall time of each step to the parent.
 */
import { parentPort, workerData } from 'node:worker_threads';

const marks = {};
let last = workerData.spawnedAt - performance.timeOrigin;
function mark(step) {
  const now = performance.now();
  marks[step] = now - last;
  last = now;
}

mark('threadStart');
const start = await import(workerData.interpreterStartUrl);
start.prepareThread(workerData);
const loadPyodide = await start.importLoadPyodide(workerData.pyodideModuleUrl);
mark('importPyodide');
const pyodide = await loadPyodide({ ...start.baseLoadOptions(workerData), _loadSnapshot: workerData.snapshot });
mark('restoreSnapshot');
start.writeSandboxFiles(pyodide, workerData, workerData.tableBytecode);
pyodide.runPython("import sys\nif 'random' in sys.modules:\n    sys.modules['random'].seed()");
mark('sandboxFiles');

const request = { runId: 'refill-phases', language: 'python', script: 'done({"value": 1})', documents: [], user: {}, artifacts: [], sources: [] };
const runtime = pyodide.pyimport('runtime');
await runtime.run_request.callKwargs(JSON.stringify(request), () => {}, { packages: [], package_load_ms: 0 });
mark('trivialRun');
parentPort.postMessage(marks);
