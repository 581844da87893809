import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_OUTPUT_LIMITS, type OutputLimits } from '@policy-logic-studio/shared';
import ivm from 'isolated-vm';
import type { Logger } from 'pino';
import { backendRoot } from '../../paths.js';
import { LibraryBundles, codeCacheAfterRun, compileWithCodeCache, type LibraryName } from './libraries.js';
import { TABLE_HELPER_FACTORY, TABLE_HELPER_SOURCE } from './table-helper.js';

/** Plain JavaScript evaluated in every isolate before the script, read from `src/` like runtime.py. */
const isolateRuntimePath = path.join(backendRoot, 'src', 'execution', 'javascript', 'isolate-runtime.js');
const ISOLATE_RUNTIME_FILENAME = 'policy-logic-runtime.js';
const TABLE_HELPER_FILENAME = 'table-helper.js';

/** Bound on evaluating a library bundle or the runtime while an isolate is prepared. */
const PREPARE_TIMEOUT_MS = 10_000;

/**
 * Spares kept per set of libraries. With two, a run that arrives while the replacement
 * of the previous run's isolate is still being prepared takes the other one at once.
 */
const SPARES_PER_SET = 2;

/** Script of the run that primes the runtime's code cache: one `done()` of an object, as most scripts end. */
const PRIMING_SCRIPT = '(async function (done) { done({ value: 1 }); })';
const PRIMING_INPUT_JSON = JSON.stringify({ documents: [], user: {}, artifacts: [], sources: [], tables: {} });

/** A fresh isolate with the runtime (and any libraries) evaluated, never yet given a script. */
export interface PreparedIsolate {
  isolate: ivm.Isolate;
  context: ivm.Context;
  /** References to the runtime's `startRun` and `fireTimer` functions (see isolate-runtime.js). */
  startRun: ivm.Reference;
  fireTimer: ivm.Reference;
  libraries: readonly LibraryName[];
}

/** Arguments of one call of the runtime's `startRun`, and its timeout. */
export interface StartRunOptions {
  sendEvent: ivm.Callback;
  inputJson: string;
  limits: OutputLimits;
  /** The author's code compiled as a function in the same context. */
  userFunction: ivm.Reference;
  timeoutMs: number;
}

/** Calls the runtime's `startRun` (see isolate-runtime.js), which settles after the run's last event. */
export function callStartRun(startRun: ivm.Reference, options: StartRunOptions): Promise<unknown> {
  const { sendEvent, inputJson, limits, userFunction, timeoutMs } = options;
  const startArguments = [
    sendEvent,
    inputJson,
    limits.stdoutMaxChars,
    limits.valueMaxBytes,
    limits.maxEvents,
    userFunction.derefInto(),
  ];
  return startRun.apply(undefined, startArguments, { result: { promise: true }, timeout: timeoutMs });
}

/**
 * Prepares isolates ahead of time so a run does not wait for isolate creation or
 * library evaluation. Each prepared isolate is handed out once. `take` removes it, and
 * `release` disposes it after the run and starts preparing its replacement. The pool
 * keeps `SPARES_PER_SET` spares for each set of libraries that has been requested, and
 * at most four sets exist.
 */
export class IsolatePool {
  /** Spares in preparation or ready, oldest first, by the libraries' key (`mathjs+formulajs`). */
  private readonly spares = new Map<string, Promise<PreparedIsolate>[]>();
  private readonly bundles = new LibraryBundles();
  private runtimeSource: string | undefined;
  private runtimeCodeCache: ivm.ExternalCopy<ArrayBuffer> | undefined;
  private tableHelperCodeCache: ivm.ExternalCopy<ArrayBuffer> | undefined;
  private codeCachesPrimed: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly memoryLimitMb: number,
    private readonly keepSpares: boolean,
    private readonly logger: Logger | undefined,
  ) {}

  /** Starts preparing spares for a set of libraries until it has `SPARES_PER_SET`, so the first run is fast too. */
  prepareSpare(libraries: readonly LibraryName[] = []): void {
    if (!this.keepSpares || this.closed) {
      return;
    }
    const key = libraries.join('+');
    const spares = this.spares.get(key) ?? [];
    while (spares.length < SPARES_PER_SET) {
      spares.push(this.prepareSpareIsolate(libraries));
    }
    this.spares.set(key, spares);
  }

  /** Hands out a prepared isolate that no run has used. The caller must pass it to `release`. */
  async take(libraries: readonly LibraryName[]): Promise<PreparedIsolate> {
    if (this.closed) {
      throw new Error('The JavaScript runner is closed, so it accepts no runs. Create a new runner.');
    }

    const spare = this.spares.get(libraries.join('+'))?.shift();
    if (spare) {
      const prepared = await spare.catch(() => undefined);
      if (prepared && !prepared.isolate.isDisposed) {
        return prepared;
      }
    }
    return this.prepare(libraries, false);
  }

  /**
   * Disposes an isolate whose run has ended and prepares the spare that replaces it.
   * Both wait for the event loop's next check phase, so the run's response is sent
   * first: `new ivm.Isolate` and `dispose` block the event loop (about 1 ms and 0.2 ms
   * on a 2-core machine).
   */
  release(prepared: PreparedIsolate): void {
    setImmediate(() => {
      // isolated-vm has already disposed an isolate that hit its memory limit.
      if (!prepared.isolate.isDisposed) {
        prepared.isolate.dispose();
      }
      this.prepareSpare(prepared.libraries);
    });
  }

  /** Disposes the spares. Isolates already taken are disposed through `release`. */
  async close(): Promise<void> {
    this.closed = true;
    const spares = [...this.spares.values()].flat();
    this.spares.clear();
    for (const spare of spares) {
      const prepared = await spare.catch(() => undefined);
      if (prepared && !prepared.isolate.isDisposed) {
        prepared.isolate.dispose();
      }
    }
  }

  private prepareSpareIsolate(libraries: readonly LibraryName[]): Promise<PreparedIsolate> {
    const spare = this.prepare(libraries, true);
    // The run that takes this spare prepares a new isolate and reports that attempt's error.
    spare.catch((error: unknown) => {
      this.logger?.warn({ err: error, libraries }, 'Spare JavaScript isolate could not be prepared');
    });
    return spare;
  }

  /** Builds an isolate for the libraries. Only spares warm them up, because a waiting run would pay for it. */
  private async prepare(libraries: readonly LibraryName[], warmUp: boolean): Promise<PreparedIsolate> {
    await this.primeCodeCaches();
    const isolate = new ivm.Isolate({ memoryLimit: this.memoryLimitMb });
    try {
      const context = await isolate.createContext();
      for (const library of libraries) {
        await this.bundles.load(library, isolate, context, PREPARE_TIMEOUT_MS, warmUp);
      }
      await this.evaluateTableHelper(isolate, context);
      const runtime = await this.evaluateRuntime(isolate, context);
      // getSync reads both properties on this thread, which is quicker than two round trips to the isolate's thread.
      const startRun = runtime.getSync('startRun', { reference: true });
      const fireTimer = runtime.getSync('fireTimer', { reference: true });
      return { isolate, context, startRun, fireTimer, libraries };
    } catch (error) {
      isolate.dispose();
      throw error;
    }
  }

  /** Primes the runtime's and the table helper's code caches once, before the first isolate is prepared. */
  private primeCodeCaches(): Promise<void> {
    this.codeCachesPrimed ??= this.runPrimingScript().catch((error: unknown) => {
      this.logger?.warn({ err: error }, 'JavaScript runtime code cache could not be primed, so each run compiles the runtime');
    });
    return this.codeCachesPrimed;
  }

  /**
   * Runs a script that calls `done()` in a throwaway isolate, then takes the code caches
   * of the runtime and the table helper. Caches taken at first compilation lack
   * `startRun` and the JSON conversion, and compiling them took each run about 0.4 ms
   * (a single measurement on a 2-core machine).
   */
  private async runPrimingScript(): Promise<void> {
    const isolate = new ivm.Isolate({ memoryLimit: this.memoryLimitMb });
    try {
      const context = await isolate.createContext();
      await this.evaluateTableHelper(isolate, context);
      const runtime = await this.evaluateRuntime(isolate, context);
      const startRun: ivm.Reference = runtime.getSync('startRun', { reference: true });
      const userFunction: ivm.Reference = await context.eval(PRIMING_SCRIPT, { reference: true, timeout: PREPARE_TIMEOUT_MS });

      await callStartRun(startRun, {
        sendEvent: new ivm.Callback(() => undefined, { ignored: true }),
        inputJson: PRIMING_INPUT_JSON,
        limits: DEFAULT_OUTPUT_LIMITS,
        userFunction,
        timeoutMs: PREPARE_TIMEOUT_MS,
      });

      this.tableHelperCodeCache = await codeCacheAfterRun(isolate, TABLE_HELPER_SOURCE, TABLE_HELPER_FILENAME);
      this.runtimeCodeCache = await codeCacheAfterRun(isolate, this.runtimeSourceText(), ISOLATE_RUNTIME_FILENAME);
    } finally {
      isolate.dispose();
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
    const { script, codeCache } = await compileWithCodeCache(
      isolate,
      this.runtimeSourceText(),
      ISOLATE_RUNTIME_FILENAME,
      this.runtimeCodeCache,
    );
    this.runtimeCodeCache = codeCache;

    const createRuntime: ivm.Reference = await script.run(context, { reference: true, timeout: PREPARE_TIMEOUT_MS });
    script.release();
    if (createRuntime.typeof !== 'function') {
      throw new Error(`${isolateRuntimePath} must evaluate to a function, but it evaluated to ${createRuntime.typeof}.`);
    }
    // createRuntime only defines functions and constants, so it runs on this thread without a round trip.
    return createRuntime.applySync(undefined, [TABLE_HELPER_FACTORY], {
      result: { reference: true },
      timeout: PREPARE_TIMEOUT_MS,
    });
  }

  private runtimeSourceText(): string {
    this.runtimeSource ??= readFileSync(isolateRuntimePath, 'utf8');
    return this.runtimeSource;
  }
}
