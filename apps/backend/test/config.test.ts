import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { repositoryRoot } from '../src/paths.js';

const templatePath = path.join(repositoryRoot, '.env.defaults');
const noLocalFile = path.join(tmpdir(), 'policy-logic-studio-no-such-file.env');

function load(env: Record<string, string>, defaultsFile = templatePath) {
  return loadConfig({ env, defaultsFile, localFile: noLocalFile });
}

function templateWithout(variable: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pls-config-'));
  const file = path.join(dir, 'defaults.env');
  const lines = readFileSync(templatePath, 'utf8').split('\n').filter((line) => !line.startsWith(`${variable}=`));
  writeFileSync(file, lines.join('\n'));
  return file;
}

describe('loadConfig', () => {
  it('reads every default from the template', () => {
    const config = load({});
    expect(config.pythonMode).toBe('pyodide');
    expect(config.pythonTimeoutMs).toBe(120_000);
    expect(config.dryRunTimeoutMs).toBe(180_000);
    expect(config.port).toBe(3000);
    expect(config.docker.memory).toBe('512m');
    expect(config.docker.memoryBytes).toBe(512 * 1024 * 1024);
    expect(config.inputLimits).toEqual({ maxDepth: 64, maxNodes: 100_000 });
    expect(config.docker.maxConcurrentRuns).toBe(4);
    expect(config.docker.maxQueuedRuns).toBe(32);
    expect(config.docker.preparedContainers).toBe(2);
    expect(config.pyodide.maxRunningRuns).toBe(8);
  });

  it('reads the Pyodide running-run bound', () => {
    const config = load({ PYODIDE_MAX_RUNNING_RUNS: '3' });

    expect(config.pyodide.maxRunningRuns).toBe(3);
  });

  it('reads the Docker run queue and prepared containers', () => {
    const config = load({
      PYTHON_SANDBOX_MAX_CONCURRENT_RUNS: '2',
      PYTHON_SANDBOX_MAX_QUEUED_RUNS: '0',
      PYTHON_SANDBOX_PREPARED_CONTAINERS: '0',
    });
    expect(config.docker.maxConcurrentRuns).toBe(2);
    expect(config.docker.maxQueuedRuns).toBe(0);
    expect(config.docker.preparedContainers).toBe(0);
  });

  it('lets the environment override the template', () => {
    const config = load({ PORT: '4100', PYTHON_SANDBOX_MODE: 'docker', DATA_DIR: '/tmp/pls-data' });
    expect(config.port).toBe(4100);
    expect(config.pythonMode).toBe('docker');
    expect(config.databasePath).toBe('/tmp/pls-data/policies.sqlite');
  });

  it('names a variable missing from every source', () => {
    expect(() => load({}, templateWithout('PYTHON_SANDBOX_TIMEOUT_MS'))).toThrow(
      /PYTHON_SANDBOX_TIMEOUT_MS is not set/,
    );
  });

  it('rejects an empty value', () => {
    expect(() => load({ PYTHON_SANDBOX_TIMEOUT_MS: '' })).toThrow(/PYTHON_SANDBOX_TIMEOUT_MS is empty/);
  });

  it.each([
    ['PYTHON_SANDBOX_TIMEOUT_MS', 'soon'],
    ['PYTHON_SANDBOX_MODE', 'wasm'],
    ['PORT', '70000'],
    ['PYTHON_SANDBOX_MEMORY', 'lots'],
    ['PYTHON_SANDBOX_CPUS', '-1'],
    ['PYTHON_SANDBOX_PIDS', 'many'],
    ['PYTHON_SANDBOX_MAX_CONCURRENT_RUNS', '0'],
    ['PYTHON_SANDBOX_MAX_QUEUED_RUNS', '-1'],
    ['PYTHON_SANDBOX_PREPARED_CONTAINERS', 'two'],
    ['PYTHON_SANDBOX_PREPARED_CONTAINERS', '65'],
    ['PYODIDE_MAX_RUNNING_RUNS', '0'],
  ])('rejects %s=%s naming the variable', (variable, value) => {
    let caught: unknown;
    try {
      load({ [variable]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
    expect((caught as Error).message).toContain(variable);
  });

  it('requires the dry-run timeout to exceed the script timeout', () => {
    expect(() => load({ PYTHON_SANDBOX_TIMEOUT_MS: '5000', DRY_RUN_BLOCK_TIMEOUT_MS: '5000' })).toThrow(
      /DRY_RUN_BLOCK_TIMEOUT_MS \(5000\) must be larger than PYTHON_SANDBOX_TIMEOUT_MS/,
    );
  });
});
