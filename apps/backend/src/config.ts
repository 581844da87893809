import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { memoryToBytes, parseSandboxCpus, parseSandboxMemory, parseSandboxPids } from './execution/docker/limits.js';
import type { LockPackage } from './execution/pyodide/packages/lock-file.js';
import { readOperatorLockFile } from './execution/pyodide/packages/operator-lock.js';
import { normalizeSourceUrl } from './execution/pyodide/packages/package-cache.js';
import { repositoryRoot } from './paths.js';

/**
 * Configuration from the environment. Values come from, in order of precedence: the
 * process environment, an optional uncommitted `.env`, and the committed template
 * `.env.defaults`. Every variable is required, so a value missing from all three fails
 * start-up with a message that names it.
 */

export interface DockerSandboxConfig {
  socketPath: string;
  image: string;
  /** Docker's suffix form, kept as given for messages ("512m"). */
  memory: string;
  memoryBytes: number;
  cpus: number;
  pids: number;
  /** Containers running at once; later runs wait in a queue. */
  maxConcurrentRuns: number;
  /** Runs that may wait in that queue; past it a dry run gets 503 with Retry-After. */
  maxQueuedRuns: number;
  /** Containers created ahead of their runs; 0 creates each one on demand. */
  preparedContainers: number;
}

export interface PyodideSandboxConfig {
  poolSize: number;
  /** Runs executing at once in the sandbox host. Each may use `memoryLimitBytes`. */
  maxRunningRuns: number;
  maxQueuedRuns: number;
  memoryLimitBytes: number;
  packageCacheDir: string;
  packageBaseUrl: string;
  /** `PYODIDE_EXTRA_LOCK_FILE` as an absolute path, absent when the variable is empty. */
  extraLockFile?: string;
  /** The checked entries of that file by canonical name, empty without it. */
  operatorPackages: Record<string, LockPackage>;
}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databasePath: string;
  logLevel: string;
  pythonMode: 'pyodide' | 'docker';
  pythonTimeoutMs: number;
  javascriptTimeoutMs: number;
  dryRunTimeoutMs: number;
  pyodide: PyodideSandboxConfig;
  docker: DockerSandboxConfig;
  inputLimits: { maxDepth: number; maxNodes: number };
  requestMaxBytes: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message.startsWith(variable) ? message : `${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  /** Template with every default; `ENV_DEFAULTS_FILE` or `<repo>/.env.defaults`. */
  defaultsFile?: string;
  /** Local overrides; `<repo>/.env` when present. */
  localFile?: string;
}

function readEnvFile(file: string | undefined): Record<string, string> {
  if (!file || !existsSync(file)) {
    return {};
  }
  return dotenv.parse(readFileSync(file));
}

/** Merge the three sources; the process environment wins. */
export function collectVariables(sources: ConfigSources = {}): Record<string, string | undefined> {
  const env = sources.env ?? process.env;
  const defaultsFile = sources.defaultsFile ?? env.ENV_DEFAULTS_FILE ?? path.join(repositoryRoot, '.env.defaults');
  const localFile = sources.localFile ?? path.join(repositoryRoot, '.env');
  return { ...readEnvFile(defaultsFile), ...readEnvFile(localFile), ...env };
}

class VariableReader {
  constructor(
    private readonly values: Record<string, string | undefined>,
    private readonly templateName: string,
  ) {}

  string(name: string): string {
    const value = this.values[name];
    if (value === undefined) {
      throw new ConfigError(name, `is not set. Set it in the environment or restore its line in ${this.templateName}.`);
    }
    if (value.trim() === '') {
      throw new ConfigError(name, `is empty. Give it a value or unset it to use the default from ${this.templateName}.`);
    }
    return value.trim();
  }

  integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.string(name);
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      throw new ConfigError(name, `is invalid: "${raw}". Expected a whole number from ${min} to ${max}.`);
    }
    return value;
  }

  /** Like string(), for a variable whose empty value means "not used". */
  optionalString(name: string): string | undefined {
    const value = this.values[name];
    if (value === undefined) {
      throw new ConfigError(name, `is not set. Set it in the environment or restore its line in ${this.templateName}.`);
    }
    return value.trim() === '' ? undefined : value.trim();
  }

  /** Parse with a function that throws an Error naming the problem. */
  parsed<T>(name: string, parse: (raw: string) => T): T {
    const raw = this.string(name);
    try {
      return parse(raw);
    } catch (error) {
      throw new ConfigError(name, (error as Error).message);
    }
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const raw = this.string(name);
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new ConfigError(name, `is invalid: "${raw}". Expected one of: ${allowed.join(', ')}.`);
    }
    return raw as T;
  }
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const variables = collectVariables(sources);
  const read = new VariableReader(variables, '.env.defaults');
  const dataDir = path.resolve(repositoryRoot, read.string('DATA_DIR'));
  const pythonTimeoutMs = read.integer('PYTHON_SANDBOX_TIMEOUT_MS', 1);
  const javascriptTimeoutMs = read.integer('JAVASCRIPT_TIMEOUT_MS', 1);
  const dryRunTimeoutMs = read.integer('DRY_RUN_BLOCK_TIMEOUT_MS', 1);

  const slowestScriptMs = Math.max(pythonTimeoutMs, javascriptTimeoutMs);
  if (dryRunTimeoutMs <= slowestScriptMs) {
    throw new ConfigError(
      'DRY_RUN_BLOCK_TIMEOUT_MS',
      `(${dryRunTimeoutMs}) must be larger than PYTHON_SANDBOX_TIMEOUT_MS (${pythonTimeoutMs}) and JAVASCRIPT_TIMEOUT_MS (${javascriptTimeoutMs}), because it bounds the whole dry run including the script.`,
    );
  }

  const dockerMemory = read.parsed('PYTHON_SANDBOX_MEMORY', parseSandboxMemory);
  const extraLockFile = read.optionalString('PYODIDE_EXTRA_LOCK_FILE');
  const extraLockPath = extraLockFile === undefined ? undefined : path.resolve(dataDir, extraLockFile);
  return {
    host: read.string('HOST'),
    port: read.integer('PORT', 0, 65535),
    dataDir,
    databasePath: path.resolve(dataDir, read.string('DATABASE_PATH')),
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    pythonMode: read.oneOf('PYTHON_SANDBOX_MODE', ['pyodide', 'docker'] as const),
    pythonTimeoutMs,
    javascriptTimeoutMs,
    dryRunTimeoutMs,
    pyodide: {
      poolSize: read.integer('PYODIDE_POOL_SIZE', 1, 64),
      maxRunningRuns: read.integer('PYODIDE_MAX_RUNNING_RUNS', 1, 256),
      maxQueuedRuns: read.integer('PYODIDE_MAX_QUEUED_RUNS', 0, 10000),
      memoryLimitBytes: read.integer('PYODIDE_MEMORY_LIMIT_MB', 64, 65536) * 1024 ** 2,
      packageCacheDir: path.resolve(dataDir, read.string('PYODIDE_PACKAGE_CACHE_DIR')),
      packageBaseUrl: read.parsed('PYODIDE_PACKAGE_BASE_URL', normalizeSourceUrl),
      ...(extraLockPath === undefined ? {} : { extraLockFile: extraLockPath }),
      operatorPackages: extraLockPath === undefined ? {} : readOperatorPackages(extraLockPath),
    },
    docker: {
      socketPath: read.string('DOCKER_SOCKET_PATH'),
      image: read.string('PYTHON_SANDBOX_IMAGE'),
      memory: dockerMemory,
      memoryBytes: memoryToBytes(dockerMemory) ?? 0,
      cpus: read.parsed('PYTHON_SANDBOX_CPUS', parseSandboxCpus),
      pids: read.parsed('PYTHON_SANDBOX_PIDS', parseSandboxPids),
      maxConcurrentRuns: read.integer('PYTHON_SANDBOX_MAX_CONCURRENT_RUNS', 1, 256),
      maxQueuedRuns: read.integer('PYTHON_SANDBOX_MAX_QUEUED_RUNS', 0, 10000),
      preparedContainers: read.integer('PYTHON_SANDBOX_PREPARED_CONTAINERS', 0, 64),
    },
    inputLimits: {
      maxDepth: read.integer('INPUT_MAX_DEPTH', 1, 10_000),
      maxNodes: read.integer('INPUT_MAX_NODES', 1, 100_000_000),
    },
    requestMaxBytes: read.integer('REQUEST_MAX_BYTES', 1024),
  };
}

function readOperatorPackages(filePath: string): Record<string, LockPackage> {
  try {
    return readOperatorLockFile(filePath);
  } catch (error) {
    throw new ConfigError('PYODIDE_EXTRA_LOCK_FILE', `is invalid. ${(error as Error).message}`);
  }
}
