import type { JsonValue } from './json.js';
import type { RunWarning, ScriptError } from './dry-run.js';

/**
 * Messages between the backend and a sandbox. Every `type` is prefixed by its sender:
 * `sandbox:` messages come from the code that runs the script (Python runtime.py in
 * both modes, the JavaScript isolate), `host:` messages from the backend.
 */

/** Data the script's globals are built from, identical for every language and mode. */
export interface ScriptInput {
  /** Guardian document records, every `document` already a VC. */
  documents: JsonValue[];
  user: JsonValue;
  artifacts: JsonValue[];
  sources: JsonValue[];
  tables: Record<string, JsonValue>;
}

/** Caps the sandbox applies to what a script sends back. */
export interface OutputLimits {
  /** Printed characters kept per stream; the rest is dropped and counted. */
  stdoutMaxChars: number;
  /** Serialized size of one `done()` or `debug()` value. */
  valueMaxBytes: number;
  /** `done()` and `debug()` calls forwarded per run; later calls are dropped with a warning. */
  maxEvents: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = {
  stdoutMaxChars: 1_000_000,
  valueMaxBytes: 5_000_000,
  maxEvents: 10_000,
};

/** One script execution as the sandbox receives it. */
export interface SandboxRunRequest {
  runId: string;
  script: string;
  /** Code of executable-code artifacts, joined before the script; line numbers stay the script's. */
  prelude: string;
  input: ScriptInput;
  limits: OutputLimits;
}

export type SandboxEvent =
  | { type: 'sandbox:debug'; values: JsonValue[] }
  | { type: 'sandbox:stdout'; text: string }
  | { type: 'sandbox:stderr'; text: string }
  | { type: 'sandbox:done'; value: JsonValue; final: boolean }
  | ({ type: 'sandbox:warning' } & RunWarning)
  | { type: 'sandbox:error'; error: ScriptError }
  | { type: 'sandbox:complete'; packages: string[]; packageLoadMs?: number };

export type SandboxEventType = SandboxEvent['type'];

export type HostMessage =
  | { type: 'host:run'; request: SandboxRunRequest }
  | { type: 'host:cancel'; runId: string };

/** Compile-time exhaustiveness check for `switch (message.type)` dispatchers. */
export function assertNever(value: never): never {
  throw new Error(`Unhandled message: ${JSON.stringify(value)}`);
}
