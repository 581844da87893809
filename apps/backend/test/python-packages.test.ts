import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { loadPyodide, type PyodideInterface } from 'pyodide';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageCacheStatus, PythonLibrary } from '@policy-logic-studio/shared';
import { loadPlannedPackages } from '../src/execution/pyodide/packages/load-packages.js';
import { DEFAULT_PACKAGE_BASE_URL, PackageCatalog } from '../src/execution/pyodide/packages/package-catalog.js';
import { normalizeSourceUrl, PackageCache } from '../src/execution/pyodide/packages/package-cache.js';
import { planPackages, type PackagePlanSettings, type ScriptSource } from '../src/execution/pyodide/packages/planner.js';
import { preparePackages } from '../src/execution/pyodide/packages/prepare-packages.js';
import { describeCacheState, readCacheStatusFile } from '../src/execution/pyodide/packages/status-file.js';
import {
  closedPortUrl,
  sha256Hex,
  startWheelServer,
  testLibrary,
  writeWheelSource,
  type TestWheel,
  type WheelServer,
  type WheelSource,
} from './support/wheels.js';

// alpha needs beta; gamma is in the source and the lock file but not in the allowlist;
// delta's lock entry carries a wrong sha256.
const WHEELS: TestWheel[] = [
  { name: 'beta', version: '2.0.0', init: 'VALUE = 40\n' },
  { name: 'alpha', version: '1.0.0', init: 'import beta\nVALUE = beta.VALUE + 2\n', depends: ['beta'] },
  { name: 'gamma', version: '1.0.0', init: 'VALUE = "gamma"\n' },
  { name: 'delta', version: '1.0.0', init: 'VALUE = "delta"\n' },
];

const LIBRARIES: PythonLibrary[] = [
  testLibrary('alpha', '1.0.0'),
  testLibrary('beta', '2.0.0'),
  testLibrary('delta', '1.0.0'),
  { name: 'oldplot', importNames: ['oldplot'], category: 'removed', modes: [], reason: 'plotting is not needed' },
  { name: 'rasterio', importNames: ['rasterio'], category: 'docker-only', modes: ['docker'], reason: 'needs the GDAL native library' },
];

const temporaryFolders: string[] = [];

function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), `pls-${prefix}-`));
  temporaryFolders.push(folder);
  return folder;
}

function wheelSource(): WheelSource {
  const source = writeWheelSource(temporaryFolder('source'), WHEELS);
  source.lock.packages.delta!.sha256 = '0'.repeat(64);
  return source;
}

function catalogFor(source: WheelSource): PackageCatalog {
  return new PackageCatalog({ libraries: LIBRARIES, lock: source.lock });
}

function cacheFor(catalog: PackageCatalog, cacheDir: string, sourceUrl: string): PackageCache {
  return new PackageCache({ cacheDir, sourceUrl, packages: catalog.packages, concurrency: 2 });
}

async function freshPyodide(cacheDir: string): Promise<PyodideInterface> {
  return loadPyodide({ packageCacheDir: cacheDir, stdout: () => {}, stderr: () => {} });
}

let planningInterpreter: Promise<PyodideInterface> | undefined;

/** Returns one interpreter shared by tests that only plan, because planning loads nothing into it. */
function planningPyodide(): Promise<PyodideInterface> {
  planningInterpreter ??= loadPyodide({ stdout: () => {}, stderr: () => {} });
  return planningInterpreter;
}

/** Plans and loads the packages of `source`, then evaluates `expression` after `source.script`. */
async function runWithPackages(pyodide: PyodideInterface, source: ScriptSource, settings: PackagePlanSettings, expression: string) {
  const plan = planPackages(pyodide, source, settings);
  const loaded = await loadPlannedPackages(pyodide, plan, settings);
  const value = plan.error === undefined && loaded.error === undefined ? pyodide.runPython(`${source.script}\n${expression}`) : undefined;
  return { plan, loaded, value };
}

afterAll(() => {
  for (const folder of temporaryFolders) {
    rmSync(folder, { recursive: true, force: true });
  }
});

describe('Pyodide packages from a local HTTP source', () => {
  let source: WheelSource;
  let catalog: PackageCatalog;
  let cacheDir: string;
  let server: WheelServer;
  let settings: PackagePlanSettings;

  beforeAll(async () => {
    source = wheelSource();
    catalog = catalogFor(source);
    cacheDir = temporaryFolder('cache');
    server = await startWheelServer(source.folder);
    await cacheFor(catalog, cacheDir, server.url).warmUp();
    settings = catalog.planSettings({ cacheDir, sourceUrl: server.url });
  });

  afterAll(async () => {
    await server.close();
  });

  it('warm-up downloads every allowlisted package once', () => {
    expect([...server.requests].sort()).toEqual([
      '/alpha-1.0.0-py3-none-any.whl',
      '/beta-2.0.0-py3-none-any.whl',
      '/delta-1.0.0-py3-none-any.whl',
    ]);
    expect(existsSync(path.join(cacheDir, 'alpha-1.0.0-py3-none-any.whl'))).toBe(true);
    expect(existsSync(path.join(cacheDir, 'gamma-1.0.0-py3-none-any.whl'))).toBe(false);
  });

  it('loads only imported packages', async () => {
    const pyodide = await freshPyodide(cacheDir);
    const { plan, loaded, value } = await runWithPackages(pyodide, { script: 'import alpha\n' }, settings, 'alpha.VALUE');

    expect(plan.error).toBeUndefined();
    expect(plan.packages).toEqual(['beta', 'alpha']);
    expect(plan.toLoad).toEqual([
      path.join(cacheDir, 'beta-2.0.0-py3-none-any.whl'),
      path.join(cacheDir, 'alpha-1.0.0-py3-none-any.whl'),
    ]);
    expect(loaded.error).toBeUndefined();
    expect(loaded.packageLoadMs).toBeGreaterThanOrEqual(0);
    expect(value).toBe(42);
    expect(pyodide.runPython('import importlib.util\nimportlib.util.find_spec("delta") is None')).toBe(true);
  });

  it('restart loads from the cache only', async () => {
    const requestsBefore = server.requests.length;
    const restarted = cacheFor(catalog, cacheDir, server.url);
    const status = await restarted.warmUp();
    const pyodide = await freshPyodide(cacheDir);
    const { value } = await runWithPackages(pyodide, { script: 'import alpha\n' }, settings, 'alpha.VALUE');

    expect(status.counts).toEqual({ cached: 2, missing: 0, downloading: 0, failed: 1 });
    expect(value).toBe(42);
    // Only delta, whose download never verifies, is requested again.
    expect(server.requests.slice(requestsBefore)).toEqual(['/delta-1.0.0-py3-none-any.whl']);
  });

  it('rejects a sha256 mismatch', async () => {
    const pyodide = await planningPyodide();
    const plan = planPackages(pyodide, { script: 'import delta\n' }, settings);

    expect(existsSync(path.join(cacheDir, 'delta-1.0.0-py3-none-any.whl'))).toBe(false);
    expect(plan.error?.type).toBe('PackageNotCachedError');
    expect(plan.error?.line).toBe(1);
    expect(plan.error?.message).toContain("Python package 'delta' 1.0.0 (imported on line 1)");
    expect(plan.error?.message).toContain(`sha256 mismatch for ${server.url}delta-1.0.0-py3-none-any.whl`);
    expect(plan.error?.message).toContain(`expected ${'0'.repeat(64)}`);
  });

  it('rejects modules outside the allowlist', async () => {
    const pyodide = await planningPyodide();
    const plan = planPackages(pyodide, { script: 'import math\nimport gamma\n' }, settings);

    expect(plan.toLoad).toEqual([]);
    expect(plan.error?.type).toBe('ModuleNotAllowedError');
    expect(plan.error?.line).toBe(2);
    expect(plan.error?.message).toContain("Module 'gamma' (imported on line 2) is not in the allowlist");
    expect(plan.error?.hint).toContain('GET /api/sandbox/packages');
    expect(plan.error?.hint).toContain('Libraries panel');
  });

  it('loads import_module and __import__ targets', async () => {
    const pyodide = await freshPyodide(cacheDir);
    const script = 'import importlib\nmodule = importlib.import_module("alpha")\nother = __import__("beta")\n';
    const { plan, value } = await runWithPackages(pyodide, { script }, settings, '[module.VALUE, other.VALUE]');

    expect(plan.error).toBeUndefined();
    expect(plan.packages).toEqual(['beta', 'alpha']);
    expect(value.toJs()).toEqual([42, 40]);
  });

  it('rejects import_module outside the allowlist', async () => {
    const pyodide = await planningPyodide();
    const plan = planPackages(pyodide, { script: 'import importlib\n\nimportlib.import_module("gamma.sub")\n' }, settings);

    expect(plan.error?.type).toBe('ModuleNotAllowedError');
    expect(plan.error?.line).toBe(3);
    expect(plan.error?.message).toContain("Module 'gamma'");
  });

  it('tolerates imports guarded by except ImportError', async () => {
    const pyodide = await planningPyodide();
    const guarded = [
      'try:',
      '    import gamma',
      'except ImportError:',
      '    gamma = None',
      'try:',
      '    from oldplot import chart',
      'except (ValueError, ModuleNotFoundError):',
      '    chart = None',
      'try:',
      '    import alpha',
      'except Exception:',
      '    alpha = None',
    ].join('\n');
    const unguardedLater = 'try:\n    import gamma\nexcept ImportError:\n    pass\nimport gamma\n';
    const wrongHandler = 'try:\n    import gamma\nexcept KeyError:\n    pass\n';

    const tolerated = planPackages(pyodide, { script: guarded }, settings);
    const later = planPackages(pyodide, { script: unguardedLater }, settings);
    const notCaught = planPackages(pyodide, { script: wrongHandler }, settings);

    expect(tolerated.error).toBeUndefined();
    expect(tolerated.packages).toEqual(['beta', 'alpha']);
    expect(later.error?.line).toBe(5);
    expect(notCaught.error?.line).toBe(2);
  });

  it('names an artifact import without a script line', async () => {
    const pyodide = await planningPyodide();
    const plan = planPackages(pyodide, { prelude: 'x = 1\nimport gamma\n', script: 'import alpha\n' }, settings);

    expect(plan.error?.message).toContain('on line 2 of an executable artifact');
    expect(plan.error?.line).toBeUndefined();
  });

  it('prepares packages for a worker in one call', async () => {
    const pyodide = await freshPyodide(cacheDir);

    const prepared = await preparePackages(pyodide, { prelude: 'import beta\n', script: 'import math\n' }, settings);
    const rejected = await preparePackages(pyodide, { script: 'import gamma\n' }, settings);
    const withoutCache = await preparePackages(pyodide, { script: 'import alpha\n' }, undefined);

    expect(prepared.error).toBeUndefined();
    expect(prepared.packages).toEqual(['beta']);
    expect(prepared.packageLoadMs).toBeGreaterThanOrEqual(0);
    expect(pyodide.runPython('import beta\nbeta.VALUE')).toBe(40);
    expect(rejected.error?.type).toBe('ModuleNotAllowedError');
    expect(rejected.packages).toEqual([]);
    expect(withoutCache).toEqual({ packages: [], packageLoadMs: 0 });
  });

  it('rejects a tampered cached file', async () => {
    const tamperedCache = temporaryFolder('tampered');
    await cacheFor(catalog, tamperedCache, source.folderUrl).warmUp();
    const tamperedSettings = catalog.planSettings({ cacheDir: tamperedCache, sourceUrl: source.folderUrl });
    writeFileSync(path.join(tamperedCache, 'beta-2.0.0-py3-none-any.whl'), 'not a wheel');
    const pyodide = await freshPyodide(tamperedCache);
    const { loaded } = await runWithPackages(pyodide, { script: 'import alpha\n' }, tamperedSettings, 'alpha.VALUE');

    expect(loaded.error?.type).toBe('PackageIntegrityError');
    expect(loaded.error?.message).toContain("Python package 'beta' 2.0.0 does not match the lock file");
  });
});

describe('Pyodide package planning without a package source', () => {
  it('reports an unreachable source at once', async () => {
    const source = wheelSource();
    const catalog = catalogFor(source);
    const cacheDir = temporaryFolder('offline');
    const unreachableUrl = await closedPortUrl();
    const status = await cacheFor(catalog, cacheDir, unreachableUrl).warmUp();
    const settings = catalog.planSettings({ cacheDir, sourceUrl: unreachableUrl });
    const pyodide = await planningPyodide();

    const startedAt = Date.now();
    const offline = planPackages(pyodide, { script: 'x = 1\nimport alpha\n' }, settings);
    const elapsedMs = Date.now() - startedAt;

    expect(status.warmUp).toBe('failed');
    expect(status.counts.failed).toBe(3);
    expect(offline.error?.type).toBe('PackageNotCachedError');
    expect(offline.error?.line).toBe(2);
    expect(offline.error?.message).toContain("Python package 'beta' 2.0.0 (needed by 'alpha', imported on line 2)");
    expect(offline.error?.message).toContain(`not in the package cache ${cacheDir}`);
    expect(offline.error?.message).toContain(`Downloading it from ${unreachableUrl} failed`);
    expect(offline.error?.message).toContain('ECONNREFUSED');
    expect(offline.error?.hint).toContain('npm run pyodide:fetch-packages -- --dest DIR');
    expect(offline.error?.hint).toContain('PYODIDE_PACKAGE_BASE_URL');
    console.info(`planning with an unreachable source took ${elapsedMs} ms`);
  });

  it('stops after a refused connection', async () => {
    const source = wheelSource();
    const catalog = catalogFor(source);
    const status = await new PackageCache({
      cacheDir: temporaryFolder('refused'),
      sourceUrl: await closedPortUrl(),
      packages: catalog.packages,
      concurrency: 1,
    }).warmUp();

    const notAttempted = status.packages.filter((entry) => entry.lastError?.startsWith('not attempted'));
    expect(notAttempted).toHaveLength(2);
  });

  it('status counts cached and failed packages', async () => {
    const source = wheelSource();
    const catalog = catalogFor(source);
    const cacheDir = temporaryFolder('status');
    rmSync(path.join(source.folder, 'beta-2.0.0-py3-none-any.whl'));
    const cache = cacheFor(catalog, cacheDir, source.folderUrl);

    const before = cache.status();
    const after = await cache.warmUp();
    const byName = Object.fromEntries(after.packages.map((entry) => [entry.name, entry]));

    expect(before.warmUp).toBe('idle');
    expect(before.counts).toEqual({ cached: 0, missing: 3, downloading: 0, failed: 0 });
    expect(after.warmUp).toBe('failed');
    expect(after.counts).toEqual({ cached: 1, missing: 0, downloading: 0, failed: 2 });
    expect(byName.alpha?.state).toBe('cached');
    expect(byName.alpha?.bytes).toBe(readFileSync(path.join(cacheDir, 'alpha-1.0.0-py3-none-any.whl')).length);
    expect(after.cachedBytes).toBe(byName.alpha?.bytes);
    expect(byName.beta?.state).toBe('failed');
    expect(byName.beta?.lastError).toContain('does not exist in the package source folder');
    expect(byName.delta?.lastError).toContain('sha256 mismatch');
    expect(readCacheStatusFile(cacheDir)?.counts).toEqual(after.counts);
  });

  it('replaces a corrupt cached file', async () => {
    const source = wheelSource();
    const catalog = catalogFor(source);
    const cacheDir = temporaryFolder('corrupt');
    const target = path.join(cacheDir, 'beta-2.0.0-py3-none-any.whl');
    writeFileSync(target, 'truncated download');

    const status = await cacheFor(catalog, cacheDir, source.folderUrl).warmUp();

    expect(status.packages.find((entry) => entry.name === 'beta')?.state).toBe('cached');
    expect(readFileSync(target)).toEqual(readFileSync(path.join(source.folder, 'beta-2.0.0-py3-none-any.whl')));
  });

  it('names removed and Docker-only libraries', async () => {
    const source = wheelSource();
    const catalog = catalogFor(source);
    const settings = catalog.planSettings({ cacheDir: temporaryFolder('refusals'), sourceUrl: source.folderUrl });
    const pyodide = await planningPyodide();

    const removed = planPackages(pyodide, { script: 'import oldplot\n' }, settings);
    const dockerOnly = planPackages(pyodide, { script: 'import math\nfrom rasterio import open\n' }, settings);
    const standardLibrary = planPackages(pyodide, { script: 'import math, json\nfrom collections import Counter\n' }, settings);
    const syntaxError = planPackages(pyodide, { script: 'import alpha\nif True print(1)\n' }, settings);

    expect(removed.error?.message).toContain("Library 'oldplot' (imported on line 1) was removed from the supported Python libraries: plotting is not needed");
    expect(dockerOnly.error?.message).toContain("Library 'rasterio' (imported on line 2) is available in Docker mode only, because it needs the GDAL native library");
    expect(dockerOnly.error?.hint).toContain('PYTHON_SANDBOX_MODE=docker');
    expect(standardLibrary).toEqual({ toLoad: [], packages: [] });
    // The runtime reports the syntax error with its line; planning loads nothing.
    expect(syntaxError).toEqual({ toLoad: [], packages: [] });
  });
});

describe('non-wheel packages', () => {
  it('loads a zip package by its lock name', async () => {
    // Pyodide ships some standard-library modules as zip files; this one stands in for pydoc_data.
    const content = zipSync({ 'pydoc_data/__init__.py': strToU8('VALUE = "from the cache"\n') });
    const sourceFolder = temporaryFolder('zip-source');
    writeFileSync(path.join(sourceFolder, 'pydoc_data-1.0.0.zip'), content);
    const lock = {
      info: { version: '0.26.4' },
      packages: {
        'pydoc-data': {
          name: 'pydoc_data',
          version: '1.0.0',
          file_name: 'pydoc_data-1.0.0.zip',
          install_dir: 'stdlib',
          sha256: sha256Hex(content),
          package_type: 'cpython_module',
          imports: ['pydoc_data'],
          depends: [],
          shared_library: true,
        },
      },
    };
    const libraries: PythonLibrary[] = [{ ...testLibrary('pydoc_data', '1.0.0'), importNames: ['pydoc_data'] }];
    const catalog = new PackageCatalog({ libraries, lock });
    const cacheDir = temporaryFolder('zip-cache');
    await cacheFor(catalog, cacheDir, `file://${sourceFolder}/`).warmUp();
    const settings = catalog.planSettings({ cacheDir, sourceUrl: `file://${sourceFolder}/` });
    const pyodide = await freshPyodide(cacheDir);

    const prepared = await preparePackages(pyodide, { script: 'import pydoc_data\n' }, settings);

    expect(prepared.error).toBeUndefined();
    expect(prepared.packages).toEqual(['pydoc_data']);
    expect(pyodide.runPython('import pydoc_data\npydoc_data.VALUE')).toBe('from the cache');
  });
});

describe('package source addresses', () => {
  it('uses a pinned address only with the default source', async () => {
    const pinnedFolder = temporaryFolder('pinned');
    const pinned = writeWheelSource(pinnedFolder, [{ name: 'pinnedpkg', version: '1.0.0', init: 'VALUE = 1\n' }]);
    const mirror = writeWheelSource(temporaryFolder('mirror'), [{ name: 'pinnedpkg', version: '1.0.0', init: 'VALUE = 1\n' }]);
    const pinnedServer = await startWheelServer(pinnedFolder);
    const mirrorServer = await startWheelServer(mirror.folder);
    const entry = { ...pinned.lock.packages.pinnedpkg!, url: `${pinnedServer.url}pinnedpkg-1.0.0-py3-none-any.whl` };

    try {
      const fromDefault = await new PackageCache({ cacheDir: temporaryFolder('cache'), sourceUrl: DEFAULT_PACKAGE_BASE_URL, packages: [entry] }).warmUp();
      const fromMirror = await new PackageCache({ cacheDir: temporaryFolder('cache'), sourceUrl: mirrorServer.url, packages: [entry] }).warmUp();

      expect(fromDefault.counts.cached).toBe(1);
      expect(fromMirror.counts.cached).toBe(1);
      expect(pinnedServer.requests).toEqual(['/pinnedpkg-1.0.0-py3-none-any.whl']);
      expect(mirrorServer.requests).toEqual(['/pinnedpkg-1.0.0-py3-none-any.whl']);
    } finally {
      await pinnedServer.close();
      await mirrorServer.close();
    }
  });

  it('normalizes and checks the source URL', () => {
    expect(normalizeSourceUrl('http://127.0.0.1:8080/mirror')).toBe('http://127.0.0.1:8080/mirror/');
    expect(normalizeSourceUrl('file:///srv/pyodide/')).toBe('file:///srv/pyodide/');
    expect(() => normalizeSourceUrl('ftp://127.0.0.1/pyodide/')).toThrow('PYODIDE_PACKAGE_BASE_URL has the unsupported scheme ftp:');
    expect(() => normalizeSourceUrl('not a url')).toThrow('PYODIDE_PACKAGE_BASE_URL is invalid: "not a url"');
  });
});

describe('cache state in error messages', () => {
  const source = 'http://127.0.0.1:9/';
  const statusWith = (entry: PackageCacheStatus['packages'][number], warmUp: PackageCacheStatus['warmUp'] = 'running'): PackageCacheStatus => ({
    cacheDir: '/cache',
    sourceUrl: source,
    warmUp,
    counts: { cached: 0, missing: 0, downloading: 0, failed: 0 },
    cachedBytes: 0,
    packages: [entry],
  });
  const entry = { name: 'numpy', version: '1.26.4', fileName: 'numpy.whl', bytes: 0 };

  const cases: Array<{ name: string; status: PackageCacheStatus | undefined; expected: string }> = [
    { name: 'failed', status: statusWith({ ...entry, state: 'failed', lastError: 'fetch failed: connect ECONNREFUSED' }), expected: `Downloading it from ${source} failed: fetch failed: connect ECONNREFUSED.` },
    { name: 'downloading', status: statusWith({ ...entry, state: 'downloading', bytes: 1024 }), expected: 'It is being downloaded from http://127.0.0.1:9/ (1024 bytes so far)' },
    { name: 'waiting in a running warm-up', status: statusWith({ ...entry, state: 'missing' }), expected: 'The background download from http://127.0.0.1:9/ is still running' },
    { name: 'no status file', status: undefined, expected: `The backend downloads missing packages from ${source} in the background` },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      expect(describeCacheState(testCase.status, 'numpy', source)).toContain(testCase.expected);
    });
  }
});
