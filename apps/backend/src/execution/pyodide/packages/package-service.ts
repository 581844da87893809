/**
 * The Python library service of the API process: the library table with its availability
 * in the running mode, the Pyodide package cache and its warm-up, and the settings the
 * sandbox workers plan each run with.
 */
import path from 'node:path';
import {
  PYODIDE_VERSION,
  type PackageCacheEntry,
  type PackageCacheStatus,
  type PythonLibrariesResponse,
  type PythonLibrary,
  type PythonLibraryAvailability,
  type PythonSandboxMode,
} from '@policy-logic-studio/shared';
import { DEFAULT_PACKAGE_BASE_URL, PackageCatalog, type PackageCatalogOptions } from './package-catalog.js';
import { PackageCache, type CacheLogger } from './package-cache.js';
import type { PackagePlanSettings } from './planner.js';

export interface PythonPackageServiceOptions extends PackageCatalogOptions {
  mode: PythonSandboxMode;
  /** `PYODIDE_PACKAGE_CACHE_DIR`; callers default it to `<DATA_DIR>/pyodide-packages`. */
  cacheDir: string;
  /** `PYODIDE_PACKAGE_BASE_URL`; defaults to the Pyodide 0.26.4 CDN. */
  sourceUrl?: string;
  logger?: CacheLogger;
  /** Hash each file before a run loads it (default true). */
  verifySha256?: boolean;
  downloadTimeoutMs?: number;
}

export class PythonPackageService {
  readonly mode: PythonSandboxMode;
  readonly catalog: PackageCatalog;
  readonly cache: PackageCache;
  private readonly verifySha256: boolean;

  constructor(options: PythonPackageServiceOptions) {
    this.mode = options.mode;
    this.catalog = new PackageCatalog(options);
    this.cache = new PackageCache({
      cacheDir: options.cacheDir,
      sourceUrl: options.sourceUrl ?? DEFAULT_PACKAGE_BASE_URL,
      packages: this.catalog.packages,
      logger: options.logger,
      downloadTimeoutMs: options.downloadTimeoutMs,
    });
    this.verifySha256 = options.verifySha256 ?? true;
  }

  /** Starts the background warm-up in Pyodide mode; Docker mode needs no package cache. */
  start(): void {
    if (this.mode === 'pyodide') {
      this.cache.startWarmUp();
    }
  }

  /** Runs a warm-up now (again), for example after the cache folder was filled by hand. */
  warmUp(): Promise<PackageCacheStatus> {
    return this.cache.warmUp();
  }

  status(): PackageCacheStatus {
    return this.cache.status();
  }

  /** Builds the settings the sandbox host hands to every worker (JSON-serializable). */
  planSettings(): PackagePlanSettings {
    return this.catalog.planSettings({
      cacheDir: this.cache.cacheDir,
      sourceUrl: this.cache.sourceUrl,
      verifySha256: this.verifySha256,
    });
  }

  libraries(): PythonLibrariesResponse {
    const status = this.cache.status();
    const byName = new Map(status.packages.map((entry) => [entry.name, entry]));
    return {
      mode: this.mode,
      pyodideVersion: PYODIDE_VERSION,
      libraries: this.catalog.libraries.map((library) => this.availability(library, byName)),
    };
  }

  close(): void {
    this.cache.close();
  }

  private availability(library: PythonLibrary, cached: Map<string, PackageCacheEntry>): PythonLibraryAvailability {
    const row = { ...library, source: library.source ?? 'product' };
    if (!library.modes.includes(this.mode)) {
      const detail = library.category === 'removed' ? library.reason : `available in ${library.modes.join(' and ')} mode only`;
      return { ...row, available: false, ...(detail === undefined ? {} : { detail }) };
    }
    // NOTE: in Docker mode this trusts the image to contain the library; the Docker
    // runner's health report lists what the image actually has.
    if (this.mode === 'docker' || library.category === 'standard-library') {
      return { ...row, available: true };
    }

    const notReady = this.catalog
      .packagesOf(library)
      .map((name) => cached.get(name))
      .filter((entry): entry is PackageCacheEntry => entry !== undefined && entry.state !== 'cached');
    if (notReady.length === 0) {
      return { ...row, available: true };
    }
    const detail = notReady.map(describeNotReady).join(', ');
    return { ...row, available: false, detail };
  }
}

function describeNotReady(entry: PackageCacheEntry): string {
  return entry.lastError === undefined ? `${entry.name}: ${entry.state}` : `${entry.name}: ${entry.state} (${entry.lastError})`;
}

/** Default of `PYODIDE_PACKAGE_CACHE_DIR`: `<dataDir>/pyodide-packages`. */
export function defaultPackageCacheDir(dataDir: string): string {
  return path.join(dataDir, 'pyodide-packages');
}
