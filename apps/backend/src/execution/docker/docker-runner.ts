import Docker from 'dockerode';
import type { Logger } from 'pino';
import type { SandboxRunRequest } from '@policy-logic-studio/shared';
import type { RunOptions, RunnerHealth, RunnerOutcome, ScriptRunner } from '../runner.js';
import { ContainerRun, SANDBOX_CONTAINER_LABEL } from './container-run.js';
import { engineErrorReason, isEngineUnreachable, isNotFound } from './engine-errors.js';
import { parseSandboxCpus, parseSandboxMemory, parseSandboxPids } from './limits.js';
import { RunSlots } from './run-slots.js';

export { parseSandboxCpus, parseSandboxLimits, parseSandboxMemory, parseSandboxPids } from './limits.js';
export type { SandboxLimits } from './limits.js';
export { RUN_ID_LABEL, SANDBOX_CONTAINER_LABEL } from './container-run.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
export const DEFAULT_SANDBOX_IMAGE = 'policy-logic-studio/python-sandbox:latest';

/** Image label that contains the library versions recorded when the image was built. */
const PACKAGES_LABEL = 'org.policy-logic-studio.packages';
const HEALTH_CACHE_MS = 1_500;
/** A health check that takes longer than this reports the engine as not ready. */
const HEALTH_TIMEOUT_MS = 3_000;
export const DEFAULT_MAX_CONCURRENT_RUNS = 4;

export interface DockerRunnerOptions {
  /** Unix socket of the Docker engine; the service needs read and write access to it. */
  socketPath: string;
  /** Sandbox image; it must already exist on the engine, because runs never pull. */
  image: string;
  /** Memory and memory+swap limit in Docker's notation (`512m`). */
  memory: string;
  /** CPU share per container (`1.5` is one and a half cores). */
  cpus: number;
  /** Maximum number of processes and threads per container. */
  pids: number;
  /** Extra labels on every container, such as an instance id of the service. */
  labels?: Record<string, string>;
  /**
   * Containers running at once (default 4); later runs wait in a queue. This bounds the
   * host memory the sandboxes can take to this number times `memory`.
   */
  maxConcurrentRuns?: number;
  logger?: Logger;
}

export interface DockerRunnerHealth extends RunnerHealth {
  socketPath: string;
  image: string;
  engineVersion?: string;
  /** Library versions the image recorded when it was built (Python, Debian release, packages). */
  imagePackages?: unknown;
  activeRuns: number;
  queuedRuns: number;
}

/**
 * Runs Python scripts in ephemeral Docker containers through the engine API (dockerode),
 * one container per run; see ContainerRun for the container settings and life cycle.
 */
export class DockerRunner implements ScriptRunner {
  readonly mode = 'docker' as const;

  private readonly docker: Docker;
  private readonly options: DockerRunnerOptions;
  private readonly activeRuns = new Set<AbortController>();
  private readonly slots: RunSlots;
  private cachedHealth: { at: number; health: Promise<DockerRunnerHealth> } | undefined;

  constructor(options: DockerRunnerOptions) {
    this.options = {
      ...options,
      memory: parseSandboxMemory(options.memory, 'memory'),
      cpus: parseSandboxCpus(String(options.cpus), 'cpus'),
      pids: parseSandboxPids(String(options.pids), 'pids'),
    };
    const maxConcurrentRuns = options.maxConcurrentRuns ?? DEFAULT_MAX_CONCURRENT_RUNS;
    if (!Number.isInteger(maxConcurrentRuns) || maxConcurrentRuns < 1) {
      throw new Error(`maxConcurrentRuns is invalid: ${maxConcurrentRuns}. Use a whole number of at least 1.`);
    }
    this.slots = new RunSlots(maxConcurrentRuns);
    this.docker = new Docker({ socketPath: options.socketPath });
  }

  async run(request: SandboxRunRequest, options: RunOptions): Promise<RunnerOutcome> {
    if (options.signal.aborted) {
      return { kind: 'cancelled' };
    }

    // close() aborts this controller, which stops the container like a client abort does.
    const controller = new AbortController();
    const signal = AbortSignal.any([options.signal, controller.signal]);
    this.activeRuns.add(controller);
    try {
      // The timeout starts with the container, so time spent in the queue does not count;
      // the dry run's own deadline aborts the signal and so bounds the wait.
      if (!(await this.slots.acquire(signal))) {
        return { kind: 'cancelled' };
      }
      try {
        const run = new ContainerRun(this.docker, this.options, request, { ...options, signal }, this.options.logger);
        return await run.execute();
      } finally {
        this.slots.release();
      }
    } finally {
      this.activeRuns.delete(controller);
    }
  }

  /** Ping the engine and look up the image. The result is reused for 1.5 s, so frequent health probes cost no engine requests. */
  health(): Promise<DockerRunnerHealth> {
    const now = Date.now();
    if (this.cachedHealth === undefined || now - this.cachedHealth.at > HEALTH_CACHE_MS) {
      this.cachedHealth = { at: now, health: this.checkHealth() };
    }
    return this.cachedHealth.health;
  }

  /** Stop every run still in progress and wait until their containers are removed. */
  async close(): Promise<void> {
    for (const controller of this.activeRuns) {
      controller.abort();
    }
    const deadline = Date.now() + 15_000;
    while (this.activeRuns.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Remove sandbox containers left by an earlier process of the service (after a crash, say). */
  async removeLeftoverContainers(): Promise<number> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${SANDBOX_CONTAINER_LABEL}=1`] },
    });
    await Promise.all(
      containers.map((info) => this.docker.getContainer(info.Id).remove({ force: true }).catch(() => undefined)),
    );
    return containers.length;
  }

  private async checkHealth(): Promise<DockerRunnerHealth> {
    const base = {
      socketPath: this.options.socketPath,
      image: this.options.image,
      activeRuns: this.slots.activeCount,
      queuedRuns: this.slots.queuedCount,
    };

    let engineVersion: string;
    try {
      const version = await withTimeout(this.docker.version(), HEALTH_TIMEOUT_MS);
      engineVersion = version.Version;
    } catch (error) {
      const reason = isEngineUnreachable(error) ? engineErrorReason(error) : `unexpected response: ${engineErrorReason(error)}`;
      return { ...base, ready: false, detail: `Docker engine not reachable at ${this.options.socketPath}: ${reason}` };
    }

    try {
      const image = await withTimeout(this.docker.getImage(this.options.image).inspect(), HEALTH_TIMEOUT_MS);
      return { ...base, ready: true, engineVersion, imagePackages: parsePackagesLabel(image.Config?.Labels ?? {}) };
    } catch (error) {
      const detail = isNotFound(error)
        ? `Docker image ${this.options.image} not found; build it with npm run sandbox:build`
        : `Looking up Docker image ${this.options.image} failed: ${engineErrorReason(error)}`;
      return { ...base, ready: false, engineVersion, detail };
    }
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no response within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function parsePackagesLabel(labels: Record<string, string>): unknown {
  const text = labels[PACKAGES_LABEL];
  if (text === undefined) {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
