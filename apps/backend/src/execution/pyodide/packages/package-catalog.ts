/**
 * The allowlist joined with the lock file: which packages Pyodide mode keeps cached and
 * may load, which module names map to them, and the settings the sandbox workers plan with.
 * Used in the API process only.
 */
import { PYTHON_LIBRARIES, pyodideLoadableLibraries, type PythonLibrary } from '@policy-logic-studio/shared';
import {
  canonicalPackageName,
  mergeLockFiles,
  pyodideLockFilePath,
  readLockFile,
  resolveDependencies,
  type LockFile,
  type LockPackage,
} from './lock-file.js';
import type { PackagePlanSettings, RejectedImport } from './planner.js';
import { SUPPLEMENTARY_LOCK_PACKAGES } from './supplementary-lock.js';

/** Source of the packages when `PYODIDE_PACKAGE_BASE_URL` is not set: the Pyodide CDN. */
export const DEFAULT_PACKAGE_BASE_URL = 'https://cdn.jsdelivr.net/pyodide/v0.26.4/full/';

export interface PackageCatalogOptions {
  /** The library table; tests pass their own. */
  libraries?: readonly PythonLibrary[];
  /** The lock file; defaults to the `pyodide` npm package's lock merged with the pint entries. */
  lock?: LockFile;
  /**
   * Entries of `PYODIDE_EXTRA_LOCK_FILE`, checked by readOperatorLockFile(). They join the
   * lock, and their imports join the allowlist.
   */
  operatorPackages?: Record<string, LockPackage>;
}

export interface PlanSettingsOptions {
  cacheDir: string;
  sourceUrl: string;
  verifySha256?: boolean;
}

export class PackageCatalog {
  readonly libraries: readonly PythonLibrary[];
  readonly lock: LockFile;
  /** Every package Pyodide mode may load, each after its dependencies. */
  readonly packages: readonly LockPackage[];

  constructor(options: PackageCatalogOptions = {}) {
    const operatorPackages = options.operatorPackages ?? {};
    this.libraries = [...(options.libraries ?? PYTHON_LIBRARIES), ...Object.values(operatorPackages).map(operatorLibrary)];
    this.lock = mergeLockFiles(options.lock ?? defaultLockFile(), operatorPackages);
    const roots = pyodideLoadableLibraries(this.libraries).map((entry) => entry.name);
    this.packages = resolveDependencies(this.lock, roots);
    this.checkVersions();
  }

  /** Names of the lock packages a library needs, itself included. */
  packagesOf(library: PythonLibrary): string[] {
    return resolveDependencies(this.lock, [library.name]).map((entry) => entry.name);
  }

  planSettings(options: PlanSettingsOptions): PackagePlanSettings {
    const packages: Record<string, LockPackage> = {};
    const importNames: Record<string, string> = {};
    for (const entry of this.packages) {
      const key = canonicalPackageName(entry.name);
      packages[key] = entry;
      for (const moduleName of entry.imports) {
        importNames[moduleName] ??= key;
      }
    }
    for (const library of pyodideLoadableLibraries(this.libraries)) {
      for (const moduleName of library.importNames) {
        importNames[moduleName] = canonicalPackageName(library.name);
      }
    }

    return {
      cacheDir: options.cacheDir,
      sourceUrl: options.sourceUrl,
      packages,
      importNames,
      rejectedImports: this.rejectedImports(importNames),
      verifySha256: options.verifySha256 ?? true,
    };
  }

  private rejectedImports(importNames: Record<string, string>): Record<string, RejectedImport> {
    const rejected: Record<string, RejectedImport> = {};
    for (const library of this.libraries) {
      if (library.category !== 'removed' && library.category !== 'docker-only') {
        continue;
      }
      for (const moduleName of library.importNames) {
        // A module that an allowlisted package provides stays importable.
        if (importNames[moduleName] === undefined) {
          rejected[moduleName] = { library: library.name, category: library.category, reason: library.reason ?? 'it is not supported' };
        }
      }
    }
    return rejected;
  }

  /** A table version that differs from the lock file's is a mistake in one of them. */
  private checkVersions(): void {
    for (const library of pyodideLoadableLibraries(this.libraries)) {
      const entry = this.packages.find((candidate) => canonicalPackageName(candidate.name) === canonicalPackageName(library.name));
      if (entry !== undefined && entry.version !== library.version) {
        throw new Error(
          `Python library table and lock file disagree on ${library.name}: the table pins ${library.version}, the lock file has ${entry.version}. Update one of them.`,
        );
      }
    }
  }
}

/** pyodide-lock.json of the installed `pyodide` npm package, with the pint entries added. */
export function defaultLockFile(): LockFile {
  return mergeLockFiles(readLockFile(pyodideLockFilePath()), SUPPLEMENTARY_LOCK_PACKAGES);
}

/** Builds the library-table row of an operator's package, which loads in Pyodide mode only. */
function operatorLibrary(entry: LockPackage): PythonLibrary {
  return {
    name: entry.name,
    importNames: entry.imports,
    version: entry.version,
    category: 'library',
    modes: ['pyodide'],
    reason: `listed in ${entry.operatorLockFile ?? 'PYODIDE_EXTRA_LOCK_FILE'}`,
    source: 'operator',
  };
}
