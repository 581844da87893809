import express from 'express';
import { z } from 'zod';
import { policyBlockSchema, type DryRunResponse, type JsonValue } from '@policy-logic-studio/shared';
import { ValidationError } from '../errors.js';
import type { DryRunService } from '../execution/dry-run-service.js';
import { prepareInputDocuments } from '../execution/input-documents.js';
import type { PolicyService } from '../policies/policy-service.js';
import { parseBody } from './validation.js';

/**
 * Guardian's block dry-run endpoint, so that a client written for Guardian's Test
 * dialog can talk to this backend: `{ block, data: { type, input, output, document } }`
 * in, `{ input, output, logs, errors }` out.
 */
const guardianDryRunSchema = z.object({
  block: policyBlockSchema,
  data: z.object({
    type: z.enum(['json', 'schema', 'file'], {
      error: 'data.type must be "json", "schema" or "file"',
    }),
    input: z.string().optional(),
    output: z.string().optional(),
    document: z.unknown(),
  }),
});

export interface GuardianDryRunResponse {
  input: JsonValue[];
  output: JsonValue[];
  logs: string[];
  errors: string[];
}

export function guardianRoutes(deps: { policies: PolicyService; dryRuns: DryRunService }) {
  const router = express.Router();

  router.post('/policies/:policyId/dry-run/block', async (req, res) => {
    const body = parseBody(guardianDryRunSchema, req.body);
    deps.policies.get(req.params.policyId);
    const documents = readDocuments(body.data.type, body.data.document);

    const run = await deps.dryRuns.run({ block: body.block, policyId: req.params.policyId, input: { documents } });
    res.json(toGuardianResponse(documents, run));
  });
  return router;
}

/** Guardian sends one document, an array of them, or (for files) their JSON text. */
function readDocuments(type: 'json' | 'schema' | 'file', document: unknown): Record<string, unknown>[] {
  let value = document;
  if (type === 'file' && typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch (error) {
      throw new ValidationError(`data.document is not valid JSON: ${(error as Error).message}`);
    }
  }
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new ValidationError(`data.document[${index}] must be a JSON object (a VC document or its subject).`);
    }
    const record = item as Record<string, unknown>;
    // A bare VC (Guardian's JSON input) becomes a document record.
    return 'credentialSubject' in record ? { document: record } : record;
  });
}

function toGuardianResponse(documents: Record<string, unknown>[], run: DryRunResponse): GuardianDryRunResponse {
  const logs = [
    ...run.debug.map((values) => values.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))).join(' ')),
    ...run.warnings.map((warning) => `warning: ${warning.message}`),
  ];
  const errors = run.error ? [formatError(run.error)] : [];
  // Guardian echoes the input VCs, so plain subjects are shown wrapped as they ran.
  const input = prepareInputDocuments(documents).records.map((record) => (record as { document: JsonValue }).document);
  return {
    input,
    output: run.outputs.length > 0 ? run.outputs : run.results.map((result) => result.value),
    logs,
    errors,
  };
}

function formatError(error: NonNullable<DryRunResponse['error']>): string {
  const where = error.line === undefined ? '' : ` (line ${error.line})`;
  return `${error.type}: ${error.message}${where}`;
}
