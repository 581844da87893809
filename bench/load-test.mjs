/**
 * `npm run loadtest`: many concurrent clients against the real product on 127.0.0.1,
 * mixing trivial Python and JavaScript dry runs with script errors and timeouts. It checks
 * that GET /api/health responds throughout, that every run ends with a clear status, that memory
 * stays bounded and that no worker thread or container is left behind, and exits with 1
 * when a check fails. Traffic goes to 127.0.0.1 only and stops by itself.
 *
 * Usage: npm run loadtest -- [--clients N] [--duration-s S] [--mode pyodide|docker] ...
 *        (npm run loadtest -- --help lists every option)
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify, parseArgs } from 'node:util';
import { fetchHealth, sleep, startBackend, waitForFullPool, waitForHealth } from './lib/backend.mjs';
import { runClosedLoop } from './lib/clients.mjs';
import { dryRunBody, postDryRun, SCRIPTS } from './lib/dry-run.mjs';
import { optionParsers } from './lib/cli.mjs';
import { freezeBuild } from './lib/frozen-build.mjs';
import { describeMachine, formatMachine } from './lib/machine.mjs';
import { residentMb, threadCount } from './lib/processes.mjs';
import { formatNumber, renderTable, summarize } from './lib/stats.mjs';

const { fail, positiveInteger } = optionParsers('loadtest');

const execFileAsync = promisify(execFile);

const USAGE = `Usage: npm run loadtest -- [options]
  --clients N              concurrent clients (default 50)
  --duration-s S           seconds the clients send requests (default 60)
  --mode M                 PYTHON_SANDBOX_MODE: pyodide (default) or docker
  --pool-size N            PYODIDE_POOL_SIZE (default: the product's configuration)
  --script-timeout-ms MS   PYTHON_SANDBOX_TIMEOUT_MS and JAVASCRIPT_TIMEOUT_MS (default 2000)
  --dry-run-timeout-ms MS  DRY_RUN_BLOCK_TIMEOUT_MS, bound on a whole dry run including its wait
                           for a free sandbox (default 30000)
  --health-max-ms MS       slowest health response accepted (default 2000)
  --max-backend-rss-mb MB  largest backend resident size accepted (default 1024)
  --max-host-rss-mb MB     largest sandbox host resident size accepted
                           (default: pool size x the per-run memory cap + 256, both
                           read from the backend's health report)
  --json FILE              also write every result as JSON to FILE`;

// Share of each script in the request mix, in percent.
const MIX = [
  ['pythonTrivial', 40],
  ['javascriptTrivial', 40],
  ['pythonError', 5],
  ['javascriptError', 5],
  ['pythonTimeout', 5],
  ['javascriptTimeout', 5],
];
const EXPECTED_STATUS = {
  pythonTrivial: 'completed',
  javascriptTrivial: 'completed',
  pythonError: 'failed',
  javascriptError: 'failed',
  pythonTimeout: 'timed_out',
  javascriptTimeout: 'timed_out',
};
const FINAL_STATUSES = new Set(['completed', 'failed', 'timed_out', 'cancelled']);
const HEALTH_PROBE_INTERVAL_MS = 500;
// A client honours Retry-After up to this wait, so a long value cannot stall the test.
const MAX_RETRY_AFTER_MS = 5_000;
const HEALTH_PROBE_TIMEOUT_MS = 5_000;
const MEMORY_SAMPLE_INTERVAL_MS = 1_000;
// Time after the last request for the pool to refill and for containers to be removed.
const SETTLE_TIMEOUT_MS = 120_000;
const HOST_BASE_RSS_MB = 256;
const SANDBOX_CONTAINER_LABEL = 'policy-logic-studio.sandbox=1';
// Label of containers the Docker runner creates ahead of its runs. Until a run starts one, it stays in state "created".
const PREPARED_LABEL = 'policy-logic-studio.prepared';

function readOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        clients: { type: 'string' },
        'duration-s': { type: 'string' },
        mode: { type: 'string' },
        'pool-size': { type: 'string' },
        'script-timeout-ms': { type: 'string' },
        'dry-run-timeout-ms': { type: 'string' },
        'health-max-ms': { type: 'string' },
        'max-backend-rss-mb': { type: 'string' },
        'max-host-rss-mb': { type: 'string' },
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
  const mode = parsed.mode ?? 'pyodide';
  if (mode !== 'pyodide' && mode !== 'docker') {
    fail(`--mode must be pyodide or docker, got "${mode}".`);
  }
  const options = {
    clients: positiveInteger('--clients', parsed.clients, 50),
    durationMs: positiveInteger('--duration-s', parsed['duration-s'], 60) * 1000,
    mode,
    poolSize: parsed['pool-size'] === undefined ? undefined : positiveInteger('--pool-size', parsed['pool-size']),
    scriptTimeoutMs: positiveInteger('--script-timeout-ms', parsed['script-timeout-ms'], 2_000),
    dryRunTimeoutMs: positiveInteger('--dry-run-timeout-ms', parsed['dry-run-timeout-ms'], 30_000),
    healthMaxMs: positiveInteger('--health-max-ms', parsed['health-max-ms'], 2_000),
    maxBackendRssMb: positiveInteger('--max-backend-rss-mb', parsed['max-backend-rss-mb'], 1024),
    maxHostRssMb: parsed['max-host-rss-mb'] === undefined ? undefined : positiveInteger('--max-host-rss-mb', parsed['max-host-rss-mb']),
    jsonPath: parsed.json,
  };
  if (options.dryRunTimeoutMs <= options.scriptTimeoutMs) {
    fail(`--dry-run-timeout-ms (${options.dryRunTimeoutMs}) must be larger than --script-timeout-ms (${options.scriptTimeoutMs}), as the backend requires.`);
  }
  return options;
}


function progress(message) {
  process.stderr.write(`loadtest: ${message}\n`);
}

/** Returns a script picker with a fixed seed, so every run of the test sends the same sequence. */
function createScriptPicker(seed) {
  let state = seed >>> 0;
  const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);
  return () => {
    // Numerical Recipes' 32-bit linear congruential generator.
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    let ticket = state % total;
    for (const [name, weight] of MIX) {
      if (ticket < weight) {
        return name;
      }
      ticket -= weight;
    }
    return MIX[0][0];
  };
}

/** Probes GET /api/health every 500 ms until stopped; returns every probe. */
function startHealthProbe(backend) {
  const probes = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const startedAt = performance.now();
      probes.push(await fetchHealth(backend, HEALTH_PROBE_TIMEOUT_MS));
      await sleep(Math.max(0, HEALTH_PROBE_INTERVAL_MS - (performance.now() - startedAt)));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return probes;
    },
  };
}

/** Samples resident memory of the backend and the sandbox host once a second until stopped. */
function startMemorySampler(backend, mode) {
  const samples = [];
  const hostPids = new Set();
  const timer = setInterval(() => {
    const hostPid = mode === 'pyodide' ? backend.sandboxHostPid() : undefined;
    if (hostPid !== undefined) {
      hostPids.add(hostPid);
    }
    samples.push({
      backendRssMb: residentMb(backend.pid),
      hostRssMb: hostPid === undefined ? undefined : residentMb(hostPid),
    });
  }, MEMORY_SAMPLE_INTERVAL_MS);
  return {
    stop: () => {
      clearInterval(timer);
      return { samples, hostPids: [...hostPids] };
    },
  };
}

/**
 * Counts the sandbox containers. `prepared` ones were created ahead of a run and never
 * started. `inUse` counts the others: running, or finished and not yet removed.
 */
async function countSandboxContainers() {
  const format = `{{.State}} {{.Label "${PREPARED_LABEL}"}}`;
  const { stdout } = await execFileAsync('docker', ['ps', '-a', '--filter', `label=${SANDBOX_CONTAINER_LABEL}`, '--format', format], {
    timeout: 30_000,
  });
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  const prepared = lines.filter((line) => line.trim() === 'created 1').length;
  return { prepared, inUse: lines.length - prepared, total: lines.length };
}

/** Counts the threads of the sandbox host (Pyodide) or the sandbox containers (Docker). */
async function countSandboxResources(backend, mode) {
  if (mode === 'docker') {
    return { containers: await countSandboxContainers() };
  }
  const hostPid = backend.sandboxHostPid();
  return { hostPid, hostThreads: hostPid === undefined ? undefined : threadCount(hostPid) };
}

/** Sends one run of each script before the baseline, so lazily started threads already exist. */
async function warmUp(backend) {
  for (const scriptName of Object.keys(SCRIPTS)) {
    if (MIX.some(([name]) => name === scriptName)) {
      await postDryRun(backend.url, dryRunBody(scriptName), { signal: AbortSignal.timeout(SETTLE_TIMEOUT_MS) });
    }
  }
}

/** Waits until the sandbox is idle again: the pool full, or no sandbox container left. */
async function settle(backend, mode) {
  if (mode === 'pyodide') {
    await waitForFullPool(backend, SETTLE_TIMEOUT_MS);
    return;
  }
  const deadline = performance.now() + SETTLE_TIMEOUT_MS;
  while (performance.now() < deadline && (await countSandboxContainers()).inUse > 0) {
    await sleep(500);
  }
}

/** Converts a Retry-After header in seconds to a wait, capped at MAX_RETRY_AFTER_MS. */
function retryDelayMs(retryAfter) {
  const seconds = Number(retryAfter);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : 0;
}

/** Classifies one response: a final status, a clear rejection (429/503), or lost. */
function classify(result) {
  if (result.httpStatus === 200 && FINAL_STATUSES.has(result.runStatus)) {
    return 'final';
  }
  if ((result.httpStatus === 429 || result.httpStatus === 503) && result.retryAfter) {
    return 'refused';
  }
  return 'lost';
}

function buildChecks(options, run) {
  const checks = [];
  const add = (name, passed, detail) => checks.push({ name, passed, detail });

  const failedProbes = run.probes.filter((probe) => probe.httpStatus !== 200);
  const probeMaxMs = Math.max(...run.probes.map((probe) => probe.latencyMs));
  add('health answered every probe', failedProbes.length === 0 && run.probes.length > 0, `${run.probes.length} probes, ${failedProbes.length} without an answer`);
  add(`slowest health answer ≤ ${options.healthMaxMs} ms`, probeMaxMs <= options.healthMaxMs, `max ${formatNumber(probeMaxMs)} ms`);

  const lost = run.results.filter((result) => classify(result) === 'lost');
  add('every run ended with a clear status', lost.length === 0, `${lost.length} of ${run.results.length} lost${lost.length > 0 ? `: ${describeLost(lost)}` : ''}`);

  const wrong = run.results.filter(
    (result) =>
      classify(result) === 'final' && result.runStatus !== EXPECTED_STATUS[result.scriptName] && !isDryRunBoundTimeout(result, options),
  );
  add('every final status matches its script', wrong.length === 0, `${wrong.length} unexpected${wrong.length > 0 ? `: ${describeWrong(wrong)}` : ''}`);

  const maxBackendRss = Math.max(...run.memory.samples.map((sample) => sample.backendRssMb ?? 0));
  add(`backend RSS ≤ ${options.maxBackendRssMb} MiB`, maxBackendRss <= options.maxBackendRssMb, `max ${formatNumber(maxBackendRss, 0)} MiB`);

  if (options.mode === 'pyodide') {
    // NOTE: an estimate. Interpreters busy with a run come on top of the pool size, because
    // the runner starts a replacement when a run ends or 100 ms into it.
    const hostLimitMb = options.maxHostRssMb ?? Math.round(run.poolSize * run.memoryLimitMb + HOST_BASE_RSS_MB);
    const maxHostRss = Math.max(...run.memory.samples.map((sample) => sample.hostRssMb ?? 0));
    add(`sandbox host RSS ≤ ${hostLimitMb} MiB`, maxHostRss <= hostLimitMb, `max ${formatNumber(maxHostRss, 0)} MiB`);
    add('sandbox host never restarted', run.memory.hostPids.length === 1, `host pids seen: ${run.memory.hostPids.join(', ') || 'none'}`);
    const { hostThreads: before } = run.resourcesBefore;
    const { hostThreads: after } = run.resourcesAfter;
    add('no worker threads left behind', after !== undefined && before !== undefined && after <= before, `host threads ${before} before, ${after} after`);
  } else {
    const during = run.resourcesAfter.containers;
    add('no sandbox container in use after the test', during.inUse === 0, `${during.inUse} in use, ${during.prepared} prepared for the next runs`);
    const stopped = run.containersAfterStop;
    add('no sandbox container left after the backend stopped', stopped?.total === 0, `${stopped?.total ?? 'not counted'} with label ${SANDBOX_CONTAINER_LABEL}`);
  }
  return checks;
}

/**
 * Tells whether a run ended `timed_out` at the dry-run bound, which under overload means it
 * waited for a free sandbox until the whole dry run timed out. That is a clear status, so
 * the report counts it and the status check accepts it for every script.
 */
function isDryRunBoundTimeout(result, options) {
  // durationMs is rounded to whole milliseconds, and the bound fires on a timer.
  return result.runStatus === 'timed_out' && result.durationMs >= options.dryRunTimeoutMs - 100;
}

function describeLost(lost) {
  const reasons = lost.map((result) => (result.httpStatus === 0 ? `no answer (${result.error})` : `HTTP ${result.httpStatus}, status ${result.runStatus ?? '-'}, Retry-After ${result.retryAfter ?? '-'}`));
  return [...new Set(reasons)].slice(0, 5).join('; ');
}

function describeWrong(wrong) {
  const reasons = wrong.map(
    (result) => `${result.scriptName} ended ${result.runStatus}${result.errorType ? ` (${result.errorType}: ${result.errorMessage ?? ''})` : ''}`,
  );
  return [...new Set(reasons)].slice(0, 5).join('; ');
}

function printReport(options, run, checks) {
  const out = [`# npm run loadtest`, '', `command: ${run.command}`, formatMachine(run.machine), ''];
  out.push(
    `${options.clients} clients for ${options.durationMs / 1000} s, mode ${options.mode}, pool size ${run.poolSize ?? '-'}, script timeout ${options.scriptTimeoutMs} ms, dry-run timeout ${options.dryRunTimeoutMs} ms`,
    '',
  );

  const rows = MIX.map(([scriptName]) => {
    const ofScript = run.results.filter((result) => result.scriptName === scriptName);
    const count = (predicate) => ofScript.filter(predicate).length;
    const latency = summarize(ofScript.filter((result) => classify(result) === 'final').map((result) => result.latencyMs));
    return [
      scriptName,
      ofScript.length,
      count((result) => result.runStatus === 'completed'),
      count((result) => result.runStatus === 'failed'),
      count((result) => result.runStatus === 'timed_out'),
      count((result) => classify(result) === 'refused'),
      count((result) => classify(result) === 'lost'),
      formatNumber(latency.medianMs),
      formatNumber(latency.p99Ms),
    ];
  });
  out.push(renderTable(['script', 'requests', 'completed', 'failed', 'timed_out', '429/503', 'lost', 'median ms', 'p99 ms'], rows), '');

  const boundTimeouts = run.results.filter((result) => isDryRunBoundTimeout(result, options));
  if (boundTimeouts.length > 0) {
    const byScript = MIX.map(([scriptName]) => `${scriptName} ${boundTimeouts.filter((result) => result.scriptName === scriptName).length}`);
    out.push(
      `${boundTimeouts.length} runs ended timed_out at the dry-run timeout (${options.dryRunTimeoutMs} ms), most of it spent waiting for a free sandbox: ${byScript.join(', ')}.`,
      '',
    );
  }
  const probeLatency = summarize(run.probes.filter((probe) => probe.httpStatus === 200).map((probe) => probe.latencyMs));
  const backendRss = summarize(run.memory.samples.map((sample) => sample.backendRssMb).filter((value) => value !== undefined));
  const hostRss = summarize(run.memory.samples.map((sample) => sample.hostRssMb).filter((value) => value !== undefined));
  out.push(
    renderTable(
      ['measurement', 'samples', 'median', 'max'],
      [
        ['health latency, ms', probeLatency.count, formatNumber(probeLatency.medianMs), formatNumber(probeLatency.maxMs)],
        ['backend RSS, MiB', backendRss.count, formatNumber(backendRss.medianMs, 0), formatNumber(backendRss.maxMs, 0)],
        ['sandbox host RSS, MiB', hostRss.count, formatNumber(hostRss.medianMs, 0), formatNumber(hostRss.maxMs, 0)],
      ],
    ),
    '',
  );

  out.push(renderTable(['check', 'result', 'detail'], checks.map((check) => [check.name, check.passed ? 'PASS' : 'FAIL', check.detail])), '');
  const failed = checks.filter((check) => !check.passed).length;
  out.push(failed === 0 ? 'All checks passed.' : `${failed} check(s) failed.`);
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main() {
  const options = readOptions();
  const env = {
    PYTHON_SANDBOX_MODE: options.mode,
    PYTHON_SANDBOX_TIMEOUT_MS: String(options.scriptTimeoutMs),
    JAVASCRIPT_TIMEOUT_MS: String(options.scriptTimeoutMs),
    DRY_RUN_BLOCK_TIMEOUT_MS: String(options.dryRunTimeoutMs),
  };
  if (options.poolSize !== undefined) {
    env.PYODIDE_POOL_SIZE = String(options.poolSize);
  }
  // Runs a private copy of the build, so another build in this checkout cannot change it midway.
  const build = await freezeBuild();
  const run = {
    command: `npm run loadtest --${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: describeMachine(build.buildTime),
    options,
  };

  progress(`starting the backend (${options.mode} mode)`);
  const backend = await startBackend({ env, root: build.root, label: `${options.mode}-mode backend` }).catch(async (error) => {
    await build.remove();
    throw error;
  });
  let checks;
  try {
    const health = await waitForHealth(backend, (report) => report.ready === true, SETTLE_TIMEOUT_MS);
    run.poolSize = health.python?.poolSize;
    // PYODIDE_MEMORY_LIMIT_MB as the runner reports it, in bytes.
    run.memoryLimitMb = (health.python?.memoryLimitBytes ?? 0) / 1024 ** 2;
    progress('warm-up runs');
    await warmUp(backend);
    await settle(backend, options.mode);
    run.resourcesBefore = await countSandboxResources(backend, options.mode);

    progress(`${options.clients} clients for ${options.durationMs / 1000} s`);
    const probe = startHealthProbe(backend);
    const memory = startMemorySampler(backend, options.mode);
    const pickScript = createScriptPicker(42);
    // A client waits for its response until the dry-run timeout, plus time for the response to arrive.
    const requestTimeoutMs = options.dryRunTimeoutMs + 30_000;
    const { results } = await runClosedLoop({
      clients: options.clients,
      windowMs: options.durationMs,
      drainMs: requestTimeoutMs,
      sendRequest: async (signal) => {
        const scriptName = pickScript();
        const result = await postDryRun(backend.url, dryRunBody(scriptName), {
          signal: AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
        });
        if (classify(result) === 'refused') {
          await sleep(retryDelayMs(result.retryAfter));
        }
        return { ...result, scriptName };
      },
    });
    run.results = results;

    progress('waiting for the sandbox to settle');
    await settle(backend, options.mode).catch((error) => progress(`the sandbox did not settle: ${error.message}`));
    run.probes = await probe.stop();
    run.memory = memory.stop();
    run.resourcesAfter = await countSandboxResources(backend, options.mode);
    checks = buildChecks(options, run);
  } finally {
    await backend.stop();
    await build.remove();
  }
  if (options.mode === 'docker' && checks !== undefined) {
    // Stopping the backend must also remove the containers it prepared.
    run.containersAfterStop = await countSandboxContainers();
    checks = buildChecks(options, run);
  }

  printReport(options, run, checks);
  if (options.jsonPath) {
    await writeFile(options.jsonPath, `${JSON.stringify({ ...run, checks }, null, 2)}\n`);
    progress(`wrote ${options.jsonPath}`);
  }
  process.exitCode = checks.every((check) => check.passed) ? 0 : 1;
}

main().catch((error) => {
  process.stderr.write(`loadtest: failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
