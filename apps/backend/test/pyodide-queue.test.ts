import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxRunRequest } from '@policy-logic-studio/shared';
import { ServiceBusyError } from '../src/errors.js';
import { PyodideRunner } from '../src/execution/pyodide/pyodide-runner.js';
import type { RunnerOutcome } from '../src/execution/runner.js';
import { makeRequest } from './support/python-runtime-cases.js';
import { startTestService, type TestService } from './support/test-service.js';

// Long enough that busy runs hold their interpreters while the rest of the burst arrives.
const BUSY_TIMEOUT_MS = 3_000;
const BURST_SIZE = 6;

function runBusy(runner: PyodideRunner, request: SandboxRunRequest): Promise<RunnerOutcome> {
  return runner.run(request, { timeoutMs: BUSY_TIMEOUT_MS, signal: new AbortController().signal, onEvent: () => {} });
}

function pythonBlock(expression: string): Record<string, unknown> {
  return { blockType: 'customLogicBlock', tag: 'queue_check', selectedScriptLanguage: 'PYTHON', expression };
}

describe('PyodideRunner run queue', () => {
  let runner: PyodideRunner;

  beforeAll(async () => {
    runner = new PyodideRunner({ poolSize: 1, maxQueuedRuns: 1 });
    await runner.start();
  });

  afterAll(async () => {
    await runner.close();
  });

  it('rejects runs past the queue bound as busy', async () => {
    const burst = Array.from({ length: BURST_SIZE }, () => runBusy(runner, makeRequest('while True:\n    pass')));
    const settled = await Promise.allSettled(burst);
    const rejected = settled.filter((result) => result.status === 'rejected');
    const finished = settled.filter((result) => result.status === 'fulfilled');

    // One run takes the ready interpreter and one waits. The next ones arrive before a refill.
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    expect(finished.length).toBeGreaterThanOrEqual(2);
    for (const result of rejected) {
      const error = (result as PromiseRejectedResult).reason as ServiceBusyError;
      expect(error).toBeInstanceOf(ServiceBusyError);
      expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(error.message).toContain('PYODIDE_MAX_QUEUED_RUNS');
    }
    for (const result of finished) {
      expect((result as PromiseFulfilledResult<RunnerOutcome>).value).toEqual({ kind: 'timed_out', timeoutMs: BUSY_TIMEOUT_MS });
    }
  });

  it('accepts runs again once the queue drains', async () => {
    const events: unknown[] = [];
    const outcome = await runner.run(makeRequest('done(5)'), {
      timeoutMs: 30_000,
      signal: new AbortController().signal,
      onEvent: (event) => events.push(event),
    });

    expect(outcome).toEqual({ kind: 'exited' });
    expect(events).toContainEqual(expect.objectContaining({ type: 'sandbox:done', value: 5 }));
  });
});

describe('PyodideRunner running limit', () => {
  let runner: PyodideRunner;

  beforeAll(async () => {
    runner = new PyodideRunner({ poolSize: 1, maxRunningRuns: 1, maxQueuedRuns: 4 });
    await runner.start();
  });

  afterAll(async () => {
    await runner.close();
  });

  it('runs one at a time past the limit', async () => {
    const busyCounts: number[] = [];
    const queuedCounts: number[] = [];
    const sampler = setInterval(() => {
      const health = runner.health();
      busyCounts.push(health.busyWorkers as number);
      queuedCounts.push(health.queuedRuns as number);
    }, 20);

    const runs = [1, 2, 3].map(() =>
      runner.run(makeRequest('while True:\n    pass'), { timeoutMs: 1_500, signal: new AbortController().signal, onEvent: () => {} }),
    );
    const outcomes = await Promise.all(runs);
    clearInterval(sampler);

    expect(outcomes).toEqual([1, 2, 3].map(() => ({ kind: 'timed_out', timeoutMs: 1_500 })));
    expect(Math.max(...busyCounts)).toBe(1);
    expect(Math.max(...queuedCounts)).toBeGreaterThanOrEqual(1);
  });
});

describe('POST /api/dry-run with a full Pyodide queue', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({
      PYODIDE_POOL_SIZE: '1',
      PYODIDE_MAX_QUEUED_RUNS: '0',
      PYTHON_SANDBOX_TIMEOUT_MS: String(BUSY_TIMEOUT_MS),
      JAVASCRIPT_TIMEOUT_MS: String(BUSY_TIMEOUT_MS),
      DRY_RUN_BLOCK_TIMEOUT_MS: '20000',
    });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('answers 503 with Retry-After', async () => {
    const send = () => service.api.post('/api/dry-run').send({ block: pythonBlock('while True:\n    pass'), input: { documents: [] } });
    const responses = await Promise.all(Array.from({ length: BURST_SIZE }, send));
    const busy = responses.filter((response) => response.status === 503);
    const served = responses.filter((response) => response.status === 200);

    expect(busy.length).toBeGreaterThanOrEqual(1);
    expect(served.length).toBeGreaterThanOrEqual(1);
    expect(busy.length + served.length).toBe(BURST_SIZE);
    for (const response of busy) {
      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(response.body.error.code).toBe('busy');
      expect(response.body.error.message).toContain('PYODIDE_MAX_QUEUED_RUNS');
    }
    for (const response of served) {
      expect(response.body.status).toBe('timed_out');
    }
  });

  it('serves a dry run after the burst', async () => {
    // With no queue, a run must arrive when an interpreter is ready: wait for the refill.
    await expect
      .poll(async () => (await service.api.get('/api/health')).body.python?.readyWorkers, { timeout: 60_000, interval: 50 })
      .toBeGreaterThanOrEqual(1);
    const response = await service.api.post('/api/dry-run').send({ block: pythonBlock("done({'after': 'burst'})"), input: { documents: [] } });

    expect(response.status).toBe(200);
    expect(response.body.status).toBe('completed');
    expect(response.body.results).toEqual([{ value: { after: 'burst' }, final: true }]);
  });
});
