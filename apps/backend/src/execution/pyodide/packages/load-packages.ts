/**
 * Loads the files of a package plan into a Pyodide interpreter, from the cache only.
 * Runs in the sandbox worker (Node built-ins and this folder only, like planner.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PyodideInterface } from 'pyodide';
import type { ScriptError } from '@policy-logic-studio/shared';
import { canonicalPackageName, type LockPackage } from './lock-file.js';
import type { PackagePlan, PackagePlanSettings } from './planner.js';

export interface PackageLoadResult {
  /** Time spent verifying and loading, in milliseconds. */
  packageLoadMs: number;
  error?: ScriptError;
}

/**
 * Loads every file of `plan` into `pyodide`: shared libraries first, by lock name
 * (Pyodide reads them from its `packageCacheDir`, which must be the cache folder), then
 * all wheels by path.
 */
export async function loadPlannedPackages(
  pyodide: PyodideInterface,
  plan: PackagePlan,
  settings: PackagePlanSettings,
): Promise<PackageLoadResult> {
  const startedAt = performance.now();
  const elapsed = (): number => Math.round(performance.now() - startedAt);
  if (plan.toLoad.length === 0) {
    return { packageLoadMs: 0 };
  }

  if (settings.verifySha256) {
    const error = verifyCachedFiles(plan, settings);
    if (error !== undefined) {
      return { packageLoadMs: elapsed(), error };
    }
  }

  const sharedLibraries = plan.packages.filter((_name, index) => !plan.toLoad[index]!.endsWith('.whl'));
  const wheels = plan.toLoad.filter((filePath) => filePath.endsWith('.whl'));
  const failures: string[] = [];
  const options = { messageCallback: () => {}, errorCallback: (message: string) => failures.push(message), checkIntegrity: false };
  if (sharedLibraries.length > 0) {
    await pyodide.loadPackage(sharedLibraries, options);
  }
  if (failures.length === 0 && wheels.length > 0) {
    await pyodide.loadPackage(wheels, options);
  }

  if (failures.length > 0) {
    return {
      packageLoadMs: elapsed(),
      error: {
        type: 'PackageLoadError',
        message: `Loading the Python packages ${plan.packages.join(', ')} from ${settings.cacheDir} failed: ${failures.join(' ')}`,
        hint: 'Delete the named files from the package cache so that the backend downloads them again, then run the script again.',
      },
    };
  }
  return { packageLoadMs: elapsed() };
}

/** Compares each planned file with the sha256 of its lock entry. */
function verifyCachedFiles(plan: PackagePlan, settings: PackagePlanSettings): ScriptError | undefined {
  for (const [index, filePath] of plan.toLoad.entries()) {
    const entry = settings.packages[canonicalPackageName(plan.packages[index]!)];
    if (entry === undefined) {
      continue;
    }
    const actual = createHash('sha256').update(readFileSync(filePath)).digest('hex');
    if (actual !== entry.sha256) {
      return {
        type: 'PackageIntegrityError',
        message:
          `The cached file ${path.basename(filePath)} of Python package '${entry.name}' ${entry.version} does not match the lock file: ` +
          `sha256 is ${actual}, expected ${entry.sha256}. It was not loaded.`,
        hint: integrityHint(filePath, entry),
      };
    }
  }
  return undefined;
}

function integrityHint(filePath: string, entry: LockPackage): string {
  if (entry.operatorLockFile !== undefined) {
    return `Replace ${filePath} with the wheel whose sha256 is ${entry.sha256}, or correct the sha256 of '${entry.name}' in ${entry.operatorLockFile} and restart the backend.`;
  }
  return `Delete ${filePath}; the backend downloads and verifies it again at its next start or warm-up.`;
}
