import { readFileSync } from 'node:fs';
import path from 'node:path';
import ivm from 'isolated-vm';
import type { Logger } from 'pino';
import { backendRoot } from '../../paths.js';
import { LibraryBundles, compileWithCodeCache, type LibraryName } from './libraries.js';
import { TABLE_HELPER_FACTORY, TABLE_HELPER_SOURCE } from './table-helper.js';

/** Plain JavaScript evaluated in every isolate before the script, read from `src/` like runtime.py. */
const isolateRuntimePath = path.join(backendRoot, 'src', 'execution', 'javascript', 'isolate-runtime.js');
const ISOLATE_RUNTIME_FILENAME = 'policy-logic-runtime.js';
const TABLE_HELPER_FILENAME = 'table-helper.js';

/** Bound on evaluating a library bundle or the runtime while an isolate is prepared. */
const PREPARE_TIMEOUT_MS = 10_000;

/** A fresh isolate with the runtime (and any libraries) evaluated, never yet given a script. */
export interface PreparedIsolate {
  isolate: ivm.Isolate;
  context: ivm.Context;
  /** References to the runtime's `startRun` and `fireTimer` functions (see isolate-runtime.js). */
  startRun: ivm.Reference;
  fireTimer: ivm.Reference;
  libraries: readonly LibraryName[];
}

/**
 * Prepares isolates ahead of time so a run does not wait for isolate creation or
 * library evaluation. Each prepared isolate is handed out once: `take` removes it
 * and starts preparing its replacement. One spare is kept per set of libraries
 * that has been asked for (at most four sets exist).
 */
export class IsolatePool {
  private readonly spares = new Map<string, Promise<PreparedIsolate>>();
  private readonly bundles = new LibraryBundles();
  private runtimeSource: string | undefined;
  private runtimeCodeCache: ivm.ExternalCopy<ArrayBuffer> | undefined;
  private tableHelperCodeCache: ivm.ExternalCopy<ArrayBuffer> | undefined;
  private closed = false;

  constructor(
    private readonly memoryLimitMb: number,
    private readonly keepSpares: boolean,
    private readonly logger: Logger | undefined,
  ) {}

  /** Starts preparing a spare for a set of libraries, so the first run is fast too. */
  prepareSpare(libraries: readonly LibraryName[] = []): void {
    if (!this.keepSpares || this.closed || this.spares.has(libraries.join('+'))) {
      return;
    }
    this.addSpare(libraries);
  }

  /** Hands out a prepared isolate that no run has used. The caller must dispose it. */
  async take(libraries: readonly LibraryName[]): Promise<PreparedIsolate> {
    if (this.closed) {
      throw new Error('The JavaScript runner is closed, so it accepts no runs. Create a new runner.');
    }

    const key = libraries.join('+');
    const spare = this.spares.get(key);
    this.spares.delete(key);
    if (this.keepSpares) {
      this.addSpare(libraries);
    }

    if (spare) {
      const prepared = await spare.catch(() => undefined);
      if (prepared && !prepared.isolate.isDisposed) {
        return prepared;
      }
    }
    return this.prepare(libraries, false);
  }

  /** Disposes the spares. Isolates already taken are disposed by their runs. */
  async close(): Promise<void> {
    this.closed = true;
    const spares = [...this.spares.values()];
    this.spares.clear();
    for (const spare of spares) {
      const prepared = await spare.catch(() => undefined);
      if (prepared && !prepared.isolate.isDisposed) {
        prepared.isolate.dispose();
      }
    }
  }

  private addSpare(libraries: readonly LibraryName[]): void {
    const spare = this.prepare(libraries, true);
    // The run that takes this spare prepares a new isolate and reports that attempt's error.
    spare.catch((error: unknown) => {
      this.logger?.warn({ err: error, libraries }, 'Spare JavaScript isolate could not be prepared');
    });
    this.spares.set(libraries.join('+'), spare);
  }

  /** Builds an isolate for the libraries. Only spares warm them up, because a waiting run would pay for it. */
  private async prepare(libraries: readonly LibraryName[], warmUp: boolean): Promise<PreparedIsolate> {
    const isolate = new ivm.Isolate({ memoryLimit: this.memoryLimitMb });
    try {
      const context = await isolate.createContext();
      for (const library of libraries) {
        await this.bundles.load(library, isolate, context, PREPARE_TIMEOUT_MS, warmUp);
      }
      await this.evaluateTableHelper(isolate, context);
      const runtime = await this.evaluateRuntime(isolate, context);
      const startRun = await runtime.get('startRun', { reference: true });
      const fireTimer = await runtime.get('fireTimer', { reference: true });
      return { isolate, context, startRun, fireTimer, libraries };
    } catch (error) {
      isolate.dispose();
      throw error;
    }
  }

  /** Defines the table helper's factory function, which the runtime calls with each run's tables. */
  private async evaluateTableHelper(isolate: ivm.Isolate, context: ivm.Context): Promise<void> {
    const { script, codeCache } = await compileWithCodeCache(
      isolate,
      TABLE_HELPER_SOURCE,
      TABLE_HELPER_FILENAME,
      this.tableHelperCodeCache,
    );
    this.tableHelperCodeCache = codeCache;
    await script.run(context, { timeout: PREPARE_TIMEOUT_MS });
    script.release();
  }

  private async evaluateRuntime(isolate: ivm.Isolate, context: ivm.Context): Promise<ivm.Reference> {
    this.runtimeSource ??= readFileSync(isolateRuntimePath, 'utf8');
    const { script, codeCache } = await compileWithCodeCache(
      isolate,
      this.runtimeSource,
      ISOLATE_RUNTIME_FILENAME,
      this.runtimeCodeCache,
    );
    this.runtimeCodeCache = codeCache;

    const createRuntime: ivm.Reference = await script.run(context, { reference: true, timeout: PREPARE_TIMEOUT_MS });
    script.release();
    if (createRuntime.typeof !== 'function') {
      throw new Error(`${isolateRuntimePath} must evaluate to a function, but it evaluated to ${createRuntime.typeof}.`);
    }
    return createRuntime.apply(undefined, [TABLE_HELPER_FACTORY], {
      result: { reference: true },
      timeout: PREPARE_TIMEOUT_MS,
    });
  }
}
