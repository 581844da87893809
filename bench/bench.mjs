/**
 * `npm run bench`: starts the real product on 127.0.0.1 and measures trivial dry runs in
 * Pyodide mode, Docker mode and JavaScript, against a fresh-interpreter baseline and a
 * plain `docker run`, plus memory and package-load cost. Prints Markdown tables with
 * medians, p99 and ratios. Every loop is bounded in count and in time.
 *
 * Usage: npm run bench -- [--runs N] [--quick] [--window-s S] [--pool-size N]
 *        [--skip-docker] [--package-source file:///folder/] [--json FILE]
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startBackend, waitForFullPool } from './lib/backend.mjs';
import { optionParsers } from './lib/cli.mjs';
import { freezeBuild } from './lib/frozen-build.mjs';
import { describeMachine, formatMachine } from './lib/machine.mjs';
import { formatNumber, renderTable } from './lib/stats.mjs';
import {
  dockerUnavailableReason,
  measureFreshInterpreterBaseline,
  measureHealthLatency,
  measureInterpreterStartPhases,
  measureRefillPhases,
  measureMemory,
  measurePackageLoadInProduct,
  measurePackageLoadInPyodide,
  measurePlainDockerRun,
  measurePlainDockerThroughput,
  measureSequential,
  measureThroughput,
} from './lib/sections.mjs';

const { fail, positiveInteger } = optionParsers('bench');

const USAGE = `Usage: npm run bench -- [options]
  --runs N            sequential runs per latency row (default 20; 5 with --quick)
  --quick             fewer runs and shorter windows, for a first look (about 5 minutes)
  --window-s S        seconds each throughput phase sends requests (default 15; 5 with --quick)
  --pool-size N       PYODIDE_POOL_SIZE of the Pyodide backend (default 4)
  --skip-docker       leave out the Docker-mode rows
  --package-source U  PYODIDE_PACKAGE_BASE_URL (file:// only) of the Pyodide-mode backend
  --json FILE         also write every result as JSON to FILE`;

const CLIENT_COUNTS = [1, 4, 16];
const SANDBOX_IMAGE = process.env.PYTHON_SANDBOX_IMAGE ?? 'guardian/python-sandbox:latest';

const TARGETS = {
  pythonMedianMs: 30,
  pythonP99Ms: 100,
  speedUp: 20,
  pythonRunsPerSecond: 20,
  dockerMedianMs: 300,
  javascriptMedianMs: 5,
  hostRssMb: 600,
};

function readOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        runs: { type: 'string' },
        quick: { type: 'boolean', default: false },
        'window-s': { type: 'string' },
        'pool-size': { type: 'string' },
        'skip-docker': { type: 'boolean', default: false },
        'package-source': { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    fail(`${error.message}\n${USAGE}`);
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = parsed.quick;
  const options = {
    quick,
    runs: positiveInteger('--runs', parsed.runs, quick ? 5 : 20),
    windowMs: positiveInteger('--window-s', parsed['window-s'], quick ? 5 : 15) * 1000,
    poolSize: positiveInteger('--pool-size', parsed['pool-size'], 4),
    skipDocker: parsed['skip-docker'],
    packageSource: parsed['package-source'],
    jsonPath: parsed.json,
    // Bound on each sequential section, even when --runs requests more runs.
    sectionBudgetMs: quick ? 45_000 : 120_000,
  };
  if (options.packageSource !== undefined && !options.packageSource.startsWith('file://')) {
    fail(`--package-source ${options.packageSource} is not a file:// URL; the benchmark sends no traffic off this machine.`);
  }
  return options;
}


// The 1-minute load average when each section started: on a shared machine it explains
// most of the spread between two runs of the benchmark.
const sectionLoad = [];

function progress(message) {
  sectionLoad.push({ section: message, loadAverage1m: Number(loadavg()[0].toFixed(2)) });
  process.stderr.write(`bench: ${message}\n`);
}

async function benchPyodide(options, results, buildRoot) {
  const env = { PYTHON_SANDBOX_MODE: 'pyodide', PYODIDE_POOL_SIZE: String(options.poolSize) };
  if (options.packageSource) {
    env.PYODIDE_PACKAGE_BASE_URL = options.packageSource;
  }
  progress(`starting the backend in Pyodide mode (PYODIDE_POOL_SIZE=${options.poolSize})`);
  const backend = await startBackend({ env, root: buildRoot, label: 'Pyodide-mode backend' });
  try {
    await waitForFullPool(backend);
    results.memory = await measureMemory(backend);

    const sequential = { runs: options.runs, timeBudgetMs: options.sectionBudgetMs };
    progress('Python, pool ready before each run');
    results.python.ready = await measureSequential(backend, 'pythonTrivial', { ...sequential, waitForReadyPool: true });
    progress('Python without done(), pool ready before each run');
    results.python.noOutput = await measureSequential(backend, 'pythonNoOutput', { ...sequential, waitForReadyPool: true });
    progress('Python, back to back');
    await waitForFullPool(backend);
    results.python.backToBack = await measureSequential(backend, 'pythonTrivial', sequential);

    results.python.throughput = [];
    for (const clients of CLIENT_COUNTS) {
      await waitForFullPool(backend);
      progress(`Python throughput, ${clients} client(s), ${options.windowMs / 1000} s`);
      results.python.throughput.push(await measureThroughput(backend, 'pythonTrivial', { clients, windowMs: options.windowMs }));
    }

    // The pool refills after the Python rows; JavaScript runs measured meanwhile would share the cores with that.
    await waitForFullPool(backend);
    progress('JavaScript');
    results.javascript.trivial = await measureSequential(backend, 'javascriptTrivial', sequential);
    results.javascript.noOutput = await measureSequential(backend, 'javascriptNoOutput', sequential);
    results.javascript.throughput = await measureThroughput(backend, 'javascriptTrivial', { clients: 4, windowMs: options.windowMs });
    results.health = await measureHealthLatency(backend, options.runs);

    // Starts a second backend with a generated operator wheel in its package cache. This one idles meanwhile.
    progress('package load through the product (operator wheel from PYODIDE_EXTRA_LOCK_FILE)');
    results.packages.product = await measurePackageLoadInProduct({ root: buildRoot, runs: Math.min(options.runs, 10), timeBudgetMs: options.sectionBudgetMs });
    await waitForFullPool(backend);
    results.memoryAfter = await measureMemory(backend);
  } finally {
    await backend.stop();
  }
}

async function benchDocker(options, results, buildRoot) {
  const reason = options.skipDocker ? 'skipped with --skip-docker' : await dockerUnavailableReason(SANDBOX_IMAGE);
  if (reason !== undefined) {
    results.docker = { skipped: reason };
    return;
  }
  progress(`plain docker run --rm ${SANDBOX_IMAGE}`);
  results.docker.plainRun = await measurePlainDockerRun(SANDBOX_IMAGE, { runs: options.runs, timeBudgetMs: options.sectionBudgetMs });
  results.docker.plainThroughput = [];
  for (const clients of CLIENT_COUNTS) {
    progress(`plain docker run throughput, ${clients} client(s), ${options.windowMs / 1000} s`);
    results.docker.plainThroughput.push(await measurePlainDockerThroughput(SANDBOX_IMAGE, { clients, windowMs: options.windowMs }));
  }

  progress('starting the backend in Docker mode');
  const backend = await startBackend({
    env: { PYTHON_SANDBOX_MODE: 'docker', PYTHON_SANDBOX_IMAGE: SANDBOX_IMAGE },
    root: buildRoot,
    label: 'Docker-mode backend',
  });
  try {
    results.docker.sequential = await measureSequential(backend, 'pythonTrivial', { runs: options.runs, timeBudgetMs: options.sectionBudgetMs });
    results.docker.throughput = [];
    for (const clients of CLIENT_COUNTS) {
      progress(`Docker throughput, ${clients} client(s), ${options.windowMs / 1000} s`);
      results.docker.throughput.push(await measureThroughput(backend, 'pythonTrivial', { clients, windowMs: options.windowMs }));
    }
  } finally {
    await backend.stop();
  }
}

const REFILL_STEPS = [
  ['threadStart', 'worker thread start: Node bootstrap of the thread and its script'],
  ['importPyodide', 'loading pyodide.asm.js (1.2 MB of JavaScript) and pyodide.mjs'],
  ['restoreSnapshot', 'loadPyodide() from the snapshot: instantiating the shared module, dynamic linking, memory copy'],
  ['sandboxFiles', 'runtime.py and table.py into the virtual filesystem, random reseeded'],
  ['ready', 'sum: from `new Worker()` to an interpreter ready for a run'],
  ['trivialRun', 'the trivial run itself, through runtime.py'],
  ['cpuPerWorker', 'process CPU time per worker, start to termination (all threads)'],
];

function refillPhaseReport(phases) {
  const rows = REFILL_STEPS.map(([key, label]) => {
    const summary = phases[key];
    return [label, summary.count, formatNumber(summary.medianMs), formatNumber(summary.p99Ms)];
  });
  const cpuMs = phases.cpuPerWorker.medianMs;
  const cores = availableParallelism();
  return [
    `Where one interpreter refill goes (worker threads started one after another, the steps of worker.js timed; ${formatNumber(phases.snapshotBytes / 1024 ** 2, 1)} MiB snapshot):`,
    '',
    renderTable(['step', 'runs', 'median ms', 'p99 ms'], rows),
    '',
    `With ${cores} cores and ${formatNumber(cpuMs)} ms of CPU per fresh interpreter, refills alone allow at most ${formatNumber((cores * 1000) / cpuMs, 1)} runs/s, before any HTTP, script or output-document work.`,
    '',
  ];
}

function verdict(value, target, lowerIsBetter = true) {
  if (value === undefined || Number.isNaN(value)) {
    return 'not measured';
  }
  const met = lowerIsBetter ? value <= target : value >= target;
  if (met) {
    return 'met';
  }
  const factor = lowerIsBetter ? value / target : target / value;
  return `missed (${formatNumber(factor)}x)`;
}

function latencyRow(name, summary, target, extra = '') {
  return [
    name,
    summary.count,
    formatNumber(summary.medianMs),
    formatNumber(summary.p99Ms),
    target === undefined ? '' : `≤ ${target} ms`,
    target === undefined ? extra : verdict(summary.medianMs, target),
  ];
}

function throughputRows(label, phases) {
  return phases.map((phase) => [
    `${label}, ${phase.clients} client(s)`,
    phase.completed,
    formatNumber(phase.runsPerSecond),
    formatNumber(phase.latency.medianMs),
    formatNumber(phase.latency.p99Ms),
    phase.otherAnswers.length + phase.abortedAtWindowEnd,
  ]);
}

function productPackageLoadReport(product) {
  if (product.failed) {
    return [`product, import of an operator wheel: failed: ${product.failed}`, ''];
  }
  const row = (label, summary) => [label, summary.count, formatNumber(summary.medianMs), formatNumber(summary.p99Ms)];
  const extraMs = product.imported.latency.medianMs - product.trivial.latency.medianMs;
  const lines = [
    `Through the product: a Pyodide-mode backend (PYODIDE_POOL_SIZE=${product.poolSize}) whose PYODIDE_EXTRA_LOCK_FILE lists a generated ${product.wheelBytes} B pure-Python wheel in its package cache; dry runs alternate, each on a full pool:`,
    '',
    renderTable(
      ['measurement', 'runs', 'median ms', 'p99 ms'],
      [
        row('product: trivial dry run (client latency)', product.trivial.latency),
        row(`product: \`import ${product.moduleName}\` dry run (client latency)`, product.imported.latency),
        row('product: that import run, service packageLoadMs (sha256 check + loadPackage)', product.imported.packageLoad),
        ['product: import run median - trivial run median', '', formatNumber(extraMs), ''],
      ],
    ),
    '',
  ];
  if (product.failures.length > 0) {
    lines.push(`Package-load runs that did not complete (left out of the rows above): ${product.failures.length}: ${[...new Set(product.failures)].join('; ')}`, '');
  }
  return lines;
}

function printReport(options, results) {
  const out = [];
  const python = results.python;
  out.push(`# npm run bench`, '', `command: ${results.command}`, formatMachine(results.machine), '');

  out.push('## Python (Pyodide mode), trivial dry run through POST /api/dry-run', '');
  const speedUp = results.baseline.medianMs / python.ready.latency.medianMs;
  out.push(
    renderTable(
      ['measurement', 'runs', 'median ms', 'p99 ms', 'target', 'verdict'],
      [
        [
          ...latencyRow('pooled, pool ready (client latency)', python.ready.latency).slice(0, 4),
          `p50 ≤ ${TARGETS.pythonMedianMs} ms, p99 ≤ ${TARGETS.pythonP99Ms} ms`,
          `p50 ${verdict(python.ready.latency.medianMs, TARGETS.pythonMedianMs)}, p99 ${verdict(python.ready.latency.p99Ms, TARGETS.pythonP99Ms)}`,
        ],
        latencyRow('pooled, pool ready (service durationMs)', python.ready.service),
        latencyRow('pooled, pool ready (client latency - durationMs)', python.ready.overhead),
        latencyRow('pooled, no done(), so no output document (client latency)', python.noOutput.latency),
        latencyRow('pooled, back to back (client latency)', python.backToBack.latency),
        latencyRow('baseline: fresh loadPyodide() + run, in-process', results.baseline),
        ['speed-up: baseline median / pooled median', '', formatNumber(speedUp), '', `≥ ${TARGETS.speedUp}x`, verdict(speedUp, TARGETS.speedUp, false)],
      ],
    ),
    '',
  );
  const phases = results.startPhases;
  out.push('Where a fresh interpreter\'s start-up goes (in-process, `pyodide` package; the snapshot rows use Pyodide 0.26\'s experimental `_makeSnapshot` and `_loadSnapshot`):', '');
  out.push(
    renderTable(
      ['measurement', 'runs', 'median ms', 'p99 ms'],
      [
        [`WebAssembly.compile(pyodide.asm.wasm, ${formatNumber(phases.wasmBytes / 1024 ** 2, 1)} MiB)`, phases.compileWasm.count, formatNumber(phases.compileWasm.medianMs), formatNumber(phases.compileWasm.p99Ms)],
        ['loadPyodide() + trivial runPython', phases.loadPyodide.count, formatNumber(phases.loadPyodide.medianMs), formatNumber(phases.loadPyodide.p99Ms)],
        [`loadPyodide() from a ${formatNumber(phases.snapshotBytes / 1024 ** 2, 1)} MiB memory snapshot + trivial runPython`, phases.loadFromSnapshot.count, formatNumber(phases.loadFromSnapshot.medianMs), formatNumber(phases.loadFromSnapshot.p99Ms)],
        ['taking that snapshot (once)', 1, formatNumber(phases.makeSnapshotMs), ''],
        ['product: interpreter refill after a run', python.ready.refill.count, formatNumber(python.ready.refill.medianMs), formatNumber(python.ready.refill.p99Ms)],
      ],
    ),
    '',
  );
  out.push(...refillPhaseReport(results.refillPhases));
  out.push(`Sustained runs (trivial Python, fresh interpreter per run, ${options.windowMs / 1000} s per row, PYODIDE_POOL_SIZE=${options.poolSize}); target ≥ ${TARGETS.pythonRunsPerSecond} runs/s:`, '');
  out.push(renderTable(['clients', 'completed', 'runs/s', 'median ms', 'p99 ms', 'not completed'], throughputRows('Python', python.throughput)), '');

  out.push('## Docker mode', '');
  if (results.docker.skipped) {
    out.push(`skipped: ${results.docker.skipped}`, '');
  } else {
    const ratio = results.docker.plainRun.medianMs / results.docker.sequential.latency.medianMs;
    out.push(
      renderTable(
        ['measurement', 'runs', 'median ms', 'p99 ms', 'target', 'verdict'],
        [
          latencyRow('product, trivial dry run (client latency)', results.docker.sequential.latency, TARGETS.dockerMedianMs),
          latencyRow('product (service durationMs)', results.docker.sequential.service),
          latencyRow(`baseline: docker run --rm --network=none --entrypoint python3 ${SANDBOX_IMAGE} -c`, results.docker.plainRun),
          ['ratio: baseline median / product median', '', formatNumber(ratio), '', '', ''],
        ],
      ),
      '',
    );
    const dockerRows = [...throughputRows('Docker', results.docker.throughput), ...throughputRows('plain docker run --rm', results.docker.plainThroughput)];
    out.push(
      `Sustained Docker-mode runs (trivial Python, a fresh container per run, ${options.windowMs / 1000} s per row), against clients that each run \`docker run --rm\` of the same image one after another:`,
      '',
    );
    out.push(renderTable(['clients', 'completed', 'runs/s', 'median ms', 'p99 ms', 'not completed'], dockerRows), '');
  }

  out.push('## JavaScript (isolated-vm), trivial dry run', '');
  out.push(
    renderTable(
      ['measurement', 'runs', 'median ms', 'p99 ms', 'target', 'verdict'],
      [
        latencyRow('trivial dry run (client latency)', results.javascript.trivial.latency, TARGETS.javascriptMedianMs),
        latencyRow('trivial dry run (service durationMs)', results.javascript.trivial.service),
        latencyRow('trivial dry run (client latency - durationMs)', results.javascript.trivial.overhead),
        latencyRow('no done() (client latency)', results.javascript.noOutput.latency),
        latencyRow('GET /api/health (client latency)', results.health),
      ],
    ),
    '',
  );
  out.push(renderTable(['clients', 'completed', 'runs/s', 'median ms', 'p99 ms', 'not completed'], throughputRows('JavaScript', [results.javascript.throughput])), '');

  out.push('## Memory, pool full', '');
  out.push(
    renderTable(
      ['when', 'pool size', 'sandbox host RSS MiB', 'host threads', 'backend RSS MiB', 'target', 'verdict'],
      [results.memory, results.memoryAfter].map((memory, index) => [
        index === 0 ? 'after start' : 'after all Pyodide rows',
        memory.poolSize,
        formatNumber(memory.sandboxHostRssMb, 0),
        memory.sandboxHostThreads ?? '-',
        formatNumber(memory.backendRssMb, 0),
        `host ≤ ${TARGETS.hostRssMb} MiB`,
        verdict(memory.sandboxHostRssMb, TARGETS.hostRssMb),
      ]),
    ),
    '',
  );

  out.push('## Package load', '');
  const inPyodide = results.packages.inPyodide;
  out.push(
    renderTable(
      ['measurement', 'runs', 'median ms', 'p99 ms'],
      [
        ['Pyodide in-process: trivial runPython', inPyodide.plainRun.count, formatNumber(inPyodide.plainRun.medianMs), formatNumber(inPyodide.plainRun.p99Ms)],
        [`Pyodide in-process: first loadPackage(file://, ${inPyodide.wheelBytes} B wheel)`, inPyodide.firstLoadPackage.count, formatNumber(inPyodide.firstLoadPackage.medianMs), formatNumber(inPyodide.firstLoadPackage.p99Ms)],
        ['Pyodide in-process: import of that package', inPyodide.import.count, formatNumber(inPyodide.import.medianMs), formatNumber(inPyodide.import.p99Ms)],
        ['Pyodide in-process: second wheel, same interpreter', inPyodide.secondLoadPackage.count, formatNumber(inPyodide.secondLoadPackage.medianMs), formatNumber(inPyodide.secondLoadPackage.p99Ms)],
      ],
    ),
    '',
  );
  out.push(...productPackageLoadReport(results.packages.product));

  const failures = [...python.ready.failures, ...python.noOutput.failures, ...python.backToBack.failures, ...(results.docker.sequential?.failures ?? [])];
  if (failures.length > 0) {
    out.push(`Runs that did not complete (left out of the latency rows): ${failures.length}: ${[...new Set(failures)].join('; ')}`, '');
  }
  out.push('1-minute load average when each section started:', '');
  out.push(renderTable(['section', 'load average'], results.sectionLoad.map((entry) => [entry.section, entry.loadAverage1m])), '');
  out.push(`load average at the end: ${results.loadAverageAtEnd.join(' ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main() {
  const options = readOptions();
  // Measures a private copy of the build, so another build in this checkout cannot change it midway.
  const build = await freezeBuild();
  const results = {
    command: `npm run bench --${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: describeMachine(build.buildTime),
    options,
    python: {},
    javascript: {},
    docker: {},
    packages: {},
  };

  try {
    // The in-process baselines run before any backend starts, so nothing competes with them.
    progress('baseline: fresh loadPyodide() per run');
    results.baseline = await measureFreshInterpreterBaseline({ runs: options.runs, timeBudgetMs: options.sectionBudgetMs });
    progress('interpreter start-up phases');
    results.startPhases = await measureInterpreterStartPhases({ runs: Math.min(options.runs, 5), timeBudgetMs: options.sectionBudgetMs });
    progress('interpreter refill, step by step');
    results.refillPhases = await measureRefillPhases(build.root, { runs: Math.min(options.runs, 10), timeBudgetMs: options.sectionBudgetMs });
    progress('package load inside Pyodide');
    results.packages.inPyodide = await measurePackageLoadInPyodide({ runs: Math.min(options.runs, 5), timeBudgetMs: options.sectionBudgetMs });

    await benchPyodide(options, results, build.root);
    await benchDocker(options, results, build.root);
  } finally {
    await build.remove();
  }
  results.loadAverageAtEnd = loadavg().map((value) => Number(value.toFixed(2)));
  results.sectionLoad = sectionLoad;

  printReport(options, results);
  if (options.jsonPath) {
    await writeFile(options.jsonPath, `${JSON.stringify(results, null, 2)}\n`);
    progress(`wrote ${options.jsonPath}`);
  }
}

main().catch((error) => {
  process.stderr.write(`bench: failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
