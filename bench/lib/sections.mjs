/**
 * The measurements of `npm run bench`, one function per section. Each returns plain
 * objects that bench.mjs prints and can write as JSON; none of them asserts a timing.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { assertLoopback, fetchHealth, repositoryRoot, startBackend, waitForFullPool } from './backend.mjs';
import { runClosedLoop } from './clients.mjs';
import { dryRunBody, postDryRun } from './dry-run.mjs';
import { residentMb, threadCount } from './processes.mjs';
import { summarize } from './stats.mjs';
import { writeBenchmarkWheel } from './wheel.mjs';

const execFileAsync = promisify(execFile);

/**
 * Sequential dry runs of one script. With `waitForReadyPool`, each run starts only once
 * every interpreter is ready again, as when an author presses Test every few seconds.
 * The wait, from the previous response until the pool is full, is recorded as the refill
 * time (50 ms polling resolution) and is not part of the latency.
 */
export async function measureSequential(backend, scriptName, { runs, timeBudgetMs, waitForReadyPool = false }) {
  const latencies = [];
  const serviceDurations = [];
  const overheads = [];
  const refillMs = [];
  const failures = [];
  const startedAt = performance.now();

  for (let run = 0; run < runs && performance.now() - startedAt < timeBudgetMs; run += 1) {
    if (waitForReadyPool) {
      const waitStartedAt = performance.now();
      await waitForFullPool(backend);
      if (run > 0) {
        refillMs.push(performance.now() - waitStartedAt);
      }
    }
    const result = await postDryRun(backend.url, dryRunBody(scriptName), { signal: AbortSignal.timeout(timeBudgetMs) });
    if (result.httpStatus !== 200 || (result.runStatus !== 'completed' && !scriptName.endsWith('Error'))) {
      failures.push(describeFailure(result));
      continue;
    }
    latencies.push(result.latencyMs);
    serviceDurations.push(result.durationMs);
    overheads.push(result.latencyMs - result.durationMs);
  }
  return {
    scriptName,
    latency: summarize(latencies),
    service: summarize(serviceDurations),
    // Time outside the service's own measurement: HTTP, body parsing and validation, JSON.
    overhead: summarize(overheads),
    refill: summarize(refillMs),
    failures,
  };
}

/** Sustained runs per second with `clients` closed-loop clients during `windowMs`. */
export async function measureThroughput(backend, scriptName, { clients, windowMs }) {
  const body = dryRunBody(scriptName);
  const { results, elapsedMs } = await runClosedLoop({
    clients,
    windowMs,
    sendRequest: (signal) => postDryRun(backend.url, body, { signal }),
  });
  const completed = results.filter((result) => result.inWindow && result.httpStatus === 200 && result.runStatus === 'completed');
  const otherAnswers = results.filter((result) => result.inWindow && !completed.includes(result));
  const abortedAtWindowEnd = results.filter((result) => result.error === 'aborted').length;
  return {
    scriptName,
    clients,
    windowMs: elapsedMs,
    completed: completed.length,
    runsPerSecond: completed.length / (elapsedMs / 1000),
    latency: summarize(completed.map((result) => result.latencyMs)),
    otherAnswers: otherAnswers.map(describeFailure),
    abortedAtWindowEnd,
  };
}

/** Resident memory and threads of the backend and its sandbox host, with the pool full. */
export async function measureMemory(backend) {
  const report = await waitForFullPool(backend);
  const hostPid = backend.sandboxHostPid();
  return {
    poolSize: report.python?.poolSize,
    readyWorkers: report.python?.readyWorkers,
    backendRssMb: residentMb(backend.pid),
    sandboxHostPid: hostPid,
    sandboxHostRssMb: hostPid === undefined ? undefined : residentMb(hostPid),
    sandboxHostThreads: hostPid === undefined ? undefined : threadCount(hostPid),
  };
}

/** Runs a benchmark helper script in its own Node process and parses its JSON line. */
async function runHelper(script, args, timeoutMs) {
  const { stdout } = await execFileAsync(process.execPath, [path.join(repositoryRoot, 'bench', script), ...args.map(String)], {
    cwd: repositoryRoot,
    timeout: timeoutMs,
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

/** Guardian's way: a fresh `loadPyodide()` per run, measured in a separate process. */
export async function measureFreshInterpreterBaseline({ runs, timeBudgetMs }) {
  const { samplesMs } = await runHelper('pyodide-baseline.mjs', [runs, timeBudgetMs], timeBudgetMs + 60_000);
  return summarize(samplesMs);
}

/** Start-up of one interpreter, split: wasm compilation, plain start, start from a memory snapshot. */
export async function measureInterpreterStartPhases({ runs, timeBudgetMs }) {
  const samples = await runHelper('pyodide-start-phases.mjs', [runs, timeBudgetMs], 3 * timeBudgetMs + 120_000);
  return {
    wasmBytes: samples.wasmBytes,
    snapshotBytes: samples.snapshotBytes,
    makeSnapshotMs: samples.makeSnapshotMs,
    compileWasm: summarize(samples.compileWasmMs),
    loadPyodide: summarize(samples.loadPyodideMs),
    loadFromSnapshot: summarize(samples.loadFromSnapshotMs),
  };
}

/**
 * Times each step of one interpreter refill, in worker threads started one after another
 * from the build under `buildRoot`, and the process CPU time of each worker's life.
 */
export async function measureRefillPhases(buildRoot, { runs, timeBudgetMs }) {
  const samples = await runHelper('pyodide-refill-phases.mjs', [runs, timeBudgetMs, buildRoot], timeBudgetMs + 180_000);
  const phases = { snapshotBytes: samples.snapshotBytes };
  for (const [name, values] of Object.entries(samples)) {
    if (name.endsWith('Ms')) {
      phases[name.slice(0, -2)] = summarize(values);
    }
  }
  return phases;
}

/** Pyodide's own cost of installing and importing a small pure-Python wheel from file://. */
export async function measurePackageLoadInPyodide({ runs, timeBudgetMs }) {
  const samples = await runHelper('pyodide-package-load.mjs', [runs, timeBudgetMs], timeBudgetMs + 60_000);
  return {
    wheelBytes: samples.wheelBytes,
    plainRun: summarize(samples.plainRunMs),
    firstLoadPackage: summarize(samples.firstLoadPackageMs),
    import: summarize(samples.importMs),
    secondLoadPackage: summarize(samples.secondLoadPackageMs),
  };
}

/** Distribution and module name of the generated wheel that the product loads. */
const OPERATOR_PACKAGE = 'plsbench_factors';

/**
 * Measures package loading through the product with no network. Writes a generated pure-Python
 * wheel into a temporary package cache, lists it in a temporary PYODIDE_EXTRA_LOCK_FILE,
 * and starts a Pyodide-mode backend of the build under `root` with those two variables.
 * Then alternates trivial dry runs with dry runs that import the wheel, each on a full
 * pool. Returns both series and the service's packageLoadMs (sha256 check and
 * loadPackage) of the import runs, or `failed` with the reason when the backend did not start.
 */
export async function measurePackageLoadInProduct({ root, poolSize = 2, runs, timeBudgetMs }) {
  const folder = await mkdtemp(path.join(tmpdir(), 'pls-bench-operator-'));
  let setup;
  let backend;
  try {
    setup = await writeOperatorPackage(folder);
    backend = await startBackend({
      root,
      label: 'Pyodide-mode backend with an operator package',
      env: {
        PYTHON_SANDBOX_MODE: 'pyodide',
        PYODIDE_POOL_SIZE: String(poolSize),
        PYODIDE_PACKAGE_BASE_URL: 'none',
        PYODIDE_PACKAGE_CACHE_DIR: setup.cacheDir,
        PYODIDE_EXTRA_LOCK_FILE: setup.lockFile,
      },
    });
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    return { failed: error.message };
  }
  try {
    await waitForCachedPackage(backend, setup.wheel.moduleName);
    const samples = await alternateTrivialAndImport(backend, setup.wheel.moduleName, { runs, timeBudgetMs });
    return {
      wheelBytes: setup.wheel.bytes,
      moduleName: setup.wheel.moduleName,
      poolSize,
      trivial: { latency: summarize(samples.trivialLatency), service: summarize(samples.trivialService) },
      imported: {
        latency: summarize(samples.importLatency),
        service: summarize(samples.importService),
        packageLoad: summarize(samples.packageLoad),
      },
      failures: samples.failures,
    };
  } finally {
    await backend.stop();
    await rm(folder, { recursive: true, force: true });
  }
}

/** Writes the wheel into `<folder>/cache` and its lock entry into `<folder>/operator-lock.json`. */
async function writeOperatorPackage(folder) {
  const cacheDir = path.join(folder, 'cache');
  await mkdir(cacheDir);
  const wheel = await writeBenchmarkWheel(cacheDir, OPERATOR_PACKAGE);
  const entry = {
    name: OPERATOR_PACKAGE,
    version: wheel.version,
    file_name: wheel.fileName,
    install_dir: 'site',
    sha256: wheel.sha256,
    package_type: 'package',
    imports: [wheel.moduleName],
    depends: [],
  };
  const lockFile = path.join(folder, 'operator-lock.json');
  await writeFile(lockFile, JSON.stringify({ packages: { [OPERATOR_PACKAGE.replaceAll('_', '-')]: entry } }, null, 2));
  return { cacheDir, lockFile, wheel };
}

/** Waits until the warm-up has verified the wheel, so its hashing does not overlap the first runs. */
async function waitForCachedPackage(backend, packageName, timeoutMs = 60_000) {
  const statusUrl = new URL('api/sandbox/status', backend.url).href;
  assertLoopback(statusUrl);
  const startedAt = performance.now();
  let state;
  while (performance.now() - startedAt < timeoutMs) {
    const response = await fetch(statusUrl, { signal: AbortSignal.timeout(5_000) });
    const status = await response.json();
    state = status.packageCache?.packages?.find((entry) => entry.name === packageName)?.state;
    if (state === 'cached') {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${packageName} did not reach the state cached in the package cache within ${timeoutMs} ms (last state: ${state ?? 'not listed'})`);
}

/** Alternates the two scripts, so load on a shared machine affects both series alike. */
async function alternateTrivialAndImport(backend, moduleName, { runs, timeBudgetMs }) {
  const samples = { trivialLatency: [], trivialService: [], importLatency: [], importService: [], packageLoad: [], failures: [] };
  const importBody = dryRunBody('pythonTrivial', `import ${moduleName}\ndone({"value": ${moduleName}.TOTAL})`);
  const startedAt = performance.now();
  for (let run = 0; run < runs && performance.now() - startedAt < timeBudgetMs; run += 1) {
    await waitForFullPool(backend);
    const trivial = await postDryRun(backend.url, dryRunBody('pythonTrivial'));
    if (trivial.httpStatus === 200 && trivial.runStatus === 'completed') {
      samples.trivialLatency.push(trivial.latencyMs);
      samples.trivialService.push(trivial.durationMs);
    } else {
      samples.failures.push(`trivial: ${describeFailure(trivial)}`);
    }

    await waitForFullPool(backend);
    const imported = await postDryRun(backend.url, importBody);
    if (imported.httpStatus === 200 && imported.runStatus === 'completed' && imported.packages?.includes(moduleName)) {
      samples.importLatency.push(imported.latencyMs);
      samples.importService.push(imported.durationMs);
      samples.packageLoad.push(imported.packageLoadMs ?? Number.NaN);
    } else {
      samples.failures.push(`import ${moduleName}: ${describeFailure(imported)}, packages ${JSON.stringify(imported.packages)}`);
    }
  }
  return samples;
}

/** Runs the trivial script with `docker run --rm` of the image and no network, as a plain Docker user would. */
function runPlainDocker(image) {
  return execFileAsync('docker', ['run', '--rm', '--network=none', '--entrypoint', 'python3', image, '-c', 'print({"value": 1})'], {
    timeout: 60_000,
  });
}

/** `docker run --rm` of the sandbox image with a trivial python3 command, per run. */
export async function measurePlainDockerRun(image, { runs, timeBudgetMs }) {
  const samples = [];
  const startedAt = performance.now();
  for (let run = 0; run < runs && performance.now() - startedAt < timeBudgetMs; run += 1) {
    const runStartedAt = performance.now();
    await runPlainDocker(image);
    samples.push(performance.now() - runStartedAt);
  }
  return summarize(samples);
}

/**
 * Closed-loop clients that each run `docker run --rm` of the image, one after another, for
 * the window: the baseline for the Docker mode's sustained runs. Runs still going at the
 * end of the window finish (at most 60 s more) but are not counted.
 */
export async function measurePlainDockerThroughput(image, { clients, windowMs }) {
  const { results, elapsedMs } = await runClosedLoop({
    clients,
    windowMs,
    drainMs: 60_000,
    sendRequest: async () => {
      const startedAt = performance.now();
      try {
        await runPlainDocker(image);
        return { ok: true, latencyMs: performance.now() - startedAt };
      } catch (error) {
        return { ok: false, error: firstLine(error.stderr || error.message) };
      }
    },
  });
  const completed = results.filter((result) => result.inWindow && result.ok);
  const failed = results.filter((result) => result.inWindow && !result.ok);
  return {
    clients,
    windowMs: elapsedMs,
    completed: completed.length,
    runsPerSecond: completed.length / (elapsedMs / 1000),
    latency: summarize(completed.map((result) => result.latencyMs)),
    otherAnswers: failed.map((result) => result.error),
    abortedAtWindowEnd: results.filter((result) => !result.inWindow).length,
  };
}

/** Returns a reason when Docker mode cannot be measured here, or undefined when it can. */
export async function dockerUnavailableReason(image) {
  try {
    await execFileAsync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 });
  } catch (error) {
    return `no Docker engine responds (${firstLine(error.stderr || error.message)}); run bash scripts/docker-engine.sh`;
  }
  try {
    await execFileAsync('docker', ['image', 'inspect', image], { timeout: 10_000 });
  } catch {
    return `the image ${image} is missing; run bash scripts/docker-engine.sh`;
  }
  return undefined;
}

/** Latency of GET /api/health, a cheap request that runs no script. */
export async function measureHealthLatency(backend, runs) {
  const samples = [];
  for (let run = 0; run < runs; run += 1) {
    const result = await fetchHealth(backend);
    if (result.httpStatus === 200) {
      samples.push(result.latencyMs);
    }
  }
  return summarize(samples);
}

function describeFailure(result) {
  if (result.httpStatus === 0) {
    return `no answer: ${result.error}`;
  }
  const error = result.errorType ? `, ${result.errorType}${result.errorMessage ? `: ${result.errorMessage}` : ''}` : '';
  return `HTTP ${result.httpStatus}, status ${result.runStatus ?? '-'}${error}`;
}

function firstLine(text) {
  return String(text).trim().split('\n')[0];
}
