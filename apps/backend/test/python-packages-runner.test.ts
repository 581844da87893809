import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxEvent, SandboxRunRequest } from '@policy-logic-studio/shared';
import { PackageCatalog } from '../src/execution/pyodide/packages/package-catalog.js';
import { PackageCache } from '../src/execution/pyodide/packages/package-cache.js';
import { PyodideRunner } from '../src/execution/pyodide/pyodide-runner.js';
import type { RunnerOutcome } from '../src/execution/runner.js';
import { makeRequest, summarize, type RunSummary } from './support/python-runtime-cases.js';
import { startWheelServer, testLibrary, writeWheelSource, type WheelServer } from './support/wheels.js';

// Runs the compiled sandbox host: build with `npm run build -w packages/shared && npm run build -w apps/backend` first.

const RUN_TIMEOUT_MS = 60_000;

interface RunnerRun {
  outcome: RunnerOutcome;
  summary: RunSummary;
  packages?: string[];
  elapsedMs: number;
}

async function runOnce(runner: PyodideRunner, request: SandboxRunRequest): Promise<RunnerRun> {
  const events: SandboxEvent[] = [];
  const startedAt = Date.now();
  const outcome = await runner.run(request, {
    timeoutMs: RUN_TIMEOUT_MS,
    signal: new AbortController().signal,
    onEvent: (event) => events.push(event),
  });
  const complete = events.find((event) => event.type === 'sandbox:complete');
  return { outcome, summary: summarize(events), packages: complete?.packages, elapsedMs: Date.now() - startedAt };
}

/** Waits until a warm interpreter is ready, so a measured run does not include its start-up. */
async function waitForReadyWorker(runner: PyodideRunner): Promise<void> {
  while (Number(runner.health().readyWorkers ?? 0) < 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('PyodideRunner with the package cache', () => {
  const folders: string[] = [];
  let server: WheelServer;
  let runner: PyodideRunner;

  beforeAll(async () => {
    const sourceFolder = mkdtempSync(path.join(tmpdir(), 'pls-runner-source-'));
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'pls-runner-cache-'));
    folders.push(sourceFolder, cacheDir);
    const source = writeWheelSource(sourceFolder, [
      { name: 'beta', version: '2.0.0', init: 'VALUE = 40\n' },
      { name: 'alpha', version: '1.0.0', init: 'import beta\nVALUE = beta.VALUE + 2\n', depends: ['beta'] },
      { name: 'gamma', version: '1.0.0', init: 'VALUE = "gamma"\n' },
      { name: 'delta', version: '1.0.0', init: 'VALUE = "delta"\n' },
    ]);
    // delta is allowlisted but never verifies, so it stays out of the cache.
    source.lock.packages.delta!.sha256 = '0'.repeat(64);
    const catalog = new PackageCatalog({
      libraries: [testLibrary('alpha', '1.0.0'), testLibrary('beta', '2.0.0'), testLibrary('delta', '1.0.0')],
      lock: source.lock,
    });
    server = await startWheelServer(sourceFolder);
    await new PackageCache({ cacheDir, sourceUrl: server.url, packages: catalog.packages }).warmUp();

    runner = new PyodideRunner({ poolSize: 1, packages: catalog.planSettings({ cacheDir, sourceUrl: server.url }) });
    await runner.start();
  });

  afterAll(async () => {
    await runner?.close();
    await server?.close();
    for (const folder of folders) {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('loads an imported package in the sandbox host', async () => {
    const requestsBefore = server.requests.length;
    await waitForReadyWorker(runner);

    const first = await runOnce(runner, makeRequest('import alpha\ndone(alpha.VALUE)'));
    const second = await runOnce(runner, makeRequest('import alpha\ndone(alpha.VALUE)'));

    expect(first.summary.error).toBeUndefined();
    expect(first.summary.results).toEqual([42]);
    expect(first.packages).toEqual(['beta', 'alpha']);
    console.info(`a run that loads two cached wheels took ${first.elapsedMs} ms on a ready worker`);
    expect(second.summary.results).toEqual([42]);
    expect(server.requests.length).toBe(requestsBefore);
  });

  it('loads nothing for a script without imports', async () => {
    const run = await runOnce(runner, makeRequest('import math\ndone(math.floor(2.5))'));

    expect(run.summary.results).toEqual([2]);
    expect(run.packages).toEqual([]);
  });

  it('loads a package named in importlib.import_module', async () => {
    const run = await runOnce(runner, makeRequest('import importlib\nbeta = importlib.import_module("beta")\ndone(beta.VALUE)'));

    expect(run.summary.error).toBeUndefined();
    expect(run.summary.results).toEqual([40]);
    expect(run.packages).toEqual(['beta']);
  });

  it('rejects unlisted modules before running', async () => {
    const run = await runOnce(runner, makeRequest('print("started")\nimport gamma\ndone(gamma.VALUE)'));

    expect(run.outcome.kind).toBe('exited');
    expect(run.summary.error?.type).toBe('ModuleNotAllowedError');
    expect(run.summary.error?.line).toBe(2);
    expect(run.summary.error?.message).toContain("Module 'gamma'");
    expect(run.summary.stdout).toBe('');
    expect(run.summary.results).toEqual([]);
  });

  it('runs a script that guards an unlisted import', async () => {
    const run = await runOnce(runner, makeRequest('try:\n    import gamma\nexcept ImportError:\n    gamma = None\ndone(gamma is None)'));

    expect(run.summary.error).toBeUndefined();
    expect(run.summary.results).toEqual([true]);
  });

  it('fails at once when a package is not cached', async () => {
    await waitForReadyWorker(runner);
    const run = await runOnce(runner, makeRequest('import delta\ndone(delta.VALUE)'));

    expect(run.outcome.kind).toBe('exited');
    expect(run.summary.error?.type).toBe('PackageNotCachedError');
    expect(run.summary.error?.message).toContain("Python package 'delta' 1.0.0 (imported on line 1)");
    expect(run.summary.error?.message).toContain('sha256 mismatch');
    console.info(`a run that needs an uncached package ended after ${run.elapsedMs} ms`);
  });
});
