import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Absolute paths inside the backend package. Files that run in another process or
 * thread (the sandbox host, worker threads) are always taken from `dist/`, so tests
 * that import `src/` through Vitest start the same compiled code as production.
 */
function findPackageRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`No package.json above ${start}`);
    }
    dir = parent;
  }
  return dir;
}

export const backendRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
export const repositoryRoot = path.resolve(backendRoot, '..', '..');

/** Return the path of a compiled file given relative to `src/` (`execution/pyodide/sandbox-host.js`). */
export function compiledPath(relativeToSrc: string): string {
  return path.join(backendRoot, 'dist', relativeToSrc);
}

/** The Python runtime that both Python modes load. */
export const pythonRuntimePath = path.join(backendRoot, 'src', 'execution', 'python', 'runtime.py');
