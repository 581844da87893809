import { SEMANTIC_VERSION_PATTERN } from './product-version.js';

/** A VC document schema: a JSON Schema object, draft-07 (Guardian's) or draft 2020-12. */
export type DocumentSchema = Record<string, unknown>;

/**
 * Builds the `$comment` of a system field. Guardian keeps a field's JSON-LD term and IRI in
 * `$comment`; `isSystemField` marks the fields that this product fills in itself.
 */
function systemFieldComment(term: string, iri: string): string {
  return JSON.stringify({ term, '@id': iri, isSystemField: true });
}

const TEXT_IRI = 'https://www.schema.org/text';

/**
 * Default system fields of every VC document schema, by property name. The product
 * sets all of them on each credential subject, so they are read-only to authors.
 */
export const SYSTEM_FIELDS: Readonly<Record<string, Record<string, unknown>>> = {
  '@context': {
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    readOnly: true,
  },
  type: {
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    readOnly: true,
  },
  id: { type: 'string', readOnly: true },
  policyId: {
    title: 'policyId',
    description: 'Id of the policy that produced the document.',
    type: 'string',
    readOnly: true,
    $comment: systemFieldComment('policyId', TEXT_IRI),
  },
  ref: {
    title: 'ref',
    description: 'Id of the document this one was produced from.',
    type: 'string',
    readOnly: true,
    $comment: systemFieldComment('ref', TEXT_IRI),
  },
  guardianVersion: {
    title: 'guardianVersion',
    description: 'Version of the product that produced the document, such as "3.4.1".',
    type: 'string',
    pattern: SEMANTIC_VERSION_PATTERN,
    readOnly: true,
    $comment: systemFieldComment('guardianVersion', TEXT_IRI),
  },
};

/**
 * Returns a copy of `schema` whose `properties` contain every default system field.
 * Properties the schema already defines are kept as they are, so a saved schema keeps
 * its own definitions. Apply it to every new schema and every schema loaded from storage.
 */
export function withSystemFields(schema: DocumentSchema): DocumentSchema {
  const properties = isObject(schema.properties) ? schema.properties : {};
  const merged: Record<string, unknown> = { ...properties };
  for (const [name, definition] of Object.entries(SYSTEM_FIELDS)) {
    if (!Object.hasOwn(merged, name)) {
      merged[name] = structuredClone(definition);
    }
  }
  return { ...schema, type: schema.type ?? 'object', properties: merged };
}

/** Returns whether the schema already defines every default system field. */
export function hasSystemFields(schema: DocumentSchema): boolean {
  const properties = isObject(schema.properties) ? schema.properties : {};
  return Object.keys(SYSTEM_FIELDS).every((name) => Object.hasOwn(properties, name));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
