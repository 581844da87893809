import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxEvent, SandboxRunRequest } from '@policy-logic-studio/shared';
import { buildHostLaunch } from '../src/execution/pyodide/host-launch.js';
import { PyodideRunner } from '../src/execution/pyodide/pyodide-runner.js';
import type { RunnerOutcome } from '../src/execution/runner.js';
import {
  CONVERSION_RULES,
  PYTHON_CASES,
  conversionScript,
  expectCaseResult,
  makeRequest,
  summarize,
  type RunSummary,
} from './support/python-runtime-cases.js';

const RUN_TIMEOUT_MS = 30_000;
const SHORT_TIMEOUT_MS = 2_000;

interface PyodideRun {
  outcome: RunnerOutcome;
  events: SandboxEvent[];
  summary: RunSummary;
}

async function runOnce(
  runner: PyodideRunner,
  request: SandboxRunRequest,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<PyodideRun> {
  const events: SandboxEvent[] = [];
  const outcome = await runner.run(request, {
    timeoutMs: options.timeoutMs ?? RUN_TIMEOUT_MS,
    signal: options.signal ?? new AbortController().signal,
    onEvent: (event) => events.push(event),
  });
  return { outcome, events, summary: summarize(events) };
}

describe('sandbox host launch', () => {
  it('passes no API process variable to the host', () => {
    process.env.HOST_LAUNCH_TEST_SECRET = 'not for the sandbox';
    try {
      const launch = buildHostLaunch({
        poolSize: 1,
        maxQueuedRuns: 1,
        maxRunningRuns: 1,
        interpreterStart: 'snapshot',
        memoryLimitBytes: 512 * 1024 * 1024,
        isolateNetwork: false,
        raiseOomScore: false,
        runOutputMaxChars: 1_000,
      });
      expect(launch.env).toEqual({ MALLOC_MMAP_THRESHOLD_: '131072' });
    } finally {
      delete process.env.HOST_LAUNCH_TEST_SECRET;
    }
  });
});

describe('PyodideRunner', () => {
  let runner: PyodideRunner;

  beforeAll(async () => {
    runner = new PyodideRunner({ poolSize: 2 });
    await runner.start();
  });

  afterAll(async () => {
    await runner.close();
  });

  for (const testCase of PYTHON_CASES) {
    it(testCase.name, async () => {
      const timeoutMs = testCase.needsTimeout ? SHORT_TIMEOUT_MS : RUN_TIMEOUT_MS;
      const run = await runOnce(runner, makeRequest(testCase.script, testCase), { timeoutMs });

      expect(run.outcome, JSON.stringify(run.outcome)).toMatchObject({ kind: testCase.expected.timedOut ? 'timed_out' : 'exited' });
      expectCaseResult(run.summary, testCase.expected, expect);
    });
  }

  it('converts every value with the JSON rules', async () => {
    const run = await runOnce(runner, makeRequest(conversionScript()));

    expect(run.summary.error).toBeUndefined();
    CONVERSION_RULES.forEach((rule, index) => {
      expect(run.summary.results[index], rule.name).toEqual(rule.json);
    });
  });

  it('runs a script after deep recursion', async () => {
    const recursion = await runOnce(runner, makeRequest('def f(n):\n    return f(n + 1)\nf(0)'));
    const next = await runOnce(runner, makeRequest("done({'ok': True})"));

    expect(recursion.summary.error?.type).toBe('RecursionError');
    expect(next.summary.results).toEqual([{ ok: true }]);
  });

  it('runs a script after a timeout', async () => {
    const busy = await runOnce(runner, makeRequest('while True:\n    pass'), { timeoutMs: SHORT_TIMEOUT_MS });
    const next = await runOnce(runner, makeRequest('done(7)'));

    expect(busy.outcome).toEqual({ kind: 'timed_out', timeoutMs: SHORT_TIMEOUT_MS });
    expect(next.summary.results).toEqual([7]);
  });

  it('ends a run as cancelled when its signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const run = await runOnce(runner, makeRequest('while True:\n    pass'), { signal: controller.signal });

    expect(run.outcome).toEqual({ kind: 'cancelled' });
  });

  it('returns cancelled at once for an aborted signal', async () => {
    const run = await runOnce(runner, makeRequest('done(1)'), { signal: AbortSignal.abort() });

    expect(run.outcome).toEqual({ kind: 'cancelled' });
    expect(run.events).toEqual([]);
  });

  it('streams events before the run ends', async () => {
    const seenBeforeEnd: string[] = [];
    let ended = false;
    const outcome = runner.run(makeRequest("debug('early')\nwhile True:\n    pass"), {
      timeoutMs: SHORT_TIMEOUT_MS,
      signal: new AbortController().signal,
      onEvent: (event) => {
        if (!ended) {
          seenBeforeEnd.push(event.type);
        }
      },
    });
    await outcome.then(() => (ended = true));

    expect(seenBeforeEnd).toEqual(['sandbox:debug']);
  });

  it('serves runs in parallel beyond the pool size', async () => {
    const runs = await Promise.all([1, 2, 3, 4].map((value) => runOnce(runner, makeRequest(`done(${value})`))));

    expect(runs.map((run) => run.summary.results)).toEqual([[1], [2], [3], [4]]);
  });

  it('starts workers from the memory snapshot', () => {
    const health = runner.health();

    expect(health.interpreterStart).toBe('snapshot');
    expect(health.preparing).toBe(false);
  });

  it('leaves no file, patched module or global to the next run', async () => {
    const first = await runOnce(
      runner,
      makeRequest(
        [
          "with open('/tmp/left-behind.txt', 'w') as handle:",
          "    handle.write('from the first run')",
          'import statistics',
          "statistics.mean = lambda data: 'patched'",
          'LEFT_OVER = 1',
          "done({'patched': statistics.mean([1, 3]) == 'patched'})",
        ].join('\n'),
      ),
    );
    const next = await runOnce(
      runner,
      makeRequest(
        [
          'import os, statistics',
          'done({',
          "    'file': os.path.exists('/tmp/left-behind.txt'),",
          "    'mean': statistics.mean([1, 3]),",
          "    'global': 'LEFT_OVER' in globals(),",
          '})',
        ].join('\n'),
      ),
    );

    expect(first.summary.results).toEqual([{ patched: true }]);
    expect(next.summary.results).toEqual([{ file: false, mean: 2, global: false }]);
  });

  it('seeds random numbers anew in every run', async () => {
    const script = 'import random\ndone(random.random())';
    const runs = await Promise.all([1, 2, 3].map(() => runOnce(runner, makeRequest(script))));
    const values = runs.map((run) => run.summary.results[0]);

    expect(new Set(values).size).toBe(3);
  });

  it('gives every run a fresh interpreter', async () => {
    await runOnce(runner, makeRequest("import builtins\nbuiltins.LEAKED = 'yes'\nLEFT_OVER = 1\ndone(1)"));
    const next = await runOnce(runner, makeRequest("import builtins\ndone([hasattr(builtins, 'LEAKED'), 'LEFT_OVER' in globals()])"));

    expect(next.summary.results).toEqual([[false, false]]);
  });

  it('reports health with the sandbox limits', () => {
    const health = runner.health();

    expect(health.ready).toBe(true);
    expect(health.networkIsolation).toBe(true);
    expect(health.permissionModel).toBe(true);
    expect(health.memoryLimitBytes).toBe(512 * 1024 * 1024);
  });
});
