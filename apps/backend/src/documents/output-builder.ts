import type { JsonValue } from '@policy-logic-studio/shared';
import type { OutputBuilder } from '../execution/dry-run-service.js';
import type { DocumentSigner } from './key-store.js';
import { buildOutputDocuments } from './output-documents.js';
import type { DocumentSchema } from './system-fields.js';

export interface OutputBuilderDependencies {
  signer: DocumentSigner;
  /** Finds a schema by its `$id` (the block's `outputSchema`), in the policy when there is one. */
  resolveSchema?: (schemaId: string, policyId: string | undefined) => DocumentSchema | undefined;
}

/** Adapts `buildOutputDocuments` to the dry-run service's output step. */
export function createOutputBuilder(dependencies: OutputBuilderDependencies): OutputBuilder {
  return async ({ block, policyId, inputDocuments, run }) => {
    const outputSchema = block.outputSchema
      ? dependencies.resolveSchema?.(block.outputSchema, policyId)
      : undefined;

    const result = await buildOutputDocuments({
      results: run.results.map((result) => result.value),
      block,
      inputDocuments,
      outputSchema,
      policyId,
      signer: dependencies.signer,
    });

    const outputs: JsonValue[] = result.documents.flatMap((entry) => (entry.document ? [entry.document] : []));
    return { outputs, errors: result.errors, warnings: result.warnings };
  };
}
