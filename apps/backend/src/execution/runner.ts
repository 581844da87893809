import type {
  ExecutionMode,
  SandboxEvent,
  SandboxRunRequest,
  ScriptError,
} from '@policy-logic-studio/shared';

/**
 * How a runner's part of a run ended. Errors raised by the script itself arrive as
 * `sandbox:error` events, so an outcome only reports how the sandbox stopped.
 */
export type RunnerOutcome =
  /** The sandbox sent `sandbox:complete` or `sandbox:error` and stopped normally. */
  | { kind: 'exited' }
  | { kind: 'timed_out'; timeoutMs: number }
  | { kind: 'cancelled' }
  /** The sandbox died or could not start: memory limit, engine unreachable, missing image. */
  | { kind: 'crashed'; error: ScriptError };

export interface RunOptions {
  /** Bound on script execution (`PYTHON_SANDBOX_TIMEOUT_MS` for Python). */
  timeoutMs: number;
  /** Aborted when the whole dry run times out or the client goes away. */
  signal: AbortSignal;
  /** Called for every event as it arrives, in order. */
  onEvent: (event: SandboxEvent) => void;
}

export interface RunnerHealth {
  ready: boolean;
  /** Reason the runner is not ready, or a notable limitation. */
  detail?: string;
  [field: string]: unknown;
}

/** Runs one script in one sandbox. Implementations never touch HTTP. */
export interface ScriptRunner {
  readonly mode: ExecutionMode;
  run(request: SandboxRunRequest, options: RunOptions): Promise<RunnerOutcome>;
  health(): RunnerHealth | Promise<RunnerHealth>;
  close(): Promise<void>;
}
