/**
 * The measurements of `npm run bench`, one function per section. Each returns plain
 * objects that bench.mjs prints and can write as JSON; none of them asserts a timing.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fetchHealth, repositoryRoot, waitForFullPool } from './backend.mjs';
import { runClosedLoop } from './clients.mjs';
import { dryRunBody, postDryRun } from './dry-run.mjs';
import { residentMb, threadCount } from './processes.mjs';
import { summarize } from './stats.mjs';

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

/**
 * Package loading through the product. The backend loads only files that Pyodide 0.26.4's
 * lock file lists, checked by sha256, so the benchmark cannot hand it a generated wheel: it
 * measures `import six` when the package cache already contains six, and otherwise returns the reason.
 */
export async function measurePackageLoadInProduct(backend, { runs, timeBudgetMs }) {
  const statusUrl = new URL('api/sandbox/status', backend.url).href;
  const response = await fetch(statusUrl, { signal: AbortSignal.timeout(5_000) });
  if (response.status === 404) {
    return { skipped: 'the backend answers 404 to GET /api/sandbox/status, so it has no Pyodide package cache to load from' };
  }
  const status = await response.json();
  const six = status.packageCache?.packages?.find((entry) => entry.name === 'six');
  if (six?.state !== 'cached') {
    return {
      skipped: `six is not in the package cache (state: ${six?.state ?? 'unknown'}; source: ${status.packageCache?.sourceUrl}). The cache accepts only files listed in Pyodide 0.26.4's lock file with their sha256, so the benchmark cannot supply a generated wheel; fill the cache with npm run pyodide:fetch-packages and pass --package-source file:///that/folder/`,
    };
  }
  const latencies = [];
  const packageLoads = [];
  const startedAt = performance.now();
  for (let run = 0; run < runs && performance.now() - startedAt < timeBudgetMs; run += 1) {
    await waitForFullPool(backend);
    const result = await postDryRun(backend.url, dryRunBody('pythonTrivial', 'import six\ndone({"value": 1})'));
    if (result.httpStatus === 200 && result.runStatus === 'completed') {
      latencies.push(result.latencyMs);
      packageLoads.push(result.packageLoadMs ?? Number.NaN);
    }
  }
  return { latency: summarize(latencies), packageLoad: summarize(packageLoads) };
}

/** `docker run --rm` of the sandbox image with a trivial python3 command, per run. */
export async function measurePlainDockerRun(image, { runs, timeBudgetMs }) {
  const samples = [];
  const startedAt = performance.now();
  for (let run = 0; run < runs && performance.now() - startedAt < timeBudgetMs; run += 1) {
    const runStartedAt = performance.now();
    await execFileAsync(
      'docker',
      ['run', '--rm', '--network=none', '--entrypoint', 'python3', image, '-c', 'print({"value": 1})'],
      { timeout: 60_000 },
    );
    samples.push(performance.now() - runStartedAt);
  }
  return summarize(samples);
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
