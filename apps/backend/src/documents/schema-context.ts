import type { DocumentSchema } from './system-fields.js';

/**
 * JSON-LD names of a VC document schema. A Guardian schema's `$id` is `#<type>` (for
 * example `#4b4f...&1.0.0`), its credential subjects carry `type: "<type>"`, and its
 * JSON-LD context lives at a URL of its own.
 */
export interface SchemaNames {
  /** The credential subject's `type`: the `$id` without its leading `#`. */
  type: string;
  /** URL of the schema's JSON-LD context. */
  contextUrl: string;
}

/** Reads the type and context URL of a schema, or throws when the schema has no usable `$id`. */
export function schemaNames(schema: DocumentSchema): SchemaNames {
  const id = schema.$id;
  if (typeof id !== 'string' || id.replace(/^#/, '') === '') {
    throw new Error(
      `The output schema ${JSON.stringify(schema.title ?? null)} has no $id. ` +
        'Give it an $id such as "#EmissionReductionReport" so documents can name their type.',
    );
  }
  const type = id.replace(/^#/, '');
  return { type, contextUrl: contextUrlFromComment(schema.$comment) ?? `schema:${type}` };
}

/**
 * Reads the context URL from a schema's `$comment`. Guardian writes
 * `{"@id": "<context URL>#<type>", "term": ...}` there, and the part before `#` is the URL.
 */
function contextUrlFromComment(comment: unknown): string | undefined {
  if (typeof comment !== 'string') {
    return undefined;
  }
  try {
    const parsed = JSON.parse(comment) as { '@id'?: unknown };
    const iri = parsed['@id'];
    if (typeof iri !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(iri)) {
      return undefined;
    }
    const [url] = iri.split('#');
    return url || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds the JSON-LD context document served at the schema's context URL. `@vocab` maps
 * every property name, including nested and undeclared ones, to `<context URL>#<name>`,
 * so signing never fails on an undefined term. Null values still drop out of the RDF form.
 */
// NOTE: a context published at the same URL (Guardian publishes schema contexts on IPFS)
// defines the terms one by one, so these signatures verify only against this context.
export function schemaJsonLdContext(schema: DocumentSchema): Record<string, unknown> {
  const { contextUrl } = schemaNames(schema);
  return { '@context': { '@version': 1.1, '@vocab': `${contextUrl}#` } };
}
