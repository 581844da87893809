import { randomUUID } from 'node:crypto';
import type { JsonObject, JsonValue } from '@policy-logic-studio/shared';
import { createDocumentLoader } from './document-loader.js';
import { generateDid, type DocumentSigner } from './key-store.js';
import { productVersion } from './product-version.js';
import { schemaJsonLdContext, schemaNames, type SchemaNames } from './schema-context.js';
import { compileSchema, validateSubject, type SchemaViolation } from './schema-validation.js';
import { withSystemFields, type DocumentSchema } from './system-fields.js';

export const CREDENTIALS_V1_CONTEXT = 'https://www.w3.org/2018/credentials/v1';

/** The Custom Logic block fields that shape output documents. */
export interface OutputBlockOptions {
  tag?: string;
  /** Pass the input documents through instead of building new ones. */
  passOriginal?: boolean;
  /** Leave documents without a proof. */
  unsigned?: boolean;
  /** Kind of `id` each document gets: `UUID` (the default), `DID` or `OWNER`. */
  idType?: string;
}

export interface BuildOutputDocumentsOptions {
  /** Values passed to `done()`, in order. An array yields one document per element. */
  results: JsonValue[];
  block: OutputBlockOptions;
  /** The run's input document records (`{ document: <VC>, ... }`). */
  inputDocuments: JsonValue[];
  /** The block's output schema. Without one, documents are built without validation. */
  outputSchema?: DocumentSchema;
  policyId?: string;
  /** Signer of the documents. Its DID is the issuer, also of unsigned documents. */
  signer: DocumentSigner;
  /** DID of the user who runs the block, the document id when `idType` is `OWNER`. */
  ownerDid?: string;
  /** Issuance time, the current time when absent. */
  now?: Date;
}

/** One output document, or the reasons it could not be built. */
export interface OutputDocument {
  /** Position among the built documents. */
  index: number;
  /** The VC (signed unless the block is unsigned), or an input record passed through. */
  document: JsonObject | null;
  signed: boolean;
  errors: SchemaViolation[];
  /** Why a valid document was left unsigned. */
  unsignedReason?: string;
}

export interface OutputDocumentsResult {
  documents: OutputDocument[];
  /** Every problem as one line, prefixed with the document index. Empty when all are valid. */
  errors: string[];
  /** Documents that are valid but were left unsigned, one line each. */
  warnings: string[];
}

const ID_TYPES = ['UUID', 'DID', 'OWNER'] as const;

/**
 * Builds the output documents of a Custom Logic block from its `done()` results.
 *
 * With `passOriginal`, the input document records are returned unchanged. Otherwise each
 * result element becomes a VC whose credential subject is the element plus `@context`,
 * `type`, `policyId`, `ref` and `guardianVersion`. Each subject is validated against the
 * output schema, and valid documents are signed unless the block is `unsigned`.
 * Documents with violations are returned unsigned, with one error per violation.
 */
export async function buildOutputDocuments(options: BuildOutputDocumentsOptions): Promise<OutputDocumentsResult> {
  const { block } = options;
  if (block.passOriginal) {
    return passOriginalDocuments(options.inputDocuments);
  }

  const idType = block.idType || 'UUID';
  if (!(ID_TYPES as readonly string[]).includes(idType)) {
    return failAll(`idType ${JSON.stringify(idType)} is not supported. Use UUID, DID or OWNER.`);
  }

  const schema = options.outputSchema ? withSystemFields(options.outputSchema) : undefined;
  let names: SchemaNames | undefined;
  try {
    names = schema ? schemaNames(schema) : undefined;
    if (schema) {
      compileSchema(schema);
    }
  } catch (error) {
    return failAll((error as Error).message);
  }

  const values = options.results.flatMap((value) => (Array.isArray(value) ? value : [value]));
  const context = { ...options, idType, schema, names, issuanceDate: (options.now ?? new Date()).toISOString() };
  const documents: OutputDocument[] = [];
  for (const [index, value] of values.entries()) {
    documents.push(await buildDocument(index, value, context));
  }
  return { documents, errors: collectErrors(documents), warnings: collectWarnings(documents) };
}

interface BuildContext extends BuildOutputDocumentsOptions {
  idType: string;
  schema: DocumentSchema | undefined;
  names: SchemaNames | undefined;
  issuanceDate: string;
}

async function buildDocument(index: number, value: JsonValue, context: BuildContext): Promise<OutputDocument> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const message = `(credential subject) must be a JSON object, but done() gave ${describeJson(value)}`;
    return { index, document: null, signed: false, errors: [{ pointer: '', message }] };
  }

  const subject = credentialSubject(value, context);
  const credential: JsonObject = {
    '@context': context.names ? [CREDENTIALS_V1_CONTEXT, context.names.contextUrl] : [CREDENTIALS_V1_CONTEXT],
    id: await documentId(context),
    type: ['VerifiableCredential'],
    issuer: context.signer.did,
    issuanceDate: context.issuanceDate,
    credentialSubject: [subject],
  };

  const errors = context.schema ? validateSubject(context.schema, subject) : [];
  if (errors.length > 0 || context.block.unsigned) {
    return { index, document: credential, signed: false, errors };
  }
  if (!context.names) {
    // Without the schema's JSON-LD context the subject's terms are undefined, and the
    // RDF canonicalization behind the proof rejects undefined terms.
    const unsignedReason =
      "left unsigned because the block has no output schema to define the subject's terms. Choose the block's outputSchema, or set \"unsigned\": true on the block to skip signing.";
    return { index, document: credential, signed: false, errors: [], unsignedReason };
  }
  return signDocument(index, credential, context);
}

function credentialSubject(value: JsonObject, context: BuildContext): JsonObject {
  const subject: JsonObject = { ...value };
  if (context.names) {
    subject['@context'] = [context.names.contextUrl];
    subject.type = context.names.type;
  }
  if (context.policyId !== undefined) {
    subject.policyId = context.policyId;
  }
  const ref = sourceDocumentId(context.inputDocuments);
  if (ref !== undefined) {
    subject.ref = ref;
  }
  subject.guardianVersion = productVersion();
  return subject;
}

async function signDocument(index: number, credential: JsonObject, context: BuildContext): Promise<OutputDocument> {
  const schemaContexts = new Map<string, unknown>();
  if (context.schema && context.names) {
    schemaContexts.set(context.names.contextUrl, schemaJsonLdContext(context.schema));
  }

  try {
    const signed = await context.signer.sign(structuredClone(credential), createDocumentLoader(schemaContexts));
    return { index, document: signed as JsonObject, signed: true, errors: [] };
  } catch (error) {
    const message = `signing failed: ${(error as Error).message}`;
    return { index, document: credential, signed: false, errors: [{ pointer: '', message }] };
  }
}

async function documentId(context: BuildContext): Promise<string> {
  if (context.idType === 'DID') {
    return generateDid();
  }
  if (context.idType === 'OWNER') {
    return context.ownerDid ?? context.signer.did;
  }
  return `urn:uuid:${randomUUID()}`;
}

/**
 * Returns the id of the document the outputs were made from. With several input documents
 * the source of each output is unknown, so no `ref` is set.
 */
function sourceDocumentId(inputDocuments: JsonValue[]): string | undefined {
  if (inputDocuments.length !== 1) {
    return undefined;
  }
  const record = inputDocuments[0];
  if (!isJsonObject(record) || !isJsonObject(record.document)) {
    return undefined;
  }
  const id = record.document.id;
  return typeof id === 'string' ? id : undefined;
}

function passOriginalDocuments(inputDocuments: JsonValue[]): OutputDocumentsResult {
  const documents = inputDocuments.map((record, index) => ({
    index,
    document: isJsonObject(record) ? record : null,
    signed: false,
    errors: isJsonObject(record) ? [] : [{ pointer: '', message: `input document ${index} is not a JSON object` }],
  }));
  return { documents, errors: collectErrors(documents), warnings: collectWarnings(documents) };
}

function failAll(message: string): OutputDocumentsResult {
  return { documents: [], errors: [message], warnings: [] };
}

function collectErrors(documents: OutputDocument[]): string[] {
  return documents.flatMap((entry) => entry.errors.map((error) => `document ${entry.index}: ${error.message}`));
}

function collectWarnings(documents: OutputDocument[]): string[] {
  return documents.flatMap((entry) => (entry.unsignedReason ? [`document ${entry.index}: ${entry.unsignedReason}`] : []));
}

function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

function describeJson(value: JsonValue): string {
  if (value === null) {
    return 'null';
  }
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
