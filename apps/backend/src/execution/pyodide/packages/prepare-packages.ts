/**
 * The one call a Pyodide worker makes before a script runs: plan the packages the script
 * imports, then load them from the cache. Runs in the sandbox worker, like planner.ts.
 */
import type { PyodideInterface } from 'pyodide';
import type { ScriptError } from '@policy-logic-studio/shared';
import { loadPlannedPackages } from './load-packages.js';
import { planPackages, type PackagePlanSettings, type ScriptSource } from './planner.js';

export interface PreparedPackages {
  /** Lock names of the loaded packages, dependencies first; reported in `sandbox:complete`. */
  packages: string[];
  /** Time spent verifying and loading them, in milliseconds. */
  packageLoadMs: number;
  /** Set when the script must not run; send it as the run's `sandbox:error`. */
  error?: ScriptError;
}

/**
 * Plans and loads the packages `source` imports. Call it before runtime.py hardens the
 * interpreter. Without settings (no package cache configured), loads nothing.
 */
export async function preparePackages(
  pyodide: PyodideInterface,
  source: ScriptSource,
  settings: PackagePlanSettings | undefined,
): Promise<PreparedPackages> {
  if (settings === undefined) {
    return { packages: [], packageLoadMs: 0 };
  }

  let plan: ReturnType<typeof planPackages>;
  try {
    plan = planPackages(pyodide, source, settings);
  } catch (error) {
    return { packages: [], packageLoadMs: 0, error: planningFailure(error) };
  }
  if (plan.error !== undefined) {
    return { packages: [], packageLoadMs: 0, error: plan.error };
  }

  const loaded = await loadPlannedPackages(pyodide, plan, settings);
  if (loaded.error !== undefined) {
    return { packages: [], packageLoadMs: loaded.packageLoadMs, error: loaded.error };
  }
  return { packages: plan.packages, packageLoadMs: loaded.packageLoadMs };
}

function planningFailure(error: unknown): ScriptError {
  const reason = error instanceof Error ? error.message : String(error);
  return {
    type: 'PackagePlanError',
    message: `Reading the script's imports to plan its Python packages failed: ${reason}`,
    hint: 'The sandbox failed, not the script: run it again, and report this message to the backend operator if it repeats.',
  };
}
