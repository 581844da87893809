import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compiledPath, repositoryRoot } from '../src/paths.js';

function startWithTemplate(edit: (lines: string[]) => string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'pls-main-'));
  const template = path.join(dir, 'defaults.env');
  const lines = readFileSync(path.join(repositoryRoot, '.env.defaults'), 'utf8').split('\n');
  writeFileSync(template, edit(lines).join('\n'));
  const { PYTHON_SANDBOX_TIMEOUT_MS: _unset, ...parentEnv } = process.env;
  return spawnSync(process.execPath, ['--no-node-snapshot', compiledPath('main.js')], {
    env: { ...parentEnv, ENV_DEFAULTS_FILE: template, DATA_DIR: dir, PORT: '0', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('service start-up', () => {
  it('exits non-zero naming PYTHON_SANDBOX_TIMEOUT_MS when it is unset', () => {
    const result = startWithTemplate((lines) => lines.filter((line) => !line.startsWith('PYTHON_SANDBOX_TIMEOUT_MS=')));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PYTHON_SANDBOX_TIMEOUT_MS is not set');
  });

  it('exits non-zero when the dry-run timeout does not exceed the script timeout', () => {
    const result = startWithTemplate((lines) => lines, { PYTHON_SANDBOX_TIMEOUT_MS: '200000' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('DRY_RUN_BLOCK_TIMEOUT_MS');
  });
});
