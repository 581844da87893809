import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  customLogicBlockSchema,
  DEFAULT_OUTPUT_LIMITS,
  scriptLanguageOf,
  type DryRunInput,
  type DryRunResponse,
  type JsonValue,
  type PolicyBlock,
  type SandboxRunRequest,
  type ScriptLanguage,
} from '@policy-logic-studio/shared';
import { AppError, ServiceBusyError, ValidationError } from '../errors.js';
import { checkInputLimits, type InputLimits } from './input-limits.js';
import { collectArtifactCode, prepareInputDocuments } from './input-documents.js';
import { RunRecorder, type RecordedRun } from './run-recorder.js';
import type { RunnerOutcome, ScriptRunner } from './runner.js';

export interface OutputContext {
  block: ReturnType<typeof customLogicBlockSchema.parse>;
  policyId?: string;
  inputDocuments: JsonValue[];
  run: RecordedRun;
}

/**
 * Builds output documents from a finished run. `errors` fail the run (schema
 * violations); `warnings` are reported beside the documents (a document left unsigned).
 */
export type OutputBuilder = (
  context: OutputContext,
) => Promise<{ outputs: JsonValue[]; errors: string[]; warnings: string[] }>;

export interface DryRunServiceOptions {
  runners: { python: ScriptRunner; javascript: ScriptRunner };
  timeouts: { pythonMs: number; javascriptMs: number; dryRunMs: number };
  inputLimits: InputLimits;
  buildOutputs: OutputBuilder;
  logger: Logger;
}

export interface DryRunTarget {
  block: PolicyBlock;
  policyId?: string;
  input: DryRunInput;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
}

/** Runs one Custom Logic block against test input and assembles the API response. */
export class DryRunService {
  constructor(private readonly options: DryRunServiceOptions) {}

  async run(target: DryRunTarget): Promise<DryRunResponse> {
    const block = parseCustomLogicBlock(target.block);
    const language = scriptLanguageOf(block);
    checkInputLimits(target.input as Record<string, unknown>, this.options.inputLimits);

    const runId = randomUUID();
    const logger = this.options.logger.child({ runId, policyId: target.policyId, blockTag: block.tag, language });
    const documents = prepareInputDocuments(target.input.documents);
    const request = this.buildRequest(runId, block.expression, language, target.input, documents.records);
    const runner = language === 'PYTHON' ? this.options.runners.python : this.options.runners.javascript;

    logger.info({ mode: runner.mode }, 'dry run started');
    const startedAt = performance.now();
    const run = await this.execute(runner, request, language, target.signal);
    const outputs = await this.buildOutputs(block, target.policyId, documents.records, run);
    const durationMs = Math.round(performance.now() - startedAt);
    logger.info({ status: outputs.run.status, durationMs }, 'dry run finished');

    return {
      runId,
      ...outputs.run,
      outputs: outputs.documents,
      warnings: [...documentWarnings(documents.wrapped), ...outputs.run.warnings],
      durationMs,
      mode: runner.mode,
      language,
      wrappedDocuments: documents.wrapped,
    };
  }

  private buildRequest(
    runId: string,
    script: string,
    language: ScriptLanguage,
    input: DryRunInput,
    records: JsonValue[],
  ): SandboxRunRequest {
    const artifacts = (input.artifacts ?? []) as JsonValue[];
    return {
      runId,
      script,
      prelude: collectArtifactCode(artifacts, language),
      input: {
        documents: records,
        user: (input.user ?? {}) as JsonValue,
        artifacts,
        sources: (input.sources ?? []) as JsonValue[],
        tables: (input.tables ?? {}) as Record<string, JsonValue>,
      },
      limits: DEFAULT_OUTPUT_LIMITS,
    };
  }

  /** Run the script under the script timeout, with the whole dry run bounded as well. */
  private async execute(
    runner: ScriptRunner,
    request: SandboxRunRequest,
    language: ScriptLanguage,
    clientSignal: AbortSignal | undefined,
  ): Promise<RecordedRun> {
    const { timeouts } = this.options;
    const dryRunTimeout = AbortSignal.timeout(timeouts.dryRunMs);
    const signal = clientSignal ? AbortSignal.any([clientSignal, dryRunTimeout]) : dryRunTimeout;
    const recorder = new RunRecorder();
    recorder.start();

    let outcome: RunnerOutcome;
    try {
      outcome = await runner.run(request, {
        timeoutMs: language === 'PYTHON' ? timeouts.pythonMs : timeouts.javascriptMs,
        signal,
        onEvent: (event) => recorder.handle(event),
      });
    } catch (error) {
      // A full run queue is the service's state, not the script's: the client retries later.
      if (error instanceof ServiceBusyError) {
        throw error;
      }
      outcome = {
        kind: 'crashed',
        error: { type: 'SandboxError', message: `The sandbox failed: ${(error as Error).message}` },
      };
    }
    if (outcome.kind === 'cancelled' && dryRunTimeout.aborted) {
      outcome = { kind: 'timed_out', timeoutMs: timeouts.dryRunMs };
    }
    return recorder.finish(outcome);
  }

  private async buildOutputs(
    block: OutputContext['block'],
    policyId: string | undefined,
    inputDocuments: JsonValue[],
    run: RecordedRun,
  ): Promise<{ run: RecordedRun; documents: JsonValue[] }> {
    if (run.status !== 'completed' || run.results.length === 0) {
      return { run, documents: [] };
    }
    const built = await this.options.buildOutputs({ block, policyId, inputDocuments, run });
    const warnings = built.warnings.map((message) => ({ code: 'output-document', message }));
    if (built.errors.length === 0) {
      return { run: { ...run, warnings: [...run.warnings, ...warnings] }, documents: built.outputs };
    }
    const failed: RecordedRun = {
      ...run,
      warnings: [...run.warnings, ...warnings],
      status: 'failed',
      error: {
        type: 'OutputValidationError',
        message: built.errors.join('\n'),
        hint: "Make the values passed to done() match the block's output schema.",
      },
    };
    return { run: failed, documents: built.outputs };
  }
}

function parseCustomLogicBlock(block: PolicyBlock): OutputContext['block'] {
  const parsed = customLogicBlockSchema.safeParse(block);
  if (!parsed.success) {
    if (block.blockType !== 'customLogicBlock') {
      throw new AppError(
        422,
        'not_custom_logic',
        `Block "${block.tag ?? block.id ?? '?'}" is a ${block.blockType}; only customLogicBlock blocks can be dry-run.`,
      );
    }
    throw new ValidationError('The block configuration is invalid.', parsed.error.issues);
  }
  return parsed.data;
}

function documentWarnings(wrapped: number[]): DryRunResponse['warnings'] {
  if (wrapped.length === 0) {
    return [];
  }
  return [
    {
      code: 'document-wrapped',
      message: `Input document(s) ${wrapped.join(', ')} were plain JSON objects and were wrapped as Verifiable Credentials with the object as credentialSubject[0].`,
    },
  ];
}
