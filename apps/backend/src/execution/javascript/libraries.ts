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
}

const LIBRARIES: readonly LibraryDefinition[] = [
  {
    name: 'mathjs',
    resolveBundlePath: () => require.resolve('mathjs/lib/browser/math.js'),
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
  /** V8 code cache from the first compilation, reused by every later isolate. */
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
    const loaded: LoadedBundle = { source: readFileSync(bundlePath, 'utf8'), filename: `${name}.js` };
    this.bundles.set(name, loaded);
    return loaded;
  }

  /** Evaluates the bundle in the context, leaving the library's global defined. */
  async load(name: LibraryName, isolate: ivm.Isolate, context: ivm.Context, timeoutMs: number): Promise<void> {
    const bundle = this.bundle(name);
    const { script, codeCache } = await compileWithCodeCache(isolate, bundle.source, bundle.filename, bundle.codeCache);
    bundle.codeCache = codeCache;

    await script.run(context, { timeout: timeoutMs });
    script.release();
  }
}
