/**
 * The create options of a sandbox container and the engine requests that connect to one,
 * shared by containers created for a run and containers prepared ahead of runs.
 */
import type { Duplex } from 'node:stream';
import type { Container, ContainerCreateOptions } from 'dockerode';
import type { Logger } from 'pino';
import { engineErrorReason, isAlreadyRemoved } from './engine-errors.js';
import { memoryToBytes, type SandboxLimits } from './limits.js';

/** How long the engine gets to confirm the removal of a container. */
const REMOVAL_WAIT_MS = 10_000;

/** Label on every sandbox container, so leftovers can be found and removed. */
export const SANDBOX_CONTAINER_LABEL = 'policy-logic-studio.sandbox';
/** Label with the run id, on containers created for one run. */
export const RUN_ID_LABEL = 'policy-logic-studio.run-id';
/** Label on containers created before their run, which are named after the run when it starts. */
export const PREPARED_LABEL = 'policy-logic-studio.prepared';

export interface ContainerRunSettings extends SandboxLimits {
  socketPath: string;
  image: string;
  labels?: Record<string, string>;
}

/** Container name of a run, so `docker ps` and the tests can find the container of a run id. */
export function runContainerName(runId: string): string {
  // Docker accepts names matching [a-zA-Z0-9][a-zA-Z0-9_.-]*. Run ids are UUIDs, but callers may pass others.
  return `policy-logic-studio-run-${runId.replace(/[^a-zA-Z0-9_.-]/g, '-')}`;
}

/**
 * Build the create request of a sandbox container. `runId` is given for a container
 * created for that run, and left out for a prepared one.
 */
export function sandboxContainerOptions(settings: ContainerRunSettings, runId?: string): ContainerCreateOptions {
  const { image, memory, cpus, pids } = settings;
  const runLabels: Record<string, string> = runId === undefined ? { [PREPARED_LABEL]: '1' } : { [RUN_ID_LABEL]: runId };
  const options: ContainerCreateOptions = {
    Image: image,
    Labels: { ...settings.labels, [SANDBOX_CONTAINER_LABEL]: '1', ...runLabels },
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: true,
    // The image's environment only: nothing from the service's environment reaches the script.
    Env: [],
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      LogConfig: { Type: 'none', Config: {} },
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=64m' },
      Memory: memoryBytesFor(memory),
      MemorySwap: memoryBytesFor(memory),
      NanoCpus: Math.round(cpus * 1e9),
      PidsLimit: pids,
      IpcMode: 'private',
      AutoRemove: true,
    },
    User: '1001:1001',
  };
  if (runId !== undefined) {
    options.name = runContainerName(runId);
  }
  return options;
}

/** Attach to stdin, stdout and stderr of a container that has not started yet. */
export async function attachSandbox(container: Container): Promise<Duplex> {
  return (await container.attach({
    stream: true,
    stdin: true,
    stdout: true,
    stderr: true,
    // A hijacked connection can be half-closed, and that is how the runtime reads end of file on stdin.
    hijack: true,
  })) as unknown as Duplex;
}

/**
 * Ask the engine to report the container's removal. Request it before the start, so the
 * exit of a fast run cannot be missed. Resolves with the exit status, or with undefined
 * when the wait ended without one; `onError` receives the reason then.
 */
export function waitForRemoval(container: Container, onError: (reason: string) => void): Promise<number | undefined> {
  return container.wait({ condition: 'removed' }).then(
    (result: { StatusCode?: number }) => result.StatusCode,
    (error: unknown) => {
      // A forced removal can end the wait with "no such container" before it reports a code.
      onError(engineErrorReason(error));
      return undefined;
    },
  );
}

/**
 * Remove a container with force and poll until the engine no longer lists it, because
 * AutoRemove runs asynchronously. Failures are logged with `logFields`, not thrown.
 * Returns false when the engine rejected the removal, so the caller can try again later.
 */
export async function removeSandboxContainer(container: Container, logger: Logger | undefined, logFields: Record<string, unknown>): Promise<boolean> {
  const fields = { ...logFields, containerId: container.id };
  try {
    await container.remove({ force: true });
  } catch (error) {
    if (!isAlreadyRemoved(error)) {
      logger?.error({ ...fields, reason: engineErrorReason(error) }, 'removing the sandbox container failed');
      return false;
    }
  }

  const deadline = Date.now() + REMOVAL_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      await container.inspect();
    } catch (error) {
      if (!isAlreadyRemoved(error)) {
        logger?.error({ ...fields, reason: engineErrorReason(error) }, 'checking the sandbox container removal failed');
      }
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  logger?.error(fields, `sandbox container still present ${REMOVAL_WAIT_MS} ms after removal`);
  return true;
}

function memoryBytesFor(memory: string): number {
  const bytes = memoryToBytes(memory);
  if (bytes === undefined) {
    throw new Error(`Invalid sandbox memory limit ${JSON.stringify(memory)}; use a value such as 512m.`);
  }
  return bytes;
}
