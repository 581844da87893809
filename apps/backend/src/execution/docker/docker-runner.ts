import Docker from 'dockerode';
import type { Logger } from 'pino';
import type { SandboxRunRequest } from '@policy-logic-studio/shared';
import { ServiceBusyError } from '../../errors.js';
import type { RunOptions, RunnerHealth, RunnerOutcome, ScriptRunner } from '../runner.js';
import { ContainerRun } from './container-run.js';
import { SANDBOX_CONTAINER_LABEL } from './container-spec.js';
import { engineErrorReason, isEngineUnreachable, isNotFound } from './engine-errors.js';
import { parseSandboxCpus, parseSandboxMemory, parseSandboxPids } from './limits.js';
import { PreparedContainers } from './prepared-containers.js';
import { RunSlots } from './run-slots.js';

export { parseSandboxCpus, parseSandboxLimits, parseSandboxMemory, parseSandboxPids } from './limits.js';
export type { SandboxLimits } from './limits.js';
export { PREPARED_LABEL, RUN_ID_LABEL, SANDBOX_CONTAINER_LABEL, runContainerName } from './container-spec.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
export const DEFAULT_SANDBOX_IMAGE = 'policy-logic-studio/python-sandbox:latest';

/** Image label that contains the library versions recorded when the image was built. */
const PACKAGES_LABEL = 'org.policy-logic-studio.packages';
const HEALTH_CACHE_MS = 1_500;
/** A health check that takes longer than this reports the engine as not ready. */
const HEALTH_TIMEOUT_MS = 3_000;
export const DEFAULT_MAX_CONCURRENT_RUNS = 4;
export const DEFAULT_MAX_QUEUED_RUNS = 32;
export const DEFAULT_PREPARED_CONTAINERS = 2;
/** Run time assumed for the Retry-After estimate until a run has finished. */
const INITIAL_RUN_ESTIMATE_MS = 1_000;

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
  /** Runs that may wait for a free slot (default 32). One more makes `run` throw `ServiceBusyError`. */
  maxQueuedRuns?: number;
  /**
   * Containers created ahead of time (default 2; 0 creates every container on demand).
   * A run then only starts one, and a replacement is created in the background.
   */
  preparedContainers?: number;
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
  /** Created containers ready to start. */
  preparedContainers: number;
}

/**
 * Runs Python scripts in ephemeral Docker containers through the engine API (dockerode),
 * one container per run; see ContainerRun for the container settings and life cycle.
 * Containers are created ahead of their runs (PreparedContainers) and used once each.
 */
export class DockerRunner implements ScriptRunner {
  readonly mode = 'docker' as const;

  private readonly docker: Docker;
  private readonly options: DockerRunnerOptions;
  private readonly activeRuns = new Set<AbortController>();
  /** Removals of finished containers that the responses did not wait for. */
  private readonly pendingRemovals = new Set<Promise<void>>();
  private readonly slots: RunSlots;
  private readonly prepared: PreparedContainers | undefined;
  /** Moving average of run durations, for the Retry-After estimate of a rejected run. */
  private runEstimateMs = INITIAL_RUN_ESTIMATE_MS;
  private cachedHealth: { at: number; health: Promise<DockerRunnerHealth> } | undefined;

  constructor(options: DockerRunnerOptions) {
    this.options = {
      ...options,
      memory: parseSandboxMemory(options.memory, 'memory'),
      cpus: parseSandboxCpus(String(options.cpus), 'cpus'),
      pids: parseSandboxPids(String(options.pids), 'pids'),
    };
    const maxConcurrentRuns = wholeNumberOption('maxConcurrentRuns', options.maxConcurrentRuns ?? DEFAULT_MAX_CONCURRENT_RUNS, 1);
    const maxQueuedRuns = wholeNumberOption('maxQueuedRuns', options.maxQueuedRuns ?? DEFAULT_MAX_QUEUED_RUNS, 0);
    const preparedCount = wholeNumberOption('preparedContainers', options.preparedContainers ?? DEFAULT_PREPARED_CONTAINERS, 0);
    this.slots = new RunSlots(maxConcurrentRuns, maxQueuedRuns);
    this.docker = new Docker({ socketPath: options.socketPath });
    if (preparedCount > 0) {
      this.prepared = new PreparedContainers(this.docker, this.options, preparedCount, options.logger);
    }
  }

  /**
   * Create the prepared containers in the background. The first run does it too; calling
   * this at start-up spares that run the wait. A failure is logged, and runs then create
   * their own containers and report the engine's error.
   */
  prepareContainers(): void {
    this.prepared?.fill();
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
      const slot = await this.slots.acquire(signal);
      if (slot === 'queue_full') {
        throw this.busyError();
      }
      if (slot === 'aborted') {
        return { kind: 'cancelled' };
      }
      const startedAt = Date.now();
      try {
        const run = new ContainerRun(this.docker, this.options, request, { ...options, signal }, this.options.logger, this.prepared);
        const { outcome, removal } = await run.execute();
        const tracked = removal.finally(() => this.pendingRemovals.delete(tracked));
        this.pendingRemovals.add(tracked);
        return outcome;
      } finally {
        this.slots.release();
        this.runEstimateMs = 0.8 * this.runEstimateMs + 0.2 * (Date.now() - startedAt);
      }
    } finally {
      this.activeRuns.delete(controller);
    }
  }

  /**
   * Ping the engine and look up the image. The engine's response is reused for 1.5 s, so
   * frequent health probes cost no engine requests. The run and container counts are current.
   */
  async health(): Promise<DockerRunnerHealth> {
    const now = Date.now();
    if (this.cachedHealth === undefined || now - this.cachedHealth.at > HEALTH_CACHE_MS) {
      this.cachedHealth = { at: now, health: this.checkHealth() };
    }
    return { ...(await this.cachedHealth.health), ...this.counts() };
  }

  /** Stop every run still in progress, then remove the prepared containers; waits for every removal. */
  async close(): Promise<void> {
    for (const controller of this.activeRuns) {
      controller.abort();
    }
    const deadline = Date.now() + 15_000;
    while (this.activeRuns.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await Promise.allSettled([...this.pendingRemovals]);
    await this.prepared?.close();
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

  private counts(): Pick<DockerRunnerHealth, 'activeRuns' | 'queuedRuns' | 'preparedContainers'> {
    return {
      activeRuns: this.slots.activeCount,
      queuedRuns: this.slots.queuedCount,
      preparedContainers: this.prepared?.readyCount ?? 0,
    };
  }

  private async checkHealth(): Promise<DockerRunnerHealth> {
    const base = { socketPath: this.options.socketPath, image: this.options.image, ...this.counts() };

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

  /**
   * Build the error of a run rejected at a full queue. Retry-After estimates when the
   * queue has room again: the waiting runs finish `size` at a time, each in about the
   * average run time. An estimate, because scripts and the machine's load vary.
   */
  private busyError(): ServiceBusyError {
    const rounds = Math.ceil(this.slots.queuedCount / this.slots.size) + 1;
    const retryAfterSeconds = Math.max(1, Math.ceil((rounds * this.runEstimateMs) / 1000));
    return new ServiceBusyError(
      `The Python sandbox is busy: ${this.slots.activeCount} containers run and ${this.slots.queuedCount} runs already wait (PYTHON_SANDBOX_MAX_QUEUED_RUNS). Retry later.`,
      retryAfterSeconds,
    );
  }
}

function wholeNumberOption(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} is invalid: ${value}. Use a whole number of at least ${min}.`);
  }
  return value;
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
