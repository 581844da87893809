/**
 * Starts the real product (apps/backend/dist/main.js) on 127.0.0.1 with a temporary
 * DATA_DIR for a benchmark or the load test, and stops it again.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { findSandboxHostPid, listDescendants, readCommandLine } from './processes.mjs';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOOPBACK = '127.0.0.1';
const LOG_TAIL_LINES = 40;
const STOP_TIMEOUT_MS = 15_000;

/** Throws unless `url` points at the loopback address, so no benchmark traffic leaves the machine. */
export function assertLoopback(url) {
  const hostname = new URL(url).hostname;
  if (hostname !== LOOPBACK) {
    throw new Error(`Invalid benchmark target ${url}: benchmark traffic may only go to ${LOOPBACK}.`);
  }
}

/**
 * Starts the backend and resolves once it listens and its health report is ready.
 * `env` adds or overrides configuration variables (PYTHON_SANDBOX_MODE, PYODIDE_POOL_SIZE, ...).
 * `root` is the checkout to start it from: the repository, or a copy from freezeBuild().
 */
export async function startBackend({ env = {}, root = repositoryRoot, startTimeoutMs = 180_000, label = 'backend' } = {}) {
  const backendEntry = path.join(root, 'apps', 'backend', 'dist', 'main.js');
  if (!existsSync(backendEntry)) {
    throw new Error(`${backendEntry} is missing. Build the product first: npm run build`);
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'pls-bench-'));
  const child = spawn(process.execPath, ['--no-node-snapshot', backendEntry], {
    cwd: root,
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      ...env,
      // These three always win: loopback only, a free port, a throw-away data folder.
      HOST: LOOPBACK,
      PORT: '0',
      DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const logTail = [];
  const remember = (line) => {
    logTail.push(line);
    if (logTail.length > LOG_TAIL_LINES) {
      logTail.shift();
    }
  };
  createInterface({ input: child.stderr }).on('line', remember);
  const stdoutLines = createInterface({ input: child.stdout });

  const backend = {
    label,
    pid: child.pid,
    dataDir,
    url: undefined,
    child,
    logTail,
    exited: false,
    exitCode: null,
    sandboxHostPid: () => findSandboxHostPid(child.pid),
    stop: () => stopBackend(backend),
  };
  child.on('exit', (code, signal) => {
    backend.exited = true;
    backend.exitCode = code ?? signal;
  });

  try {
    backend.url = await waitForListenLine(child, stdoutLines, remember, startTimeoutMs);
    await waitForHealth(backend, (report) => report.ready === true, startTimeoutMs);
  } catch (error) {
    await stopBackend(backend);
    throw new Error(`${label} did not start: ${error.message}\nLast log lines:\n${logTail.join('\n')}`);
  }
  return backend;
}

function waitForListenLine(child, stdoutLines, remember, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "running at" line within ${timeoutMs} ms`)), timeoutMs);
    stdoutLines.on('line', (line) => {
      remember(line);
      const match = /running at (http:\/\/[^\s]+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the process exited during start-up (code ${code}, signal ${signal})`));
    });
  });
}

/** Fetches GET /api/health once; returns the report and its latency, or an error. */
export async function fetchHealth(backend, timeoutMs = 5_000) {
  const url = new URL('api/health', backend.url).href;
  assertLoopback(url);
  const startedAt = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const report = await response.json();
    return { httpStatus: response.status, report, latencyMs: performance.now() - startedAt };
  } catch (error) {
    return { httpStatus: 0, error: error.message, latencyMs: performance.now() - startedAt };
  }
}

/** Polls the health report every `intervalMs` until `predicate(report)` holds; throws after `timeoutMs`. */
export async function waitForHealth(backend, predicate, timeoutMs, intervalMs = 100) {
  const deadline = performance.now() + timeoutMs;
  let last;
  while (performance.now() < deadline) {
    if (backend.exited) {
      throw new Error(`the backend exited (${backend.exitCode})`);
    }
    last = await fetchHealth(backend);
    if (last.httpStatus === 200 && predicate(last.report)) {
      return last.report;
    }
    await sleep(intervalMs);
  }
  throw new Error(`health condition not reached within ${timeoutMs} ms; last report: ${JSON.stringify(last?.report ?? last?.error)}`);
}

/** Waits until every Pyodide interpreter of the pool is ready again (Pyodide mode only). */
export function waitForFullPool(backend, timeoutMs = 120_000) {
  return waitForHealth(
    backend,
    (report) => report.python?.poolSize === undefined || report.python.readyWorkers >= report.python.poolSize,
    timeoutMs,
    50,
  );
}

/** Sends SIGTERM, waits for the exit, then SIGKILLs the backend and anything left below it. */
export async function stopBackend(backend) {
  const leftovers = backend.exited ? [] : listDescendants(backend.pid);
  if (!backend.exited) {
    const exited = new Promise((resolve) => backend.child.once('exit', resolve));
    backend.child.kill('SIGTERM');
    const timer = setTimeout(() => backend.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  // A clean shutdown leaves nothing. A process counts as left over only while its command
  // line is unchanged, so a pid that another program reused is never signalled.
  for (const { pid, commandLine } of leftovers) {
    if (readCommandLine(pid).join('\0') !== commandLine.join('\0')) {
      continue;
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // The process ended between the check and the signal.
    }
  }
  await rm(backend.dataDir, { recursive: true, force: true, maxRetries: 3 });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
