/**
 * Benchmark of the Pyodide pool: single-use interpreters started from the shared
 * WebAssembly module and memory snapshot, against a full `loadPyodide()` per worker and
 * against a fresh interpreter per run without any pool.
 *
 * Measures through `PyodideRunner` and through the HTTP API (POST /api/dry-run on
 * 127.0.0.1). It measures trivial-run latency with a ready pool and sustained runs per
 * second with 1, 4 and 16 closed-loop clients. It also measures the time and sandbox-host
 * CPU to refill one interpreter, and the sandbox host's resident memory with 4 ready ones.
 * Every round repeats all sections, and the summary gives the median over rounds. Prints tables, and
 * the raw numbers as JSON with --json FILE. Asserts nothing.
 *
 * Usage: npm run build -w packages/shared && npm run build -w apps/backend
 *        node bench/pyodide-pool.mjs [--rounds 3] [--runs 30] [--window-ms 10000] [--json FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { startBackend, waitForFullPool } from './lib/backend.mjs';
import { runClosedLoop } from './lib/clients.mjs';
import { freezeBuild } from './lib/frozen-build.mjs';
import { findSandboxHostPid, residentMb } from './lib/processes.mjs';
import { measureFreshInterpreterBaseline, measureSequential, measureThroughput } from './lib/sections.mjs';
import { formatNumber, renderTable, summarize } from './lib/stats.mjs';

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '30' },
    'window-ms': { type: 'string', default: '10000' },
    'baseline-runs': { type: 'string', default: '5' },
    json: { type: 'string' },
  },
});
const rounds = positiveInteger('--rounds', options.rounds);
const sequentialRuns = positiveInteger('--runs', options.runs);
const windowMs = positiveInteger('--window-ms', options['window-ms']);
const baselineRuns = positiveInteger('--baseline-runs', options['baseline-runs']);
const CLIENT_COUNTS = [1, 4, 16];
// Full-load refills take seconds each on a loaded machine, so only a few are sampled.
const FULL_LOAD_REFILLS = 3;
const POLL_INTERVAL_MS = 2;
const RUN_TIMEOUT_MS = 60_000;
// /proc/<pid>/stat counts CPU time in clock ticks, which are 100 per second on common Linux builds.
const CLOCK_TICKS_PER_SECOND = 100;

// A private copy of the build: another build in this checkout midway would mix two versions
// of the sandbox code in one measurement.
const build = await freezeBuild();
const { PyodideRunner } = await import(path.join(build.root, 'apps/backend/dist/execution/pyodide/pyodide-runner.js'));

function positiveInteger(flag, raw) {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`${flag} must be a positive whole number, got "${raw}"\n`);
    process.exit(2);
  }
  return value;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** CPU time (user plus system) a process has used, in milliseconds, or undefined when it is gone. */
function processCpuMs(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

function trivialRequest() {
  return {
    runId: randomUUID(),
    script: 'done({"value": documents[0]["value"]})',
    prelude: '',
    input: { documents: [{ value: 1 }], user: {}, artifacts: [], sources: [], tables: {} },
    limits: { stdoutMaxChars: 1_000_000, valueMaxBytes: 5_000_000, maxEvents: 10_000 },
  };
}

async function runTrivial(runner) {
  const startedAt = performance.now();
  let value;
  const outcome = await runner.run(trivialRequest(), {
    timeoutMs: RUN_TIMEOUT_MS,
    signal: new AbortController().signal,
    onEvent: (event) => {
      if (event.type === 'sandbox:done') {
        value = event.value;
      }
    },
  });
  const ok = outcome.kind === 'exited' && value?.value === 1;
  return { ok, latencyMs: performance.now() - startedAt, outcome };
}

async function waitForFullRunnerPool(runner, timeoutMs = 300_000) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const health = runner.health();
    if (health.readyWorkers >= health.poolSize) {
      return;
    }
    await sleep(POLL_INTERVAL_MS);
  }
  throw new Error(`the Pyodide pool did not fill within ${timeoutMs} ms: ${JSON.stringify(runner.health())}`);
}

async function startRunner(poolSize, interpreterStart, maxQueuedRuns = 32) {
  const runner = new PyodideRunner({ poolSize, interpreterStart, maxQueuedRuns });
  const startedAt = performance.now();
  await runner.start();
  await waitForFullRunnerPool(runner);
  return { runner, fullPoolAfterMs: performance.now() - startedAt, hostPid: findSandboxHostPid(process.pid) };
}

/**
 * Sequential trivial runs, each on a full pool. The wait from the end of a run until the
 * pool is full again is one refill, and the sandbox host's CPU time in that wait is its cost.
 */
async function measureRunnerSequential(runner, hostPid, runs) {
  const latencies = [];
  const refills = [];
  const refillCpu = [];
  let failures = 0;
  for (let run = 0; run < runs; run += 1) {
    const result = await runTrivial(runner);
    if (!result.ok) {
      failures += 1;
    }
    latencies.push(result.latencyMs);

    const cpuBefore = processCpuMs(hostPid);
    const refillStartedAt = performance.now();
    await waitForFullRunnerPool(runner);
    refills.push(performance.now() - refillStartedAt);
    refillCpu.push(processCpuMs(hostPid) - cpuBefore);
  }
  return { latency: summarize(latencies), refill: summarize(refills), refillCpu: summarize(refillCpu), failures };
}

async function measureRunnerThroughput(runner, clients) {
  const { results, elapsedMs } = await runClosedLoop({
    clients,
    windowMs,
    drainMs: RUN_TIMEOUT_MS,
    sendRequest: async () => {
      try {
        return await runTrivial(runner);
      } catch (error) {
        return { ok: false, busy: error.name === 'ServiceBusyError', latencyMs: 0 };
      }
    },
  });
  const completed = results.filter((result) => result.inWindow && result.ok);
  await waitForFullRunnerPool(runner);
  return {
    clients,
    runsPerSecond: completed.length / (elapsedMs / 1000),
    latency: summarize(completed.map((result) => result.latencyMs)),
    busy: results.filter((result) => result.busy).length,
    failed: results.filter((result) => !result.ok && !result.busy).length,
  };
}

async function measureRunnerRound() {
  const snapshotPool = await startRunner(2, 'snapshot');
  const sequential = await measureRunnerSequential(snapshotPool.runner, snapshotPool.hostPid, sequentialRuns);
  const throughput = [];
  for (const clients of CLIENT_COUNTS) {
    throughput.push(await measureRunnerThroughput(snapshotPool.runner, clients));
  }
  await snapshotPool.runner.close();

  const fullLoadPool = await startRunner(2, 'full-load');
  const fullLoad = await measureRunnerSequential(fullLoadPool.runner, fullLoadPool.hostPid, FULL_LOAD_REFILLS);
  await fullLoadPool.runner.close();

  const memory = {};
  for (const interpreterStart of ['snapshot', 'full-load']) {
    const pool = await startRunner(4, interpreterStart);
    await sleep(1_000);
    memory[interpreterStart] = { sandboxHostRssMb: residentMb(pool.hostPid), fullPoolAfterMs: pool.fullPoolAfterMs };
    await pool.runner.close();
  }
  return { sequential, throughput, fullLoad, memory, hostStartMs: snapshotPool.fullPoolAfterMs };
}

async function measureHttpRound() {
  const backend = await startBackend({ env: { PYTHON_SANDBOX_MODE: 'pyodide', LOG_LEVEL: 'warn' }, root: build.root, label: 'pyodide-pool' });
  try {
    await waitForFullPool(backend);
    const readyPool = await measureSequential(backend, 'pythonTrivial', { runs: sequentialRuns, timeBudgetMs: 300_000, waitForReadyPool: true });
    const backToBack = await measureSequential(backend, 'pythonTrivial', { runs: sequentialRuns, timeBudgetMs: 300_000 });
    // Without done() the service builds and signs no output document, which isolates the sandbox's share.
    const noOutput = await measureSequential(backend, 'pythonNoOutput', { runs: sequentialRuns, timeBudgetMs: 300_000, waitForReadyPool: true });
    const throughput = [];
    for (const clients of CLIENT_COUNTS) {
      await waitForFullPool(backend);
      const result = await measureThroughput(backend, 'pythonTrivial', { clients, windowMs });
      throughput.push({ ...result, busy: result.otherAnswers.filter((answer) => answer.includes('503')).length });
    }
    return { readyPool, backToBack, noOutput, throughput };
  } finally {
    await backend.stop();
  }
}

function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) {
    return Number.NaN;
  }
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function loadAverage() {
  return os.loadavg().map((value) => value.toFixed(2)).join(' ');
}

function printSummary(results, baseline) {
  const pick = (select) => formatNumber(median(results.map(select)), 1);
  const rows = [
    ['runner: trivial run, ready pool, p50 (ms)', pick((round) => round.runner.sequential.latency.medianMs)],
    ['runner: trivial run, ready pool, p99 (ms)', pick((round) => round.runner.sequential.latency.p99Ms)],
    ['runner: refill one interpreter, snapshot, p50 wall (ms)', pick((round) => round.runner.sequential.refill.medianMs)],
    ['runner: refill one interpreter, snapshot, p50 host CPU (ms)', pick((round) => round.runner.sequential.refillCpu.medianMs)],
    ['runner: refill one interpreter, full load, p50 wall (ms)', pick((round) => round.runner.fullLoad.refill.medianMs)],
    ['runner: refill one interpreter, full load, p50 host CPU (ms)', pick((round) => round.runner.fullLoad.refillCpu.medianMs)],
    ['sandbox host RSS, 4 ready, snapshot (MiB)', pick((round) => round.runner.memory.snapshot.sandboxHostRssMb)],
    ['sandbox host RSS, 4 ready, full load (MiB)', pick((round) => round.runner.memory['full-load'].sandboxHostRssMb)],
    ['HTTP: trivial dry run, ready pool, p50 (ms)', pick((round) => round.http.readyPool.latency.medianMs)],
    ['HTTP: trivial dry run, ready pool, p99 (ms)', pick((round) => round.http.readyPool.latency.p99Ms)],
    ['HTTP: dry run without output document, ready pool, p50 (ms)', pick((round) => round.http.noOutput.latency.medianMs)],
    ['HTTP: dry run without output document, ready pool, p99 (ms)', pick((round) => round.http.noOutput.latency.p99Ms)],
    ['HTTP: trivial dry run, back to back, p50 (ms)', pick((round) => round.http.backToBack.latency.medianMs)],
    ['HTTP: trivial dry run, back to back, p99 (ms)', pick((round) => round.http.backToBack.latency.p99Ms)],
  ];
  CLIENT_COUNTS.forEach((clients, index) => {
    rows.push([`runner: runs/s, ${clients} clients`, pick((round) => round.runner.throughput[index].runsPerSecond)]);
    rows.push([`HTTP: runs/s, ${clients} clients`, pick((round) => round.http.throughput[index].runsPerSecond)]);
    rows.push([`HTTP: 503 answers, ${clients} clients`, pick((round) => round.http.throughput[index].busy)]);
  });
  rows.push(['fresh interpreter per run (no pool), p50 (ms)', formatNumber(baseline.medianMs, 1)]);
  const httpMedian = median(results.map((round) => round.http.readyPool.latency.medianMs));
  rows.push(['speed-up of HTTP p50 over a fresh interpreter', `${formatNumber(baseline.medianMs / httpMedian, 1)}x`]);
  process.stdout.write(`\nMedians over ${results.length} round(s)\n${renderTable(['measure', 'value'], rows)}\n`);
}

const results = [];
for (let round = 1; round <= rounds; round += 1) {
  const loadBefore = loadAverage();
  process.stderr.write(`round ${round}/${rounds}: load average ${loadBefore}\n`);
  const runner = await measureRunnerRound();
  const http = await measureHttpRound();
  results.push({ round, loadAverageBefore: loadBefore, loadAverageAfter: loadAverage(), runner, http });
  process.stderr.write(`round ${round}/${rounds} done: load average ${loadAverage()}\n`);
}
const baseline = await measureFreshInterpreterBaseline({ runs: baselineRuns, timeBudgetMs: 120_000 });
printSummary(results, baseline);
process.stdout.write(`load average per round (1, 5, 15 min), before / after: ${results.map((round) => `${round.loadAverageBefore} / ${round.loadAverageAfter}`).join('; ')}\n`);
if (options.json !== undefined) {
  writeFileSync(options.json, `${JSON.stringify({ cpus: os.cpus().length, results, baseline }, null, 2)}\n`);
}
await build.remove();
