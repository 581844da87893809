import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ivm from 'isolated-vm';

const require = createRequire(import.meta.url);

/** Libraries a script may use through a parameter of the same name. */
export type LibraryName = 'mathjs' | 'formulajs';

interface LibraryDefinition {
  name: LibraryName;
  resolveBundlePath: () => string;
  /** Code run in spare isolates after loading, to do first-use work before a script needs it. */
  warmUpSource?: string;
}

const LIBRARIES: readonly LibraryDefinition[] = [
  {
    name: 'mathjs',
    resolveBundlePath: () => require.resolve('mathjs/lib/browser/math.js'),
    // mathjs 14 builds each function on first access, and the arithmetic ones are shared by
    // most others: warming these cut a first mathjs.sum() from about 30 ms to 2 ms (single measurements).
    warmUpSource: 'void [math.add, math.subtract, math.multiply, math.divide, math.sum, math.mean];',
  },
  {
    name: 'formulajs',
    // The package exports no subpath for its browser bundle, so it is found next to package.json.
    resolveBundlePath: () =>
      path.join(path.dirname(require.resolve('@formulajs/formulajs/package.json')), 'lib', 'browser', 'formula.min.js'),
  },
];

/**
 * Returns the libraries the code mentions by name, in a fixed order. Loading a
 * bundle costs tens of milliseconds, so scripts that never name one skip it.
 */
export function referencedLibraries(code: string): LibraryName[] {
  return LIBRARIES.filter((library) => new RegExp(`\\b${library.name}\\b`).test(code)).map((library) => library.name);
}

interface LoadedBundle {
  source: string;
  filename: string;
  warmUpSource?: string;
  /** V8 code cache taken after the bundle's first run, reused by every later isolate. */
  codeCache?: ivm.ExternalCopy<ArrayBuffer>;
}

/**
 * Compiles a script in an isolate, reusing V8's code cache when one is given and
 * producing one otherwise.
 */
export async function compileWithCodeCache(
  isolate: ivm.Isolate,
  source: string,
  filename: string,
  codeCache: ivm.ExternalCopy<ArrayBuffer> | undefined,
): Promise<{ script: ivm.Script; codeCache: ivm.ExternalCopy<ArrayBuffer> | undefined }> {
  const options: ivm.ScriptInfo = codeCache ? { filename, cachedData: codeCache } : { filename, produceCachedData: true };
  // isolated-vm's type declarations omit the cache fields that compileScript adds to the Script.
  const script = (await isolate.compileScript(source, options)) as ivm.Script & ivm.CachedDataResult;
  return { script, codeCache: codeCache ?? script.cachedData };
}

/**
 * Produces the code cache of a script that has already run in the isolate. V8 compiles
 * functions lazily, so a cache taken at first compilation contains only the code that ran
 * at the top level. The isolate's compilation cache returns the functions compiled
 * since for the same source, so a second compilation's cache contains them.
 */
export async function codeCacheAfterRun(
  isolate: ivm.Isolate,
  source: string,
  filename: string,
): Promise<ivm.ExternalCopy<ArrayBuffer> | undefined> {
  const { script, codeCache } = await compileWithCodeCache(isolate, source, filename, undefined);
  script.release();
  return codeCache;
}

/**
 * Library bundles read from node_modules once per process, with their V8 code cache.
 * A compiled `Script` belongs to one isolate, so the code cache is what crosses isolates.
 */
export class LibraryBundles {
  private readonly bundles = new Map<LibraryName, LoadedBundle>();

  private bundle(name: LibraryName): LoadedBundle {
    const existing = this.bundles.get(name);
    if (existing) {
      return existing;
    }

    const definition = LIBRARIES.find((library) => library.name === name);
    if (!definition) {
      const known = LIBRARIES.map((library) => library.name).join(', ');
      throw new Error(`Unknown script library "${name}": expected one of ${known}.`);
    }
    const bundlePath = definition.resolveBundlePath();
    const loaded: LoadedBundle = {
      source: readFileSync(bundlePath, 'utf8'),
      filename: `${name}.js`,
      ...(definition.warmUpSource ? { warmUpSource: definition.warmUpSource } : {}),
    };
    this.bundles.set(name, loaded);
    return loaded;
  }

  /**
   * Evaluates the bundle in the context, leaving the library's global defined, and
   * runs its warm-up code when `warmUp` is set.
   */
  async load(name: LibraryName, isolate: ivm.Isolate, context: ivm.Context, timeoutMs: number, warmUp: boolean): Promise<void> {
    const bundle = this.bundle(name);
    const { script } = await compileWithCodeCache(isolate, bundle.source, bundle.filename, bundle.codeCache);
    await script.run(context, { timeout: timeoutMs });
    script.release();

    // For mathjs 14.9, a cache taken at first compilation is under 1 KB and evaluating with
    // it took about 35 ms, against 600 KB and 7 ms for a cache taken after a run (single
    // measurements on a 2-core machine).
    bundle.codeCache ??= await codeCacheAfterRun(isolate, bundle.source, bundle.filename);
    if (warmUp && bundle.warmUpSource) {
      await context.eval(bundle.warmUpSource, { timeout: timeoutMs });
    }
  }
}
