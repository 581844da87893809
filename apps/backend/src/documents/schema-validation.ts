import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { DocumentSchema } from './system-fields.js';

/** One schema violation in a credential subject. */
export interface SchemaViolation {
  /** JSON pointer to the offending value inside the credential subject ('' is the subject itself). */
  pointer: string;
  /** The violation with its pointer first, such as `/emissionReductions must be number`. */
  message: string;
}

// ajv-formats is CommonJS, so under NodeNext the default import is its module object.
const addFormats = ajvFormats.default;

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

// One validator per distinct schema text. A fresh ajv instance per schema, because ajv
// rejects a second schema with an `$id` it has already registered, and a schema edited
// in the editor keeps its `$id`.
const MAX_CACHED_VALIDATORS = 100;
const validators = new Map<string, ValidateFunction>();

/**
 * Compiles `schema` (draft 2020-12 when its `$schema` names that draft, otherwise
 * draft-07 as Guardian writes them), or throws an error naming the schema and ajv's complaint.
 */
export function compileSchema(schema: DocumentSchema): ValidateFunction {
  const key = JSON.stringify(schema);
  const cached = validators.get(key);
  if (cached) {
    return cached;
  }

  const options = { allErrors: true, strict: false, logger: false } as const;
  const ajv = typeof schema.$schema === 'string' && schema.$schema.startsWith(DRAFT_2020_12)
    ? new Ajv2020(options)
    : new Ajv(options);
  addFormats(ajv);

  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new Error(
      `The output schema ${String(schema.$id ?? schema.title ?? '(no $id)')} is not a valid JSON Schema: ` +
        `${(error as Error).message}. Fix the schema before running the block.`,
    );
  }

  if (validators.size >= MAX_CACHED_VALIDATORS) {
    const oldest = validators.keys().next().value;
    if (oldest !== undefined) {
      validators.delete(oldest);
    }
  }
  validators.set(key, validate);
  return validate;
}

/** Validates a credential subject and returns every violation, each naming its JSON pointer. */
export function validateSubject(schema: DocumentSchema, subject: unknown): SchemaViolation[] {
  const validate = compileSchema(schema);
  if (validate(subject)) {
    return [];
  }
  return (validate.errors ?? []).map(describeViolation);
}

function describeViolation(error: ErrorObject): SchemaViolation {
  if (error.keyword === 'required') {
    const pointer = `${error.instancePath}/${escapePointer(String(error.params.missingProperty))}`;
    return { pointer, message: `${pointer} is required but missing` };
  }
  if (error.keyword === 'additionalProperties') {
    const pointer = `${error.instancePath}/${escapePointer(String(error.params.additionalProperty))}`;
    return { pointer, message: `${pointer} is not allowed by the schema (additionalProperties is false)` };
  }
  const shown = error.instancePath === '' ? '(credential subject)' : error.instancePath;
  return { pointer: error.instancePath, message: `${shown} ${error.message ?? `fails ${error.keyword}`}` };
}

/** Escapes a property name for a JSON pointer (RFC 6901). */
function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}
