import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express, { type ErrorRequestHandler } from 'express';
import supertest from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import type {
  PythonLibrariesResponse,
  PythonLibraryAvailability,
  SandboxStatusResponse,
} from '@policy-logic-studio/shared';
import { AppError } from '../src/errors.js';
import { PackageCatalog } from '../src/execution/pyodide/packages/package-catalog.js';
import { PythonPackageService } from '../src/execution/pyodide/packages/package-service.js';
import { createSandboxRouter } from '../src/http/sandbox-routes.js';
import { closedPortUrl, testLibrary, writeWheelSource } from './support/wheels.js';

const folders: string[] = [];

function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), `pls-${prefix}-`));
  folders.push(folder);
  return folder;
}

/** Builds an app with the sandbox router and the API's JSON error shape. */
function sandboxApi(service: PythonPackageService) {
  const app = express();
  app.use('/api/sandbox', createSandboxRouter({ pythonPackages: service }));
  const renderError: ErrorRequestHandler = (error, _req, res, _next) => {
    const appError = error instanceof AppError ? error : new AppError(500, 'internal_error', String(error));
    res.status(appError.status).json({ error: { code: appError.code, message: appError.message, details: null } });
  };
  app.use(renderError);
  return supertest(app);
}

function byName(libraries: PythonLibraryAvailability[]): Record<string, PythonLibraryAvailability> {
  return Object.fromEntries(libraries.map((library) => [library.name, library]));
}

afterAll(() => {
  for (const folder of folders) {
    rmSync(folder, { recursive: true, force: true });
  }
});

describe('production library table', () => {
  const settings = new PackageCatalog().planSettings({ cacheDir: '/nonexistent', sourceUrl: 'file:///nonexistent/' });

  it('maps import names to lock packages', () => {
    expect(settings.importNames.sklearn).toBe('scikit-learn');
    expect(settings.importNames.dateutil).toBe('python-dateutil');
    expect(settings.importNames.numpy).toBe('numpy');
    expect(settings.importNames.pint).toBe('pint');
    expect(settings.importNames.yaml).toBe('pyyaml');
  });

  it('pins every allowlisted package with a sha256', () => {
    for (const name of ['numpy', 'scipy', 'sympy', 'pandas', 'pint', 'cftime', 'astropy', 'statsmodels', 'networkx', 'scikit-learn', 'xarray', 'geopandas']) {
      expect(settings.packages[name]?.sha256, name).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(settings.packages.numpy?.version).toBe('1.26.4');
    expect(settings.packages['scikit-learn']?.version).toBe('1.4.2');
    expect(settings.packages.pint?.depends).toEqual(['flexcache', 'flexparser', 'platformdirs', 'typing-extensions']);
    expect(settings.packages.openblas?.package_type).toBe('shared_library');
  });

  it('keeps removed libraries out of the loadable set', () => {
    for (const name of ['duckdb', 'sqlalchemy', 'bokeh', 'altair', 'cartopy', 'seaborn']) {
      expect(settings.packages[name], name).toBeUndefined();
      expect(settings.rejectedImports[name]?.category, name).toBe('removed');
    }
    expect(settings.rejectedImports.duckdb?.reason).toContain('pandas');
    expect(settings.rejectedImports.rasterio?.category).toBe('docker-only');
    expect(settings.rejectedImports.rioxarray?.category).toBe('docker-only');
  });
});

describe('GET /api/sandbox/packages', () => {
  it('lists missing Pyodide packages as unavailable', async () => {
    const service = new PythonPackageService({ mode: 'pyodide', cacheDir: temporaryFolder('empty-cache'), sourceUrl: await closedPortUrl() });

    const response = await sandboxApi(service).get('/api/sandbox/packages');
    const body = response.body as PythonLibrariesResponse;
    const libraries = byName(body.libraries);

    expect(response.status).toBe(200);
    expect(body.mode).toBe('pyodide');
    expect(body.pyodideVersion).toBe('0.26.4');
    expect(libraries.numpy?.available).toBe(false);
    expect(libraries.numpy?.detail).toBe('numpy: missing');
    expect(libraries['scikit-learn']?.importNames).toEqual(['sklearn']);
    expect(libraries['python-standard-library']?.available).toBe(true);
    expect(libraries.seaborn?.available).toBe(false);
    expect(libraries.seaborn?.detail).toContain('plotting');
    expect(libraries.rasterio?.available).toBe(false);
    expect(libraries.rasterio?.detail).toBe('available in docker mode only');
  });

  it('lists Docker-only libraries as available in Docker mode', async () => {
    const service = new PythonPackageService({ mode: 'docker', cacheDir: temporaryFolder('docker-cache') });

    const body = (await sandboxApi(service).get('/api/sandbox/packages')).body as PythonLibrariesResponse;
    const libraries = byName(body.libraries);

    expect(libraries.rasterio?.available).toBe(true);
    expect(libraries.numpy?.available).toBe(true);
    expect(libraries.duckdb?.available).toBe(false);
  });

  it('marks a library available once its packages are cached', async () => {
    const source = writeWheelSource(temporaryFolder('source'), [
      { name: 'beta', version: '2.0.0', init: 'VALUE = 40\n' },
      { name: 'alpha', version: '1.0.0', init: 'import beta\n', depends: ['beta'] },
    ]);
    const service = new PythonPackageService({
      mode: 'pyodide',
      cacheDir: temporaryFolder('cache'),
      sourceUrl: source.folderUrl,
      libraries: [testLibrary('alpha', '1.0.0')],
      lock: source.lock,
    });
    const api = sandboxApi(service);

    const before = byName(((await api.get('/api/sandbox/packages')).body as PythonLibrariesResponse).libraries);
    await service.warmUp();
    const after = byName(((await api.get('/api/sandbox/packages')).body as PythonLibrariesResponse).libraries);

    expect(before.alpha?.available).toBe(false);
    expect(before.alpha?.detail).toBe('beta: missing, alpha: missing');
    expect(after.alpha?.available).toBe(true);
  });
});

describe('GET /api/sandbox/status', () => {
  it('reports the cache after a warm-up', async () => {
    const source = writeWheelSource(temporaryFolder('source'), [{ name: 'alpha', version: '1.0.0', init: 'VALUE = 1\n' }]);
    const cacheDir = temporaryFolder('cache');
    const service = new PythonPackageService({
      mode: 'pyodide',
      cacheDir,
      sourceUrl: source.folderUrl,
      libraries: [testLibrary('alpha', '1.0.0')],
      lock: source.lock,
    });
    await service.warmUp();

    const response = await sandboxApi(service).get('/api/sandbox/status');
    const body = response.body as SandboxStatusResponse;

    expect(response.status).toBe(200);
    expect(body.mode).toBe('pyodide');
    expect(body.packageCache.cacheDir).toBe(cacheDir);
    expect(body.packageCache.sourceUrl).toBe(source.folderUrl);
    expect(body.packageCache.warmUp).toBe('finished');
    expect(body.packageCache.counts.cached).toBe(1);
    expect(body.packageCache.packages[0]).toMatchObject({ name: 'alpha', state: 'cached', fileName: 'alpha-1.0.0-py3-none-any.whl' });
  });
});

describe('POST /api/sandbox/warm-up', () => {
  it('starts a warm-up in Pyodide mode', async () => {
    const source = writeWheelSource(temporaryFolder('source'), [{ name: 'alpha', version: '1.0.0', init: 'VALUE = 1\n' }]);
    const service = new PythonPackageService({
      mode: 'pyodide',
      cacheDir: temporaryFolder('cache'),
      sourceUrl: source.folderUrl,
      libraries: [testLibrary('alpha', '1.0.0')],
      lock: source.lock,
    });

    const response = await sandboxApi(service).post('/api/sandbox/warm-up');
    const finished = await service.warmUp();

    expect(response.status).toBe(202);
    expect((response.body as SandboxStatusResponse).packageCache.warmUp).toBe('running');
    expect(finished.counts.cached).toBe(1);
  });

  it('rejects the request in Docker mode', async () => {
    const service = new PythonPackageService({ mode: 'docker', cacheDir: temporaryFolder('docker-cache') });

    const response = await sandboxApi(service).post('/api/sandbox/warm-up');

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('not_pyodide_mode');
    expect(response.body.error.message).toContain('PYTHON_SANDBOX_MODE=docker');
  });
});
