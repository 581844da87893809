import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import dotenv from 'dotenv';
import { describe, it } from 'vitest';
import {
  DEFAULT_OUTPUT_LIMITS,
  type JsonValue,
  type SandboxEvent,
  type SandboxRunRequest,
  type ScriptError,
  type ScriptInput,
} from '@policy-logic-studio/shared';
import {
  DEFAULT_DOCKER_SOCKET,
  DEFAULT_SANDBOX_IMAGE,
  DockerRunner,
  PREPARED_LABEL,
  SANDBOX_CONTAINER_LABEL,
  runContainerName,
  type DockerRunnerOptions,
} from '../src/execution/docker/docker-runner.js';
import type { RunnerOutcome } from '../src/execution/runner.js';
import { repositoryRoot } from '../src/paths.js';
import { summarize } from './support/python-runtime-cases.js';

/** Read a variable the way the service's configuration does: environment, then .env, then .env.defaults. */
function configuredValue(name: string): string | undefined {
  if (process.env[name]) {
    return process.env[name];
  }
  for (const file of ['.env', '.env.defaults']) {
    const filePath = path.join(repositoryRoot, file);
    if (!existsSync(filePath)) {
      continue;
    }
    const value = dotenv.parse(readFileSync(filePath))[name];
    if (value) {
      return value;
    }
  }
  return undefined;
}

export const socketPath = configuredValue('DOCKER_SOCKET_PATH') ?? DEFAULT_DOCKER_SOCKET;
export const image = configuredValue('PYTHON_SANDBOX_IMAGE') ?? DEFAULT_SANDBOX_IMAGE;
export const docker = new Docker({ socketPath });

/**
 * Check that the engine responds and has the sandbox image. Test files call it once at
 * collection time, so a suite can skip as a whole (or fail, when REQUIRE_DOCKER_TESTS=1).
 */
export async function probeDocker(): Promise<{ available: true } | { available: false; reason: string }> {
  try {
    await docker.ping();
  } catch (error) {
    return { available: false, reason: `no Docker engine responds at ${socketPath} (${(error as Error).message}); run bash scripts/docker-engine.sh` };
  }
  try {
    await docker.getImage(image).inspect();
  } catch {
    return { available: false, reason: `image ${image} is missing; run bash scripts/docker-engine.sh or npm run sandbox:build` };
  }
  return { available: true };
}

/**
 * Declare a suite that needs the engine. Without one it is skipped with one line that
 * gives the reason, unless REQUIRE_DOCKER_TESTS=1, where a failing test takes its place.
 */
export function describeWithDocker(
  name: string,
  probe: Awaited<ReturnType<typeof probeDocker>>,
  body: () => void,
): void {
  if (probe.available) {
    describe(name, body);
    return;
  }
  if (process.env.REQUIRE_DOCKER_TESTS === '1') {
    describe(name, () => {
      it('needs a Docker engine (REQUIRE_DOCKER_TESTS=1)', () => {
        throw new Error(probe.reason);
      });
    });
    return;
  }
  console.warn(`${name}: skipped because ${probe.reason}`);
  describe.skip(name, body);
}

/** Label that separates the containers of one test file from those of files running beside it. */
export const SUITE_LABEL = 'policy-logic-studio.test-suite';

export function createRunner(suite: string, overrides: Partial<DockerRunnerOptions> = {}): DockerRunner {
  return new DockerRunner({
    socketPath,
    image,
    memory: '512m',
    cpus: 1,
    pids: 128,
    labels: { [SUITE_LABEL]: suite },
    ...overrides,
  });
}

export interface CollectedRun {
  runId: string;
  outcome: RunnerOutcome;
  events: SandboxEvent[];
  results: JsonValue[];
  debug: JsonValue[][];
  stdout: string;
  stderr: string;
  warnings: { code: string; message: string }[];
  error: ScriptError | undefined;
}

export interface ScriptRunOptions {
  input?: Partial<ScriptInput>;
  timeoutMs?: number;
  signal?: AbortSignal;
  limits?: Partial<SandboxRunRequest['limits']>;
}

export function makeRequest(script: string, options: ScriptRunOptions = {}): SandboxRunRequest {
  return {
    runId: randomUUID(),
    script,
    prelude: '',
    input: { documents: [], user: null, artifacts: [], sources: [], tables: {}, ...options.input },
    limits: { ...DEFAULT_OUTPUT_LIMITS, ...options.limits },
  };
}

/** Run a script through the runner and gather its events the way the dry-run service reads them. */
export async function runScript(runner: DockerRunner, script: string, options: ScriptRunOptions = {}): Promise<CollectedRun> {
  const events: SandboxEvent[] = [];
  const request = makeRequest(script, options);
  const outcome = await runner.run(request, {
    timeoutMs: options.timeoutMs ?? 20_000,
    signal: options.signal ?? new AbortController().signal,
    onEvent: (event) => events.push(event),
  });
  const { results, debug, stdout, stderr, warnings, error } = summarize(events);
  return { runId: request.runId, outcome, events, results, debug, stdout, stderr, warnings, error };
}

/**
 * Ids of the sandbox containers the engine still has, running or not, of one test suite
 * or of one run. A run's container carries the run id in its name, because a prepared
 * container is created before its run id is known and named when the run starts it.
 */
export async function listSandboxContainers(filter: { suite?: string; runId?: string } = {}): Promise<string[]> {
  const labels = [`${SANDBOX_CONTAINER_LABEL}=1`];
  if (filter.suite !== undefined) {
    labels.push(`${SUITE_LABEL}=${filter.suite}`);
  }
  const filters: Record<string, string[]> = { label: labels };
  if (filter.runId !== undefined) {
    filters.name = [runContainerName(filter.runId)];
  }
  const containers = await docker.listContainers({ all: true, filters });
  return containers.map((container) => container.Id);
}

/** Ids of the containers of one suite that are prepared and not yet taken by a run. */
export async function listPreparedContainers(suite: string): Promise<string[]> {
  const labels = [`${SANDBOX_CONTAINER_LABEL}=1`, `${SUITE_LABEL}=${suite}`, `${PREPARED_LABEL}=1`];
  const containers = await docker.listContainers({ all: true, filters: { label: labels, status: ['created'] } });
  return containers.map((container) => container.Id);
}
