#!/usr/bin/env node
/**
 * Prepares a complete Pyodide package cache in a folder, for copying to a machine that
 * cannot reach the package source. Every file is verified against the lock file's sha256.
 *
 *   npm run pyodide:fetch-packages -- --dest DIR [--source URL] [--lock FILE]
 *
 * Runs the compiled backend (`apps/backend/dist`); the root npm script builds it first.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readLockFile } from '../dist/execution/pyodide/packages/lock-file.js';
import { DEFAULT_PACKAGE_BASE_URL, PackageCatalog } from '../dist/execution/pyodide/packages/package-catalog.js';
import { PackageCache } from '../dist/execution/pyodide/packages/package-cache.js';

const USAGE = `Usage: npm run pyodide:fetch-packages -- --dest DIR [--source URL] [--lock FILE]

  --dest DIR     folder to fill; copy it to PYODIDE_PACKAGE_CACHE_DIR on the offline
                 machine, or point PYODIDE_PACKAGE_BASE_URL at it as file:///path/DIR/
  --source URL   package source, http(s):// or file:// (default: PYODIDE_PACKAGE_BASE_URL,
                 else ${DEFAULT_PACKAGE_BASE_URL})
  --lock FILE    fetch every package of this lock file (pyodide-lock.json shape) instead
                 of the allowlisted libraries and their dependencies
  --concurrency N  downloads at the same time (default 4)`;

function readOptions() {
  const { values } = parseArgs({
    options: {
      dest: { type: 'string' },
      source: { type: 'string' },
      lock: { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.dest === undefined) {
    console.error(`Missing --dest DIR.\n\n${USAGE}`);
    process.exit(2);
  }
  const concurrency = Number(values.concurrency ?? '4');
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    console.error(`--concurrency is invalid: "${values.concurrency}". Expected a whole number of at least 1.`);
    process.exit(2);
  }
  // npm runs scripts from the repository root; INIT_CWD is where the user typed the command.
  const baseDir = process.env.INIT_CWD ?? process.cwd();
  return {
    dest: path.resolve(baseDir, values.dest),
    source: values.source ?? process.env.PYODIDE_PACKAGE_BASE_URL ?? DEFAULT_PACKAGE_BASE_URL,
    lockFile: values.lock === undefined ? undefined : path.resolve(baseDir, values.lock),
    concurrency,
  };
}

function packagesToFetch(lockFile) {
  if (lockFile === undefined) {
    return new PackageCatalog().packages;
  }
  return Object.values(readLockFile(lockFile).packages);
}

const consoleLogger = {
  info: (details, message) => console.log(`${message} ${JSON.stringify(details)}`),
  warn: (details, message) => console.warn(`${message} ${JSON.stringify(details)}`),
  error: (details, message) => console.error(`${message} ${JSON.stringify(details)}`),
};

async function main() {
  const options = readOptions();
  const cache = new PackageCache({
    cacheDir: options.dest,
    sourceUrl: options.source,
    packages: packagesToFetch(options.lockFile),
    concurrency: options.concurrency,
    logger: consoleLogger,
  });
  const status = await cache.warmUp();

  const megabytes = (status.cachedBytes / 1024 ** 2).toFixed(1);
  console.log(`${status.counts.cached} of ${status.packages.length} packages cached in ${status.cacheDir} (${megabytes} MB).`);
  const failed = status.packages.filter((entry) => entry.state !== 'cached');
  for (const entry of failed) {
    console.error(`failed: ${entry.name} ${entry.version} (${entry.fileName}): ${entry.lastError ?? entry.state}`);
  }
  process.exitCode = failed.length === 0 ? 0 : 1;
}

main().catch((error) => {
  console.error(`Fetching Pyodide packages failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
