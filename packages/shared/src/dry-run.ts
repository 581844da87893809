import { z } from 'zod';
import type { JsonValue } from './json.js';
import { policyBlockSchema, type ScriptLanguage } from './policy.js';

/** A table given with the run: column keys and rows, or CSV text. */
export const tableDataSchema = z.union([
  z.object({
    columnKeys: z.array(z.string()).optional(),
    rows: z.array(z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())])),
  }),
  z.string(),
]);
export type TableData = z.infer<typeof tableDataSchema>;

/**
 * Test input of a dry run. `documents` contains Guardian document records
 * (`{ document: <VC>, ... }`); a plain JSON object is accepted and wrapped as a VC.
 */
export const dryRunInputSchema = z.object({
  documents: z.array(z.record(z.string(), z.unknown()), {
    error: 'input.documents must be an array of JSON objects (document records or plain objects)',
  }),
  user: z.unknown().optional(),
  artifacts: z.array(z.unknown()).optional(),
  sources: z.array(z.unknown()).optional(),
  tables: z.record(z.string(), tableDataSchema).optional(),
});
export type DryRunInput = z.infer<typeof dryRunInputSchema>;

/** Body of `POST /api/policies/:policyId/blocks/:tag/dry-run`; `block` is an unsaved configuration. */
export const savedBlockDryRunRequestSchema = z.object({
  block: policyBlockSchema.optional(),
  input: dryRunInputSchema,
});

/** Body of `POST /api/dry-run`, for a block outside any saved policy. */
export const dryRunRequestSchema = z.object({
  block: policyBlockSchema,
  input: dryRunInputSchema,
});
export type DryRunRequest = z.infer<typeof dryRunRequestSchema>;

/**
 * Status of a run:
 *
 *   queued -> running -> completed | failed | timed_out | cancelled
 */
export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'timed_out', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type FinalRunStatus = Exclude<RunStatus, 'queued' | 'running'>;

export type ExecutionMode = 'pyodide' | 'docker' | 'isolated-vm';
export type PythonSandboxMode = 'pyodide' | 'docker';

/** An error that ended a run, with its position in the author's script when known. */
export interface ScriptError {
  /** Exception class (`KeyError`, `TypeError`) or a product error code (`TimeoutError`). */
  type: string;
  message: string;
  /** 1-based line in the block's own script. */
  line?: number;
  /** 1-based column, where the runtime reports one (syntax errors). */
  column?: number;
  traceback?: string;
  /** Advice on what the author can do about the error. */
  hint?: string;
}

export interface RunWarning {
  /** Stable identifier: `non-finite-number`, `done-after-final`, `no-done`, `document-wrapped`, ... */
  code: string;
  message: string;
}

/** A value passed to `done()`, after conversion to JSON. */
export interface DoneResult {
  value: JsonValue;
  final: boolean;
}

export interface DryRunResponse {
  runId: string;
  status: FinalRunStatus;
  results: DoneResult[];
  /** Output documents built from the results. */
  outputs: JsonValue[];
  /** One entry per `debug()` call: the values it was given. */
  debug: JsonValue[][];
  stdout: string;
  stderr: string;
  warnings: RunWarning[];
  error?: ScriptError;
  durationMs: number;
  mode: ExecutionMode;
  language: ScriptLanguage;
  /** Indexes of `input.documents` that were plain objects and were wrapped as VCs. */
  wrappedDocuments: number[];
  /** Python packages loaded for the run. */
  packages: string[];
  /** Time spent loading those packages into the interpreter before the script started. */
  packageLoadMs?: number;
}
