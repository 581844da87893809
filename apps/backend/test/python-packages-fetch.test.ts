import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { backendRoot } from '../src/paths.js';
import { startWheelServer, writeWheelSource, type TestWheel } from './support/wheels.js';

// Runs the compiled backend: build with `npm run build -w packages/shared && npm run build -w apps/backend` first.
const SCRIPT = path.join(backendRoot, 'scripts', 'fetch-pyodide-packages.mjs');

const WHEELS: TestWheel[] = [
  { name: 'beta', version: '2.0.0', init: 'VALUE = 40\n' },
  { name: 'alpha', version: '1.0.0', init: 'import beta\n', depends: ['beta'] },
];

const folders: string[] = [];

function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), `pls-${prefix}-`));
  folders.push(folder);
  return folder;
}

interface ScriptResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function runFetchScript(args: string[]): Promise<ScriptResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SCRIPT, ...args], { cwd: backendRoot });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { exitCode: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

afterAll(() => {
  for (const folder of folders) {
    rmSync(folder, { recursive: true, force: true });
  }
});

describe('pyodide:fetch-packages script', () => {
  it('fills a folder from an HTTP source', async () => {
    const source = writeWheelSource(temporaryFolder('source'), WHEELS);
    const lockFile = path.join(source.folder, 'test-lock.json');
    writeFileSync(lockFile, JSON.stringify(source.lock));
    const dest = temporaryFolder('dest');
    const server = await startWheelServer(source.folder);

    const result = await runFetchScript(['--dest', dest, '--source', server.url, '--lock', lockFile]);
    await server.close();

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`2 of 2 packages cached in ${dest}`);
    expect(existsSync(path.join(dest, 'alpha-1.0.0-py3-none-any.whl'))).toBe(true);
    expect(existsSync(path.join(dest, 'beta-2.0.0-py3-none-any.whl'))).toBe(true);
    expect([...server.requests].sort()).toEqual(['/alpha-1.0.0-py3-none-any.whl', '/beta-2.0.0-py3-none-any.whl']);
  });

  it('exits with 1 and names a file that fails verification', async () => {
    const source = writeWheelSource(temporaryFolder('source'), WHEELS);
    source.lock.packages.beta!.sha256 = 'f'.repeat(64);
    const lockFile = path.join(source.folder, 'test-lock.json');
    writeFileSync(lockFile, JSON.stringify(source.lock));
    const dest = temporaryFolder('dest');

    const result = await runFetchScript(['--dest', dest, '--source', source.folderUrl, '--lock', lockFile]);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('failed: beta 2.0.0 (beta-2.0.0-py3-none-any.whl): sha256 mismatch');
    expect(existsSync(path.join(dest, 'beta-2.0.0-py3-none-any.whl'))).toBe(false);
  });

  it('rejects a missing --dest with usage', async () => {
    const result = await runFetchScript([]);

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Missing --dest DIR.');
    expect(result.stderr).toContain('--source URL');
  });
});
