/**
 * Measures the JavaScript runner's latency. Not a test: it prints numbers and asserts
 * nothing. Build first, then run from the repository root:
 *
 *   npm run build -w packages/shared && npm run build -w apps/backend
 *   node --no-node-snapshot apps/backend/dist/execution/javascript/benchmark.js [runs]
 */
import { DEFAULT_OUTPUT_LIMITS, type SandboxRunRequest } from '@policy-logic-studio/shared';
import { JavaScriptRunner } from './javascript-runner.js';

const DEFAULT_RUNS = 300;
/** Pause between runs in the "idle service" series, long enough for a spare isolate to be ready. */
const PAUSE_BETWEEN_RUNS_MS = 30;

function request(script: string, runId: string): SandboxRunRequest {
  return {
    runId,
    script,
    prelude: '',
    input: { documents: [{ document: { credentialSubject: [{ value: 1 }] } }], user: null, artifacts: [], sources: [], tables: {} },
    limits: DEFAULT_OUTPUT_LIMITS,
  };
}

async function timeRun(runner: JavaScriptRunner, script: string, runId: string, timeoutMs = 5_000): Promise<number> {
  const started = performance.now();
  const outcome = await runner.run(request(script, runId), {
    timeoutMs,
    signal: new AbortController().signal,
    onEvent: () => undefined,
  });
  const elapsedMs = performance.now() - started;
  if (outcome.kind !== 'exited' && outcome.kind !== 'timed_out') {
    throw new Error(`Benchmark run ${runId} ended as ${outcome.kind}. Fix the runner before measuring it.`);
  }
  return elapsedMs;
}

function percentile(sortedMs: number[], fraction: number): number {
  const index = Math.min(sortedMs.length - 1, Math.floor(fraction * sortedMs.length));
  return sortedMs[index] ?? Number.NaN;
}

function report(label: string, samplesMs: number[]): void {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const format = (ms: number) => ms.toFixed(2).padStart(8);
  console.log(
    `${label.padEnd(44)} n=${String(sorted.length).padStart(4)}  p50 ${format(percentile(sorted, 0.5))} ms  p95 ${format(percentile(sorted, 0.95))} ms  max ${format(sorted.at(-1) ?? Number.NaN)} ms`,
  );
}

async function series(runner: JavaScriptRunner, script: string, runs: number, pauseMs: number): Promise<number[]> {
  const samplesMs: number[] = [];
  for (let index = 0; index < runs; index += 1) {
    if (pauseMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    samplesMs.push(await timeRun(runner, script, `bench-${index}`));
  }
  return samplesMs;
}

/** Runs `concurrency` trivial scripts at a time and returns completed runs per second. */
async function throughput(runner: JavaScriptRunner, script: string, runs: number, concurrency: number): Promise<number> {
  const started = performance.now();
  let nextRun = 0;
  const worker = async () => {
    while (nextRun < runs) {
      nextRun += 1;
      await timeRun(runner, script, `bench-parallel-${nextRun}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return runs / ((performance.now() - started) / 1000);
}

/** Largest delay of a 10 ms interval timer while a script busy-loops for `busyMs`. */
async function eventLoopLagDuringBusyLoop(runner: JavaScriptRunner, busyMs: number): Promise<number> {
  let maxLagMs = 0;
  let last = performance.now();
  const interval = setInterval(() => {
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - last - 10);
    last = now;
  }, 10);

  await timeRun(runner, 'while (true) {}', 'bench-busy', busyMs);
  clearInterval(interval);
  return maxLagMs;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? DEFAULT_RUNS);
  const trivial = 'done({ value: documents[0].document.credentialSubject[0].value + 1 });';
  const withMathjs = 'done({ sum: mathjs.sum([1, 2, 3]) });';
  const withFormulajs = 'done({ sum: formulajs.SUM([1, 2, 3]) });';

  const runner = new JavaScriptRunner();
  await new Promise((resolve) => setTimeout(resolve, 200));

  report('trivial, idle service (spare ready)', await series(runner, trivial, runs, PAUSE_BETWEEN_RUNS_MS));
  report('trivial, back to back', await series(runner, trivial, runs, 0));
  report('mathjs, first run (no spare yet)', [await timeRun(runner, withMathjs, 'bench-mathjs-first')]);
  report('mathjs, idle service (spare ready)', await series(runner, withMathjs, Math.min(runs, 50), 200));
  report('formulajs, first run (no spare yet)', [await timeRun(runner, withFormulajs, 'bench-formulajs-first')]);
  report('formulajs, idle service (spare ready)', await series(runner, withFormulajs, Math.min(runs, 50), 50));
  console.log(`trivial, 8 at a time: ${(await throughput(runner, trivial, runs, 8)).toFixed(0)} runs/s`);
  await runner.close();

  const unpooled = new JavaScriptRunner({ keepSpareIsolates: false });
  report('trivial, no spare isolates', await series(unpooled, trivial, Math.min(runs, 100), 0));
  report('mathjs, no spare isolates (code cache only)', await series(unpooled, withMathjs, 10, 0));
  console.log(`event loop: max timer lag during a 1000 ms busy loop: ${(await eventLoopLagDuringBusyLoop(unpooled, 1_000)).toFixed(1)} ms`);
  await unpooled.close();
}

await main();
