import type { ScriptError } from '@policy-logic-studio/shared';

/** Error types a Docker run can end with besides the script's own exceptions. */
export const DockerErrorType = {
  /** The engine did not respond or rejected the request. */
  unavailable: 'SandboxUnavailable',
  /** The sandbox image is not in the engine's image store. */
  imageMissing: 'SandboxImageMissing',
  /** The kernel killed the interpreter at the container's memory limit. */
  memoryLimit: 'MemoryLimitExceeded',
  /** The interpreter stopped without finishing the protocol. */
  crashed: 'SandboxCrashed',
} as const;

/** Socket-level error codes that mean nothing listens on the engine socket. */
const UNREACHABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

interface EngineErrorFields {
  code?: unknown;
  statusCode?: unknown;
  json?: unknown;
  message?: unknown;
}

/** Extract the engine's own message from a dockerode error (HTTP body or socket error). */
export function engineErrorReason(error: unknown): string {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as EngineErrorFields;
  const json = fields.json as { message?: unknown } | null | undefined;
  if (json && typeof json.message === 'string') {
    return json.message;
  }
  if (typeof fields.message === 'string') {
    return fields.message;
  }
  return String(error);
}

export function isEngineUnreachable(error: unknown): boolean {
  const code = (error as EngineErrorFields | null)?.code;
  return typeof code === 'string' && UNREACHABLE_CODES.has(code);
}

export function isNotFound(error: unknown): boolean {
  return (error as EngineErrorFields | null)?.statusCode === 404;
}

/** Removal already running (AutoRemove) or the container already gone. */
export function isAlreadyRemoved(error: unknown): boolean {
  const status = (error as EngineErrorFields | null)?.statusCode;
  return status === 404 || status === 409;
}

export function engineUnreachableError(socketPath: string, error: unknown): ScriptError {
  return {
    type: DockerErrorType.unavailable,
    message: `Docker engine not reachable at ${socketPath}: ${engineErrorReason(error)}`,
    hint: 'Start the Docker engine (scripts/docker-engine.sh starts one on a development machine), check that the service may read and write the socket, or set PYTHON_SANDBOX_MODE=pyodide.',
  };
}

export function imageMissingError(image: string): ScriptError {
  return {
    type: DockerErrorType.imageMissing,
    message: `Docker image ${image} not found; build it with npm run sandbox:build`,
    hint: 'The service never pulls images. Build the sandbox image on the engine host, or set PYTHON_SANDBOX_IMAGE to an image that exists there.',
  };
}

export function memoryLimitError(memory: string): ScriptError {
  return {
    type: DockerErrorType.memoryLimit,
    message: `memory limit exceeded (${memory})`,
    hint: 'Process less data at once, or raise PYTHON_SANDBOX_MEMORY.',
  };
}

/** Turn a failure of the create or start request into the error reported to the author. */
export function startFailureError(socketPath: string, image: string, error: unknown): ScriptError {
  if (isEngineUnreachable(error)) {
    return engineUnreachableError(socketPath, error);
  }
  if (isNotFound(error) && /no such image/i.test(engineErrorReason(error))) {
    return imageMissingError(image);
  }
  return {
    type: DockerErrorType.unavailable,
    message: `Docker engine at ${socketPath} could not start a sandbox container from ${image}: ${engineErrorReason(error)}`,
    hint: 'Check the engine log and the PYTHON_SANDBOX_MEMORY, PYTHON_SANDBOX_CPUS and PYTHON_SANDBOX_PIDS values.',
  };
}

export function crashedError(exitCode: number | undefined, stderrTail: string): ScriptError {
  const exit = exitCode === undefined ? 'an unknown status' : `exit code ${exitCode}`;
  const error: ScriptError = {
    type: DockerErrorType.crashed,
    message: `The Python sandbox stopped with ${exit} before it finished the run.`,
    hint: 'Run the script again; if it keeps failing, the sandbox image may not match this version of the service (rebuild it with npm run sandbox:build).',
  };
  if (stderrTail.trim() !== '') {
    error.traceback = stderrTail;
  }
  return error;
}
