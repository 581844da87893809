/**
 * Per-run package planning in a Pyodide worker: which allowlisted packages a script
 * imports, which cached files to load for them (dependencies first), and a clear error
 * for an import that Pyodide mode cannot serve.
 *
 * Runs inside the sandbox host, whose permission model lets it read the compiled backend,
 * the Pyodide runtime and the package cache only. So this file imports Node built-ins and
 * its own folder at run time, and takes everything else from `PackagePlanSettings`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { PyodideInterface } from 'pyodide';
import type { ScriptError } from '@policy-logic-studio/shared';
import { scanImports, type ImportedModule } from './import-scan.js';
import { canonicalPackageName, type LockPackage } from './lock-file.js';
import { describeCacheState, readCacheStatusFile } from './status-file.js';

/** Reason a library in the table cannot be imported in Pyodide mode. */
export interface RejectedImport {
  library: string;
  category: 'removed' | 'docker-only';
  reason: string;
}

/** Everything the planner needs, built in the API process and passed to each worker as JSON. */
export interface PackagePlanSettings {
  cacheDir: string;
  /** `PYODIDE_PACKAGE_BASE_URL`, named in messages about missing packages. */
  sourceUrl: string;
  /** Lock entries of every package a run may load (allowlist and dependencies), by canonical name. */
  packages: Record<string, LockPackage>;
  /** Top-level module name to the canonical name of the package that provides it. */
  importNames: Record<string, string>;
  /** Top-level module name of a removed or Docker-only library to the reason. */
  rejectedImports: Record<string, RejectedImport>;
  /** Hash every file before loading it, so a file changed after the warm-up is rejected. */
  verifySha256: boolean;
}

/** The code of one run: the script and the joined code of its executable artifacts. */
export interface ScriptSource {
  script: string;
  prelude?: string;
}

export interface PackagePlan {
  /** Absolute paths of the cached files to load, each after its dependencies. */
  toLoad: string[];
  /** Lock names of the packages to load, in the order of `toLoad`. */
  packages: string[];
  /** Set when the run must not start; `toLoad` is then empty. */
  error?: ScriptError;
}

const LIBRARIES_LOCATION = 'the Libraries panel or GET /api/sandbox/packages';

type ImportOrigin = 'script' | 'prelude';

interface LocatedImport extends ImportedModule {
  origin: ImportOrigin;
}

/** Maps the imports of `source` to the cached files to load, or to the error that stops the run. */
export function planPackages(pyodide: PyodideInterface, source: ScriptSource, settings: PackagePlanSettings): PackagePlan {
  const imports: LocatedImport[] = [
    ...scanImports(pyodide, source.prelude ?? '').map((found) => ({ ...found, origin: 'prelude' as const })),
    ...scanImports(pyodide, source.script).map((found) => ({ ...found, origin: 'script' as const })),
  ];

  const roots = new Map<string, LocatedImport>();
  for (const found of imports) {
    const packageName = settings.importNames[found.module];
    if (packageName !== undefined) {
      if (!roots.has(packageName)) {
        roots.set(packageName, found);
      }
      continue;
    }
    const error = checkUnlistedImport(found, settings);
    if (error !== undefined) {
      return { toLoad: [], packages: [], error };
    }
  }

  const ordered = orderWithDependencies(settings, roots);
  const missing = ordered.find(({ entry }) => !existsSync(cachedFilePath(settings, entry)));
  if (missing !== undefined) {
    return { toLoad: [], packages: [], error: notCachedError(settings, missing.entry, missing.neededBy) };
  }
  return {
    toLoad: ordered.map(({ entry }) => cachedFilePath(settings, entry)),
    packages: ordered.map(({ entry }) => entry.name),
  };
}

export function cachedFilePath(settings: Pick<PackagePlanSettings, 'cacheDir'>, entry: LockPackage): string {
  return path.join(settings.cacheDir, path.basename(entry.file_name));
}

/** Checks an import that no allowlisted package provides: fine for the standard library, an error otherwise. */
function checkUnlistedImport(found: LocatedImport, settings: PackagePlanSettings): ScriptError | undefined {
  const rejected = settings.rejectedImports[found.module];
  if (rejected !== undefined && !found.optional) {
    return rejectedImportError(found, rejected);
  }
  // The standard library and modules built into the interpreter need no package;
  // runtime.py decides at import time which of them a script may use. A guarded import
  // (`try: import x` / `except ImportError:`) fails at run time and the script handles it.
  if (found.standardLibrary || found.builtIn || found.optional) {
    return undefined;
  }
  return {
    type: 'ModuleNotAllowedError',
    message: `Module '${found.module}' (imported ${where(found)}) is not in the allowlist of Python libraries for Pyodide mode.`,
    hint: `Use one of the supported libraries listed in ${LIBRARIES_LOCATION}.`,
    ...lineOf(found),
  };
}

function rejectedImportError(found: LocatedImport, rejected: RejectedImport): ScriptError {
  if (rejected.category === 'docker-only') {
    return {
      type: 'ModuleNotAllowedError',
      message: `Library '${rejected.library}' (imported ${where(found)}) is available in Docker mode only, because it ${rejected.reason}.`,
      hint: `Run the backend with PYTHON_SANDBOX_MODE=docker, or use a library listed in ${LIBRARIES_LOCATION}.`,
      ...lineOf(found),
    };
  }
  return {
    type: 'ModuleNotAllowedError',
    message: `Library '${rejected.library}' (imported ${where(found)}) was removed from the supported Python libraries: ${rejected.reason}.`,
    hint: `Remove the import; ${LIBRARIES_LOCATION} lists the supported libraries.`,
    ...lineOf(found),
  };
}

interface PlannedEntry {
  entry: LockPackage;
  /** The script's import that made this package necessary. */
  neededBy: { root: string; found: LocatedImport };
}

/** Lists the packages of `roots` and their dependencies, each after its dependencies. */
function orderWithDependencies(settings: PackagePlanSettings, roots: Map<string, LocatedImport>): PlannedEntry[] {
  const ordered: PlannedEntry[] = [];
  const visited = new Set<string>();

  const visit = (name: string, neededBy: PlannedEntry['neededBy']): void => {
    const key = canonicalPackageName(name);
    const entry = settings.packages[key];
    if (entry === undefined || visited.has(key)) {
      // Unknown dependencies were rejected when the settings were built.
      return;
    }
    visited.add(key);
    for (const dependency of entry.depends) {
      visit(dependency, neededBy);
    }
    ordered.push({ entry, neededBy });
  };

  for (const [root, found] of roots) {
    visit(root, { root, found });
  }
  return ordered;
}

function notCachedError(settings: PackagePlanSettings, entry: LockPackage, neededBy: PlannedEntry['neededBy']): ScriptError {
  const reason =
    canonicalPackageName(entry.name) === neededBy.root
      ? `imported ${where(neededBy.found)}`
      : `needed by '${neededBy.root}', imported ${where(neededBy.found)}`;
  const cacheState = describeCacheState(readCacheStatusFile(settings.cacheDir), entry.name, settings.sourceUrl);
  if (entry.operatorLockFile !== undefined) {
    return {
      type: 'PackageNotCachedError',
      message:
        `Python package '${entry.name}' ${entry.version} (${reason}) is not in the package cache ${settings.cacheDir} ` +
        `(expected file ${path.basename(entry.file_name)}, listed in ${entry.operatorLockFile}). ${cacheState}`,
      hint: `Copy ${path.basename(entry.file_name)} into ${settings.cacheDir}, or serve it from PYODIDE_PACKAGE_BASE_URL, then restart the backend.`,
      ...lineOf(neededBy.found),
    };
  }
  return {
    type: 'PackageNotCachedError',
    message:
      `Python package '${entry.name}' ${entry.version} (${reason}) is not in the package cache ${settings.cacheDir} ` +
      `(expected file ${path.basename(entry.file_name)}). ${cacheState}`,
    hint:
      'Check GET /api/sandbox/status for the download state. On a machine that cannot reach the package source, ' +
      `run "npm run pyodide:fetch-packages -- --dest DIR" where it is reachable and copy DIR into ${settings.cacheDir}, ` +
      'or set PYODIDE_PACKAGE_BASE_URL to a reachable mirror (http(s):// or file://).',
    ...lineOf(neededBy.found),
  };
}

function where(found: LocatedImport): string {
  if (found.origin === 'prelude') {
    return `on line ${found.line} of an executable artifact`;
  }
  return `on line ${found.line}`;
}

/** `line` refers to the block's own script, so imports in artifacts leave it unset. */
function lineOf(found: LocatedImport): { line?: number } {
  return found.origin === 'script' ? { line: found.line } : {};
}
