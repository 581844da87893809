/**
 * Pyodide lock files (`pyodide-lock.json`): reading, merging and dependency resolution.
 *
 * This module runs in the API process and in the sandbox host's worker threads, so it
 * imports Node built-ins only.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** One package of a lock file, in the shape of pyodide-lock.json. */
export interface LockPackage {
  name: string;
  version: string;
  /** File name in the package source; the cache stores the file under this name. */
  file_name: string;
  /** `site` for wheels, `dynlib` for shared libraries, `stdlib` for unvendored modules. */
  install_dir: string;
  /** Hex sha256 of the file. */
  sha256: string;
  /** `package`, `shared_library` or `cpython_module`. */
  package_type: string;
  /** Top-level modules the package provides. */
  imports: string[];
  /** Names of the packages it needs, as lock keys (not always canonical). */
  depends: string[];
  shared_library?: boolean;
  /**
   * Download address used when the source is the Pyodide CDN, for packages the Pyodide
   * distribution lacks. A mirror serves them under `file_name` like every other package.
   */
  url?: string;
  /** Path of the `PYODIDE_EXTRA_LOCK_FILE` that listed the package, absent for Pyodide's own packages. */
  operatorLockFile?: string;
}

export interface LockFile {
  info: { version?: string; python?: string; [field: string]: unknown };
  packages: Record<string, LockPackage>;
}

/** Lowercase, with runs of `-`, `_` and `.` as one `-` (PEP 503); lock keys use this form. */
export function canonicalPackageName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** Path of pyodide-lock.json inside the installed `pyodide` npm package. */
export function pyodideLockFilePath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('pyodide/pyodide-lock.json');
}

export function readLockFile(filePath: string): LockFile {
  const parsed = JSON.parse(readFileSync(filePath, 'utf8')) as Partial<LockFile>;
  if (parsed.packages === undefined || typeof parsed.packages !== 'object') {
    throw new Error(`Invalid lock file ${filePath}: it has no "packages" object. Expected the shape of pyodide-lock.json.`);
  }
  return { info: parsed.info ?? {}, packages: parsed.packages };
}

/** Returns `base` with the entries of `extra` added; an entry of `extra` replaces one with the same key. */
export function mergeLockFiles(base: LockFile, extra: Record<string, LockPackage>): LockFile {
  return { info: base.info, packages: { ...base.packages, ...extra } };
}

export function findLockPackage(lock: LockFile, name: string): LockPackage | undefined {
  return lock.packages[canonicalPackageName(name)] ?? lock.packages[name];
}

/**
 * Returns `roots` and everything they depend on, each package after its dependencies.
 * Throws when a package or a dependency is not in the lock file.
 */
export function resolveDependencies(lock: LockFile, roots: readonly string[]): LockPackage[] {
  const ordered: LockPackage[] = [];
  const visited = new Set<string>();

  const visit = (name: string, neededBy: string | undefined): void => {
    const entry = findLockPackage(lock, name);
    if (entry === undefined) {
      const context = neededBy === undefined ? '' : ` (a dependency of ${neededBy})`;
      throw new Error(`Package "${name}"${context} is not in the lock file. Add its entry to the lock file or remove it from the allowlist.`);
    }
    const key = canonicalPackageName(entry.name);
    if (visited.has(key)) {
      return;
    }
    // Marked before the dependencies, so a dependency cycle ends instead of recursing forever.
    visited.add(key);
    for (const dependency of entry.depends) {
      visit(dependency, entry.name);
    }
    ordered.push(entry);
  };

  for (const root of roots) {
    visit(root, undefined);
  }
  return ordered;
}
