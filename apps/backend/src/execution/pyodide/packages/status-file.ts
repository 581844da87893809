/**
 * The cache status file. The API process writes the warm-up state into the cache folder,
 * so a sandbox worker, which can read that folder but cannot reach the cache object,
 * can explain why a package is missing.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PackageCacheStatus } from '@policy-logic-studio/shared';

export const CACHE_STATUS_FILE_NAME = 'cache-status.json';

export function readCacheStatusFile(cacheDir: string): PackageCacheStatus | undefined {
  try {
    return JSON.parse(readFileSync(path.join(cacheDir, CACHE_STATUS_FILE_NAME), 'utf8')) as PackageCacheStatus;
  } catch {
    // No warm-up has written it yet, or it is being replaced: the caller reports less detail.
    return undefined;
  }
}

/** Replaces the status file atomically, so a reader never sees half of it. */
export function writeCacheStatusFile(cacheDir: string, status: PackageCacheStatus): void {
  const target = path.join(cacheDir, CACHE_STATUS_FILE_NAME);
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(status, null, 2));
  renameSync(temporary, target);
}

/** Describes in one sentence the warm-up state of `packageName`, for error messages. */
export function describeCacheState(status: PackageCacheStatus | undefined, packageName: string, sourceUrl: string): string {
  const entry = status?.packages.find((candidate) => candidate.name === packageName);
  if (entry?.state === 'failed' && entry.lastError !== undefined) {
    return `Downloading it from ${status?.sourceUrl ?? sourceUrl} failed: ${entry.lastError.replace(/\.?$/, '.')}`;
  }
  if (entry?.state === 'downloading') {
    return `It is being downloaded from ${status?.sourceUrl ?? sourceUrl} (${entry.bytes} bytes so far); run the script again when it is cached.`;
  }
  if (status?.warmUp === 'running') {
    return `The background download from ${status.sourceUrl} is still running; run the script again when it has finished.`;
  }
  if (sourceUrl === 'none') {
    return 'No package source is configured (PYODIDE_PACKAGE_BASE_URL=none), so missing packages are not downloaded.';
  }
  return `The backend downloads missing packages from ${sourceUrl} in the background after it starts.`;
}
