import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DockerRunner } from '../src/execution/docker/docker-runner.js';
import { createRunner, describeWithDocker, listSandboxContainers, probeDocker, runScript } from './docker-support.js';

/**
 * The shared table-helper cases, run in a sandbox container: the image's table.py through
 * the real runtime, with the same driver the CPython and Pyodide runs use. Together with
 * table-helper.test.ts this covers all three runtimes with one table.
 */

interface TableCase {
  name: string;
  expected: unknown;
}

const testDir = path.dirname(fileURLToPath(import.meta.url));
const casesJson = readFileSync(path.join(testDir, 'fixtures', 'table-cases.json'), 'utf8');
const driverSource = readFileSync(path.join(testDir, 'fixtures', 'table-cases.py'), 'utf8');
const cases = (JSON.parse(casesJson) as { cases: TableCase[] }).cases;

const suite = `docker-table-helper-${process.pid}`;
const probe = await probeDocker();

describeWithDocker('table helper cases in Docker mode', probe, () => {
  let runner: DockerRunner;

  beforeAll(() => {
    runner = createRunner(suite);
  });

  afterAll(async () => {
    await runner.close();
    expect(await listSandboxContainers({ suite })).toEqual([]);
  });

  it('returns every expected value', async () => {
    const script = [
      'import json',
      `driver = {'__name__': 'table_cases_driver'}`,
      `exec(${JSON.stringify(driverSource)}, driver)`,
      `done(json.loads(driver['run_cases'](${JSON.stringify(casesJson)})))`,
    ].join('\n');
    const run = await runScript(runner, script, { timeoutMs: 60_000 });

    expect(run.error).toBeUndefined();
    const results = run.results[0] as unknown[];
    expect(results).toHaveLength(cases.length);
    cases.forEach((testCase, index) => {
      expect(results[index], testCase.name).toStrictEqual({ value: testCase.expected });
    });
  });
});
