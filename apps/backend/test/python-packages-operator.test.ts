import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PythonLibraryAvailability } from '@policy-logic-studio/shared';
import { ConfigError, loadConfig } from '../src/config.js';
import type { LockPackage } from '../src/execution/pyodide/packages/lock-file.js';
import { SANDBOX_RESERVED_MODULES } from '../src/execution/pyodide/packages/operator-lock.js';
import { pythonRuntimePath, repositoryRoot } from '../src/paths.js';
import { startTestService, type TestService } from './support/test-service.js';
import { buildWheel, sha256Hex, wheelFileName } from './support/wheels.js';

// Runs the compiled sandbox host: build with `npm run build -w packages/shared && npm run build -w apps/backend` first.

const folders: string[] = [];

function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), `pls-${prefix}-`));
  folders.push(folder);
  return folder;
}

afterAll(() => {
  for (const folder of folders) {
    rmSync(folder, { recursive: true, force: true });
  }
});

const FACTORS_WHEEL = {
  name: 'acme_factors',
  version: '1.0.0',
  init: 'FACTORS = {"diesel": 2.68, "petrol": 2.31}\n\ndef factor(fuel):\n    return FACTORS[fuel]\n',
};

/** Writes the emission-factor wheel into `cacheDir` and returns its lock entry. */
function placeFactorsWheel(cacheDir: string): LockPackage {
  const content = buildWheel(FACTORS_WHEEL);
  writeFileSync(path.join(cacheDir, wheelFileName(FACTORS_WHEEL)), content);
  return validEntry({ sha256: sha256Hex(content) });
}

function validEntry(changes: Partial<LockPackage> = {}): LockPackage {
  return {
    name: 'acme_factors',
    version: '1.0.0',
    file_name: wheelFileName(FACTORS_WHEEL),
    install_dir: 'site',
    sha256: 'a'.repeat(64),
    package_type: 'package',
    imports: ['acme_factors'],
    depends: [],
    ...changes,
  };
}

/** Starts a Pyodide-mode service on this package cache and operator lock, and waits for its warm-up. */
async function startOperatorService(cacheDir: string, lockFile: string): Promise<TestService> {
  const service = await startTestService({
    PYTHON_SANDBOX_MODE: 'pyodide',
    PYODIDE_POOL_SIZE: '1',
    PYODIDE_PACKAGE_CACHE_DIR: cacheDir,
    PYODIDE_EXTRA_LOCK_FILE: lockFile,
  });
  await service.services.appDependencies.pythonPackages.warmUp();
  return service;
}

function writeLockFile(folder: string, packages: Record<string, unknown>): string {
  const filePath = path.join(folder, 'operator-lock.json');
  writeFileSync(filePath, JSON.stringify({ packages }, null, 2));
  return filePath;
}

function loadWithLockFile(lockFile: string) {
  const dataDir = temporaryFolder('operator-config');
  return loadConfig({
    env: { PYODIDE_EXTRA_LOCK_FILE: lockFile, DATA_DIR: dataDir },
    defaultsFile: path.join(repositoryRoot, '.env.defaults'),
    localFile: path.join(dataDir, 'no-local.env'),
  });
}

function withoutField(field: keyof LockPackage): Record<string, unknown> {
  const entry: Record<string, unknown> = { ...validEntry() };
  delete entry[field];
  return entry;
}

describe('PYODIDE_EXTRA_LOCK_FILE at start-up', () => {
  it('is unused when empty', () => {
    const config = loadWithLockFile('');

    expect(config.pyodide.extraLockFile).toBeUndefined();
    expect(config.pyodide.operatorPackages).toEqual({});
  });

  it('reads a valid entry', () => {
    const lockFile = writeLockFile(temporaryFolder('operator-lock'), { 'acme-factors': validEntry({ sha256: 'AB'.repeat(32) }) });

    const config = loadWithLockFile(lockFile);

    expect(config.pyodide.extraLockFile).toBe(lockFile);
    expect(config.pyodide.operatorPackages['acme-factors']?.sha256).toBe('ab'.repeat(32));
    expect(config.pyodide.operatorPackages['acme-factors']?.operatorLockFile).toBe(lockFile);
  });

  const invalidEntries: Array<{ case: string; entry: Record<string, unknown>; field: string; message: string }> = [
    { case: 'missing name', entry: withoutField('name'), field: 'name', message: 'is missing' },
    { case: 'missing version', entry: withoutField('version'), field: 'version', message: 'is missing' },
    { case: 'missing file_name', entry: withoutField('file_name'), field: 'file_name', message: 'is missing' },
    { case: 'missing sha256', entry: withoutField('sha256'), field: 'sha256', message: 'is missing' },
    { case: 'missing imports', entry: withoutField('imports'), field: 'imports', message: 'is missing' },
    { case: 'missing depends', entry: withoutField('depends'), field: 'depends', message: 'is missing' },
    { case: 'missing install_dir', entry: withoutField('install_dir'), field: 'install_dir', message: 'is missing' },
    { case: 'missing package_type', entry: withoutField('package_type'), field: 'package_type', message: 'is missing' },
    {
      case: 'platform wheel',
      entry: validEntry({ file_name: 'acme_factors-1.0.0-cp312-cp312-pyodide_2024_0_wasm32.whl' }),
      field: 'file_name',
      message: 'not a pure-Python wheel',
    },
    { case: 'shared library file', entry: validEntry({ file_name: 'libacme.so' }), field: 'file_name', message: 'not a pure-Python wheel' },
    { case: 'path in file_name', entry: validEntry({ file_name: '../acme_factors-1.0.0-py3-none-any.whl' }), field: 'file_name', message: 'not a pure-Python wheel' },
    { case: 'dynlib install_dir', entry: validEntry({ install_dir: 'dynlib' }), field: 'install_dir', message: 'installs into "site"' },
    { case: 'shared_library package_type', entry: validEntry({ package_type: 'shared_library' }), field: 'package_type', message: 'has the type "package"' },
    { case: 'shared_library true', entry: { ...validEntry(), shared_library: true }, field: 'shared_library', message: 'shared libraries are not supported' },
    { case: 'short sha256', entry: validEntry({ sha256: 'abc123' }), field: 'sha256', message: 'not 64 hexadecimal characters' },
    { case: 'non-hex sha256', entry: validEntry({ sha256: 'g'.repeat(64) }), field: 'sha256', message: 'not 64 hexadecimal characters' },
    { case: 'blocked module import', entry: validEntry({ imports: ['micropip'] }), field: 'imports', message: "'micropip', a module that the sandbox blocks" },
    { case: 'hardened module import', entry: validEntry({ imports: ['subprocess'] }), field: 'imports', message: "'subprocess', a module that the sandbox blocks" },
    { case: 'Pyodide package import', entry: validEntry({ imports: ['numpy'] }), field: 'imports', message: "the Pyodide package 'numpy' already provides" },
    { case: 'docker-only library import', entry: validEntry({ imports: ['rasterio'] }), field: 'imports', message: "import name of 'rasterio'" },
    { case: 'invalid module name', entry: validEntry({ imports: ['acme-factors'] }), field: 'imports', message: 'not a top-level Python module name' },
    { case: 'no imports', entry: validEntry({ imports: [] }), field: 'imports', message: 'is empty' },
    { case: 'unknown dependency', entry: validEntry({ depends: ['acme-units'] }), field: 'depends', message: "'acme-units'" },
    { case: 'imports not an array', entry: { ...validEntry(), imports: 'acme_factors' }, field: 'imports', message: 'Expected an array of strings' },
  ];

  it.each(invalidEntries)('rejects $case', ({ entry, field, message }) => {
    const lockFile = writeLockFile(temporaryFolder('operator-lock'), { 'acme-factors': entry });

    let thrown: unknown;
    try {
      loadWithLockFile(lockFile);
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(ConfigError);
    const text = (thrown as ConfigError).message;
    expect(text).toContain('PYODIDE_EXTRA_LOCK_FILE is invalid');
    expect(text).toContain(lockFile);
    expect(text).toContain(`field "${field}" of entry "acme-factors"`);
    expect(text).toContain(message);
  });

  it.each([
    { case: 'Pyodide package name', key: 'numpy', name: 'numpy', message: "shadows the Pyodide package 'numpy' 1.26.4" },
    { case: 'blocked module name', key: 'js', name: 'js', message: "shadows the module 'js'" },
    { case: 'key and name that differ', key: 'acme-other', name: 'acme_factors', message: 'the entry\'s key is "acme-other"' },
  ])('rejects a $case', ({ key, name, message }) => {
    const lockFile = writeLockFile(temporaryFolder('operator-lock'), { [key]: validEntry({ name, imports: ['acme_factors'] }) });

    expect(() => loadWithLockFile(lockFile)).toThrow(`field "name" of entry "${key}"`);
    expect(() => loadWithLockFile(lockFile)).toThrow(message);
  });

  it('rejects two entries with the same import', () => {
    const lockFile = writeLockFile(temporaryFolder('operator-lock'), {
      'acme-factors': validEntry(),
      'acme-copy': validEntry({ name: 'acme-copy', file_name: 'acme_copy-1.0.0-py3-none-any.whl' }),
    });

    expect(() => loadWithLockFile(lockFile)).toThrow(`field "imports" of entry "acme-copy" contains 'acme_factors', which the entry "acme-factors" of this file already provides`);
  });

  it('accepts a dependency on a Pyodide package', () => {
    const lockFile = writeLockFile(temporaryFolder('operator-lock'), { 'acme-factors': validEntry({ depends: ['six'] }) });

    expect(loadWithLockFile(lockFile).pyodide.operatorPackages['acme-factors']?.depends).toEqual(['six']);
  });

  it.each([
    { case: 'a missing file', content: undefined, message: 'cannot be read' },
    { case: 'invalid JSON', content: '{"packages": ', message: 'is not valid JSON' },
    { case: 'no packages object', content: '{"acme-factors": {}}', message: 'has no "packages" object' },
    { case: 'an entry that is no object', content: '{"packages": {"acme-factors": 3}}', message: 'entry "acme-factors" is not a JSON object' },
  ])('rejects $case', ({ content, message }) => {
    const lockFile = path.join(temporaryFolder('operator-lock'), 'operator-lock.json');
    if (content !== undefined) {
      writeFileSync(lockFile, content);
    }

    expect(() => loadWithLockFile(lockFile)).toThrow(ConfigError);
    expect(() => loadWithLockFile(lockFile)).toThrow(lockFile);
    expect(() => loadWithLockFile(lockFile)).toThrow(message);
  });

  it('reserves every module that runtime.py blocks or hardens', () => {
    const runtime = readFileSync(pythonRuntimePath, 'utf8');
    const tables = ['BLOCKED_MODULES', 'BLOCKED_FOR_SCRIPTS', 'PROCESS_FUNCTIONS', 'NETWORK_FUNCTIONS'];
    const modules = new Set<string>();
    for (const table of tables) {
      const body = new RegExp(`^${table} = \\{\\n([\\s\\S]*?)^\\}`, 'm').exec(runtime)?.[1];
      expect(body, `${table} in runtime.py`).toBeDefined();
      for (const match of body!.matchAll(/^ {4}"([A-Za-z_][\w.]*)":/gm)) {
        modules.add(match[1]!.split('.')[0]!);
      }
    }

    expect(modules.size).toBeGreaterThan(10);
    for (const moduleName of modules) {
      expect(SANDBOX_RESERVED_MODULES.has(moduleName), moduleName).toBe(true);
    }
  });
});

function library(libraries: PythonLibraryAvailability[], name: string): PythonLibraryAvailability | undefined {
  return libraries.find((entry) => entry.name === name);
}

function pythonBlock(expression: string) {
  return { block: { blockType: 'customLogicBlock', selectedScriptLanguage: 'PYTHON', expression }, input: { documents: [] } };
}

describe('operator package in Pyodide mode', () => {
  let service: TestService;
  let lockFile: string;

  beforeAll(async () => {
    const cacheDir = temporaryFolder('operator-cache');
    const entry = placeFactorsWheel(cacheDir);
    // acme-units is listed but its wheel was never placed in the cache.
    lockFile = writeLockFile(temporaryFolder('operator-lock'), {
      'acme-factors': entry,
      'acme-units': validEntry({ name: 'acme-units', file_name: 'acme_units-2.0.0-py3-none-any.whl', version: '2.0.0', imports: ['acme_units'] }),
    });
    service = await startOperatorService(cacheDir, lockFile);
  }, 120_000);

  afterAll(async () => {
    await service?.close();
  });

  it('imports the package in a dry run', async () => {
    const response = await service.api.post('/api/dry-run').send(pythonBlock('import acme_factors\ndone({"factor": acme_factors.factor("diesel")})')).expect(200);

    expect(response.body.error).toBeUndefined();
    expect(response.body.status).toBe('completed');
    expect(response.body.results).toEqual([{ value: { factor: 2.68 }, final: true }]);
    expect(response.body.packages).toEqual(['acme_factors']);
  });

  it('lists the package with the operator source', async () => {
    const response = await service.api.get('/api/sandbox/packages').expect(200);
    const libraries = response.body.libraries as PythonLibraryAvailability[];

    expect(library(libraries, 'acme_factors')).toMatchObject({
      source: 'operator',
      available: true,
      version: '1.0.0',
      importNames: ['acme_factors'],
      modes: ['pyodide'],
    });
    expect(library(libraries, 'numpy')?.source).toBe('product');
    expect(library(libraries, 'acme-units')).toMatchObject({ source: 'operator', available: false, detail: 'acme-units: missing' });
  });

  it('names the cache folder for a wheel that was not placed', async () => {
    const response = await service.api.post('/api/dry-run').send(pythonBlock('import acme_units\ndone(1)')).expect(200);

    expect(response.body.status).toBe('failed');
    expect(response.body.error.type).toBe('PackageNotCachedError');
    expect(response.body.error.message).toContain(`listed in ${lockFile}`);
    expect(response.body.error.hint).toContain(`Copy acme_units-2.0.0-py3-none-any.whl into ${service.config.pyodide.packageCacheDir}`);
  });
});

describe('operator package with a wrong sha256', () => {
  let service: TestService;
  let lockFile: string;
  let wheelPath: string;
  const wrongSha256 = '0'.repeat(64);

  beforeAll(async () => {
    const cacheDir = temporaryFolder('operator-cache');
    placeFactorsWheel(cacheDir);
    wheelPath = path.join(cacheDir, wheelFileName(FACTORS_WHEEL));
    lockFile = writeLockFile(temporaryFolder('operator-lock'), { 'acme-factors': validEntry({ sha256: wrongSha256 }) });
    service = await startOperatorService(cacheDir, lockFile);
  }, 120_000);

  afterAll(async () => {
    await service?.close();
  });

  it('rejects the run with the expected and actual sha256', async () => {
    const actualSha256 = sha256Hex(readFileSync(wheelPath));

    const response = await service.api.post('/api/dry-run').send(pythonBlock('import acme_factors\ndone(acme_factors.factor("diesel"))')).expect(200);

    expect(response.body.status).toBe('failed');
    expect(response.body.results).toEqual([]);
    expect(response.body.error.type).toBe('PackageIntegrityError');
    expect(response.body.error.message).toContain(`sha256 is ${actualSha256}, expected ${wrongSha256}`);
    expect(response.body.error.hint).toContain(lockFile);
  });

  it('keeps the operator file and reports the mismatch', async () => {
    const response = await service.api.get('/api/sandbox/packages').expect(200);
    const factors = library(response.body.libraries as PythonLibraryAvailability[], 'acme_factors');

    expect(existsSync(wheelPath)).toBe(true);
    expect(factors?.available).toBe(false);
    expect(factors?.detail).toContain('sha256 mismatch');
    expect(factors?.detail).toContain(lockFile);
  });
});
