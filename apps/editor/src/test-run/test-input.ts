import type { DryRunInput, JsonValue, PolicyBlock } from '@policy-logic-studio/shared';

/** The JSON texts of the Test dialog's fields, as the author typed them. */
export interface TestInputTexts {
  documents: string;
  user: string;
  artifacts: string;
}

function sampleRecord(id: string, subject: Record<string, JsonValue>): JsonValue {
  return {
    document: {
      '@context': ['https://www.w3.org/2018/credentials/v1'],
      id: `urn:uuid:${id}`,
      type: ['VerifiableCredential'],
      issuer: 'did:example:project-developer',
      issuanceDate: '2024-07-01T00:00:00.000Z',
      credentialSubject: [{ type: 'MonitoringReport', ...subject }],
    },
  };
}

/** Two document records in Guardian's shape, used when the block stores no test input. */
const SAMPLE_DOCUMENTS: JsonValue[] = [
  sampleRecord('0f6f0d4e-51c1-4a51-9f3a-6d3d1c2b7a01', { projectId: 'wind-farm-3', period: '2024-Q1', netElectricityMWh: 4200 }),
  sampleRecord('0f6f0d4e-51c1-4a51-9f3a-6d3d1c2b7a02', { projectId: 'wind-farm-3', period: '2024-Q2', netElectricityMWh: 3900 }),
];

const SAMPLE_USER: JsonValue = { did: 'did:example:project-developer', role: 'Project Developer' };

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Picks the texts the dialog opens with: the block's own `testInput` when it has one
 * (the example policy the backend seeds stores sample input there), else the samples above.
 */
export function initialTestInputTexts(block: PolicyBlock): TestInputTexts {
  const stored = isRecord(block.testInput) ? block.testInput : {};
  return {
    documents: pretty(Array.isArray(stored.documents) ? stored.documents : SAMPLE_DOCUMENTS),
    user: pretty(stored.user ?? SAMPLE_USER),
    artifacts: pretty(Array.isArray(stored.artifacts) ? stored.artifacts : []),
  };
}

export type FieldResult<T> = { ok: true; value: T } | { ok: false; error: string };

function parseJson(text: string, fieldName: string): FieldResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, error: `${fieldName} is not valid JSON: ${reason}` };
  }
}

function describeJsonType(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function parseDocuments(text: string): FieldResult<Record<string, unknown>[]> {
  const parsed = parseJson(text, 'Input documents');
  if (!parsed.ok) {
    return parsed;
  }
  if (!Array.isArray(parsed.value)) {
    return { ok: false, error: `Input documents must be a JSON array of objects, not ${describeJsonType(parsed.value)}.` };
  }

  const badIndex = parsed.value.findIndex((item) => !isRecord(item));
  if (badIndex !== -1) {
    const found = describeJsonType(parsed.value[badIndex]);
    return { ok: false, error: `Input documents: item ${badIndex} is ${found}; every item must be a JSON object.` };
  }
  return { ok: true, value: parsed.value as Record<string, unknown>[] };
}

/** Parses the User field. An empty field leaves the user out of the request. */
export function parseUser(text: string): FieldResult<unknown> {
  if (text.trim() === '') {
    return { ok: true, value: undefined };
  }
  return parseJson(text, 'User');
}

/** Parses the Artifacts field. An empty field leaves artifacts out of the request. */
export function parseArtifacts(text: string): FieldResult<unknown[] | undefined> {
  if (text.trim() === '') {
    return { ok: true, value: undefined };
  }
  const parsed = parseJson(text, 'Artifacts');
  if (!parsed.ok) {
    return parsed;
  }
  if (!Array.isArray(parsed.value)) {
    return { ok: false, error: `Artifacts must be a JSON array, not ${describeJsonType(parsed.value)}.` };
  }
  return { ok: true, value: parsed.value };
}

export interface ParsedTestInput {
  documents: FieldResult<Record<string, unknown>[]>;
  user: FieldResult<unknown>;
  artifacts: FieldResult<unknown[] | undefined>;
  /** The request input when every field is valid, else null. */
  input: DryRunInput | null;
}

export function parseTestInput(texts: TestInputTexts): ParsedTestInput {
  const documents = parseDocuments(texts.documents);
  const user = parseUser(texts.user);
  const artifacts = parseArtifacts(texts.artifacts);

  let input: DryRunInput | null = null;
  if (documents.ok && user.ok && artifacts.ok) {
    input = { documents: documents.value };
    if (user.value !== undefined) {
      input.user = user.value;
    }
    if (artifacts.value !== undefined) {
      input.artifacts = artifacts.value;
    }
  }
  return { documents, user, artifacts, input };
}

/** A CSV file the author attached for a table field, keyed by the field's fileId. */
export interface TableFile {
  fileId: string;
  fileName: string;
  csv: string;
}

/**
 * Adds the attached CSV files to a run's input as `tables[fileId] = csvText`, or
 * explains which entry is unusable. Run-supplied data overrides a document's inline rows.
 */
export function withTables(input: DryRunInput, tables: TableFile[]): FieldResult<DryRunInput> {
  if (tables.length === 0) {
    return { ok: true, value: input };
  }
  const byId: Record<string, string> = {};
  for (const [index, table] of tables.entries()) {
    const fileId = table.fileId.trim();
    if (fileId === '') {
      return { ok: false, error: `Table ${index + 1} (${table.fileName}) has no fileId. Enter the fileId its table field refers to.` };
    }
    if (fileId in byId) {
      return { ok: false, error: `Two tables use the fileId “${fileId}”. Each fileId can have one CSV file.` };
    }
    byId[fileId] = table.csv;
  }
  return { ok: true, value: { ...input, tables: byId } };
}
