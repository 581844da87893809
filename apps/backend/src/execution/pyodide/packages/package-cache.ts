/**
 * The on-disk cache of Pyodide package files and its background warm-up.
 *
 * The warm-up checks every file the cache already holds against the lock file's sha256,
 * then downloads the missing ones from the package source (`http(s)://` or `file://`).
 * Each download goes to a temporary file in the cache folder and is hashed while it is
 * written. Only a file whose hash matches is renamed to its final name, so the cache
 * never contains a partial or unverified file under a package's name.
 *
 * A package's state:
 *
 *   missing -> downloading -> cached
 *                         \-> failed -> downloading (next warm-up)
 *   cached (hash mismatch at start) -> missing
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import type { PackageCacheEntry, PackageCacheState, PackageCacheStatus } from '@policy-logic-studio/shared';
import type { LockPackage } from './lock-file.js';
import { DEFAULT_PACKAGE_BASE_URL } from './package-catalog.js';
import { writeCacheStatusFile } from './status-file.js';

/** The subset of a pino logger the cache writes to. */
export interface CacheLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface PackageCacheOptions {
  cacheDir: string;
  /** Base URL of the package source, `http(s)://` or `file://`; a trailing slash is added. */
  sourceUrl: string;
  /** Every package to keep cached. */
  packages: readonly LockPackage[];
  logger?: CacheLogger;
  /** Downloads running at the same time. */
  concurrency?: number;
  /** Bound on one file's download, in milliseconds. */
  downloadTimeoutMs?: number;
}

interface CachedPackage {
  entry: LockPackage;
  state: PackageCacheState;
  bytes: number;
  lastError?: string;
}

/** A failure to reach the source itself, so other downloads would fail too. */
class SourceUnreachableError extends Error {
  override readonly name = 'SourceUnreachableError';
}

/** `PYODIDE_PACKAGE_BASE_URL=none`: use the cache as it is and download nothing. */
export const NO_PACKAGE_SOURCE = 'none';

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_DOWNLOAD_TIMEOUT_MS = 120_000;
const SUPPORTED_SCHEMES = ['http:', 'https:', 'file:'];

const silentLogger: CacheLogger = { info: () => {}, warn: () => {}, error: () => {} };

export class PackageCache {
  readonly cacheDir: string;
  readonly sourceUrl: string;
  private readonly items: CachedPackage[];
  private readonly logger: CacheLogger;
  private readonly concurrency: number;
  private readonly downloadTimeoutMs: number;
  private readonly abort = new AbortController();
  private warmUpState: PackageCacheStatus['warmUp'] = 'idle';
  private startedAt?: string;
  private finishedAt?: string;
  private lastError?: string;
  private running?: Promise<PackageCacheStatus>;

  constructor(options: PackageCacheOptions) {
    this.cacheDir = path.resolve(options.cacheDir);
    this.sourceUrl = normalizeSourceUrl(options.sourceUrl);
    this.items = options.packages.map((entry) => ({ entry, state: 'missing', bytes: 0 }));
    this.logger = options.logger ?? silentLogger;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.downloadTimeoutMs = options.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  }

  status(): PackageCacheStatus {
    const counts: Record<PackageCacheState, number> = { cached: 0, missing: 0, downloading: 0, failed: 0 };
    let cachedBytes = 0;
    const packages: PackageCacheEntry[] = this.items.map((item) => {
      counts[item.state] += 1;
      if (item.state === 'cached') {
        cachedBytes += item.bytes;
      }
      return {
        name: item.entry.name,
        version: item.entry.version,
        fileName: path.basename(item.entry.file_name),
        state: item.state,
        bytes: item.bytes,
        ...(item.lastError === undefined ? {} : { lastError: item.lastError }),
      };
    });
    return {
      cacheDir: this.cacheDir,
      sourceUrl: this.sourceUrl,
      warmUp: this.warmUpState,
      ...(this.startedAt === undefined ? {} : { startedAt: this.startedAt }),
      ...(this.finishedAt === undefined ? {} : { finishedAt: this.finishedAt }),
      counts,
      cachedBytes,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
      packages,
    };
  }

  isCached(packageName: string): boolean {
    return this.items.some((item) => item.entry.name === packageName && item.state === 'cached');
  }

  /**
   * Verifies the cached files and downloads the missing ones. A call while a warm-up runs
   * returns that warm-up's promise. Resolves with the final status: download errors are
   * recorded per package, and only a cache folder that cannot be created or read rejects.
   */
  warmUp(): Promise<PackageCacheStatus> {
    this.running ??= this.runWarmUp().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Starts a warm-up in the background; failures end up in `status()` and the log. */
  startWarmUp(): void {
    this.warmUp().catch((error: unknown) => {
      this.logger.error({ err: error, cacheDir: this.cacheDir }, 'Pyodide package warm-up failed');
    });
  }

  /** Stops running downloads; their packages end as failed. */
  close(): void {
    this.abort.abort(new Error('the backend is shutting down'));
  }

  private async runWarmUp(): Promise<PackageCacheStatus> {
    this.warmUpState = 'running';
    this.startedAt = new Date().toISOString();
    this.finishedAt = undefined;
    this.logger.info({ cacheDir: this.cacheDir, sourceUrl: this.sourceUrl, packages: this.items.length }, 'Pyodide package warm-up started');

    try {
      await mkdir(this.cacheDir, { recursive: true });
      await this.verifyCachedFiles();
      this.publishStatus();
      if (this.sourceUrl === NO_PACKAGE_SOURCE) {
        this.logger.info({ cacheDir: this.cacheDir }, 'no Pyodide package source is configured, so missing packages are not downloaded');
      } else {
        await this.downloadMissing();
      }
    } catch (error) {
      this.lastError = describeError(error);
      this.warmUpState = 'failed';
      this.finishedAt = new Date().toISOString();
      this.publishStatus();
      throw error;
    }

    const failed = this.items.filter((item) => item.state === 'failed').length;
    this.warmUpState = failed > 0 ? 'failed' : 'finished';
    this.finishedAt = new Date().toISOString();
    this.publishStatus();
    const summary = { ...this.status().counts, cacheDir: this.cacheDir, lastError: this.lastError };
    if (failed > 0) {
      this.logger.warn(summary, 'Pyodide package warm-up finished with failed downloads');
    } else {
      this.logger.info(summary, 'Pyodide package warm-up finished');
    }
    return this.status();
  }

  /** Marks files with the right sha256 as cached; deletes files that do not match. */
  private async verifyCachedFiles(): Promise<void> {
    for (const item of this.items) {
      const filePath = this.filePath(item.entry);
      const size = await fileSize(filePath);
      if (size === undefined) {
        item.state = 'missing';
        item.bytes = 0;
        continue;
      }
      const actual = await hashFile(filePath);
      if (actual === item.entry.sha256) {
        item.state = 'cached';
        item.bytes = size;
        item.lastError = undefined;
        continue;
      }
      if (item.entry.operatorLockFile !== undefined) {
        this.keepMismatchedOperatorFile(item, filePath, actual);
        continue;
      }
      this.logger.warn(
        { package: item.entry.name, file: filePath, expectedSha256: item.entry.sha256, actualSha256: actual },
        'cached Pyodide package does not match the lock file; deleting it',
      );
      await rm(filePath, { force: true });
      item.state = 'missing';
      item.bytes = 0;
    }
  }

  /**
   * Marks the package failed but keeps the file, because the operator placed it by hand
   * and no source may hold another copy. Each run verifies it again, so it is never loaded.
   */
  private keepMismatchedOperatorFile(item: CachedPackage, filePath: string, actualSha256: string): void {
    const message =
      `sha256 mismatch: ${filePath} has sha256 ${actualSha256}, but ${item.entry.operatorLockFile} expects ${item.entry.sha256}. ` +
      'Replace the file or correct the sha256 in the lock file, then restart the backend';
    this.logger.error({ package: item.entry.name, file: filePath, lockFile: item.entry.operatorLockFile }, message);
    this.fail(item, message);
  }

  private async downloadMissing(): Promise<void> {
    const queue = this.items.filter((item) => item.state !== 'cached');
    let unreachable: string | undefined;
    let done = 0;

    const worker = async (): Promise<void> => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        if (unreachable !== undefined) {
          this.fail(item, `not attempted, because the package source is unreachable: ${unreachable}`);
          continue;
        }
        try {
          await this.download(item);
          done += 1;
          this.logger.info(
            { package: item.entry.name, version: item.entry.version, bytes: item.bytes, progress: `${done}/${done + queue.length}` },
            'downloaded Pyodide package',
          );
        } catch (error) {
          this.fail(item, describeError(error));
          this.logger.warn({ package: item.entry.name, err: describeError(error) }, 'Pyodide package download failed');
          if (error instanceof SourceUnreachableError) {
            unreachable ??= item.lastError;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.concurrency) }, worker));
  }

  private fail(item: CachedPackage, message: string): void {
    item.state = 'failed';
    item.bytes = 0;
    item.lastError = message;
    this.lastError = `${item.entry.name}: ${message}`;
    this.publishStatus();
  }

  private async download(item: CachedPackage): Promise<void> {
    const url = this.downloadUrl(item.entry);
    const target = this.filePath(item.entry);
    const temporary = `${target}.${randomUUID()}.part`;
    item.state = 'downloading';
    item.bytes = 0;
    this.publishStatus();

    const hash = createHash('sha256');
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        item.bytes += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      const body = await this.openSource(url);
      await pipeline(body, counter, createWriteStream(temporary), { signal: this.abort.signal });
      const actual = hash.digest('hex');
      if (actual !== item.entry.sha256) {
        throw new Error(`sha256 mismatch for ${url}: expected ${item.entry.sha256}, received ${actual}; the file was discarded`);
      }
      await rename(temporary, target);
    } finally {
      await rm(temporary, { force: true });
    }
    item.state = 'cached';
    item.lastError = undefined;
    this.publishStatus();
  }

  private async openSource(url: string): Promise<Readable> {
    if (url.startsWith('file:')) {
      const filePath = fileURLToPath(url);
      if ((await fileSize(filePath)) === undefined) {
        throw new Error(`${filePath} does not exist in the package source folder`);
      }
      return createReadStream(filePath);
    }

    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.downloadTimeoutMs)]);
    let response: Response;
    try {
      response = await fetch(url, { signal, redirect: 'follow' });
    } catch (error) {
      throw new SourceUnreachableError(`${describeError(error)} (${url})`);
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText} from ${url}`);
    }
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  }

  /** Supplementary packages come from their own address while the source is the Pyodide CDN. */
  private downloadUrl(entry: LockPackage): string {
    if (entry.url !== undefined && this.sourceUrl === DEFAULT_PACKAGE_BASE_URL) {
      return entry.url;
    }
    return new URL(encodeURIComponent(path.basename(entry.file_name)), this.sourceUrl).href;
  }

  private filePath(entry: LockPackage): string {
    return path.join(this.cacheDir, path.basename(entry.file_name));
  }

  private publishStatus(): void {
    try {
      writeCacheStatusFile(this.cacheDir, this.status());
    } catch (error) {
      // Only the detail of sandbox error messages depends on this file.
      this.logger.warn({ err: describeError(error), cacheDir: this.cacheDir }, 'could not write the package cache status file');
    }
  }
}

/** Checks the scheme and adds the trailing slash that relative URL resolution needs. */
export function normalizeSourceUrl(sourceUrl: string): string {
  if (sourceUrl === NO_PACKAGE_SOURCE) {
    return NO_PACKAGE_SOURCE;
  }
  let parsed: URL;
  try {
    parsed = new URL(sourceUrl);
  } catch {
    throw new Error(`PYODIDE_PACKAGE_BASE_URL is invalid: "${sourceUrl}". Expected an http://, https:// or file:// URL of a folder.`);
  }
  if (!SUPPORTED_SCHEMES.includes(parsed.protocol)) {
    throw new Error(`PYODIDE_PACKAGE_BASE_URL has the unsupported scheme ${parsed.protocol} in "${sourceUrl}". Use http://, https:// or file://.`);
  }
  return parsed.href.endsWith('/') ? parsed.href : `${parsed.href}/`;
}

async function fileSize(filePath: string): Promise<number | undefined> {
  try {
    const info = await stat(filePath);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

async function hashFile(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** Formats the error and, for `fetch`, its network cause (`connect ECONNREFUSED 127.0.0.1:9`) as one line. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) {
    return String(error);
  }
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
