import { randomUUID } from 'node:crypto';
import {
  CUSTOM_LOGIC_BLOCK_TYPE,
  findBlockByTag,
  policyDocumentSchema,
  type PolicyBlock,
  type PolicyDocument,
  type StoredPolicy,
} from '@policy-logic-studio/shared';
import { withSystemFields, type DocumentSchema } from '../documents/index.js';
import { AppError, NotFoundError, ValidationError } from '../errors.js';
import { EXAMPLE_POLICY } from './example-policy.js';
import type { PolicyStore } from './policy-store.js';

/** Policy operations on top of the store: validation, import, export and seeding. */
export class PolicyService {
  constructor(private readonly store: PolicyStore) {}

  list() {
    return this.store.list();
  }

  /** Return a saved policy, adding the default system fields to any schema that lacks them. */
  get(id: string): StoredPolicy {
    return withSchemaSystemFields(this.store.get(id));
  }

  create(body: unknown): StoredPolicy {
    return withSchemaSystemFields(this.store.create(parsePolicyDocument(body)));
  }

  update(id: string, body: unknown, baseVersion: number): StoredPolicy {
    return withSchemaSystemFields(this.store.update(id, parsePolicyDocument(body), baseVersion));
  }

  listSchemas(policyId: string): DocumentSchema[] {
    return schemasOf(this.get(policyId).policy);
  }

  /**
   * Add or replace a schema (matched by `$id`, else Guardian's `iri`), as one versioned
   * policy update. A schema without an id gets `#<uuid>`.
   */
  saveSchema(policyId: string, body: unknown, baseVersion: number): { policy: StoredPolicy; schema: DocumentSchema } {
    const schema = parseSchema(body);
    const current = this.store.get(policyId);
    const schemas = schemasOf(current.policy).filter((existing) => schemaId(existing) !== schemaId(schema));
    const policy = this.update(policyId, { ...current.policy, schemas: [...schemas, schema] }, baseVersion);
    return { policy, schema: withSystemFields(schema) };
  }

  deleteSchema(policyId: string, id: string, baseVersion: number): StoredPolicy {
    const current = this.store.get(policyId);
    const schemas = schemasOf(current.policy);
    const remaining = schemas.filter((schema) => schemaId(schema) !== normalizeSchemaId(id));
    if (remaining.length === schemas.length) {
      throw new NotFoundError(`Schema in policy ${policyId}`, id);
    }
    return this.update(policyId, { ...current.policy, schemas: remaining }, baseVersion);
  }

  delete(id: string): void {
    this.store.delete(id);
  }

  /**
   * Import a Guardian policy JSON. Guardian exports carry many fields this product does
   * not use (topics, roles, groups); they are kept as they are and exported again.
   */
  import(body: unknown): StoredPolicy {
    return this.store.create(parsePolicyDocument(body));
  }

  export(id: string): PolicyDocument {
    return this.get(id).policy;
  }

  /** Find the Custom Logic block with `tag` in a saved policy. */
  findBlock(policyId: string, tag: string): PolicyBlock {
    const block = findBlockByTag(this.store.get(policyId).policy.config, tag);
    if (!block) {
      throw new NotFoundError(`Block in policy ${policyId} with tag`, tag);
    }
    if (block.blockType !== CUSTOM_LOGIC_BLOCK_TYPE) {
      throw new AppError(
        422,
        'not_custom_logic',
        `Block "${tag}" is a ${block.blockType}; only customLogicBlock blocks can be dry-run.`,
      );
    }
    return block;
  }

  /**
   * Find a VC document schema stored with the policy by `$id` or Guardian's `iri`
   * (`#<uuid>`), with the default system fields added.
   */
  findSchema(policyId: string, schemaId: string): DocumentSchema | undefined {
    const requested = normalizeSchemaId(schemaId);
    return this.listSchemas(policyId).find((schema) => {
      const candidate = schema as { $id?: unknown; iri?: unknown };
      return [candidate.$id, candidate.iri].some((id) => typeof id === 'string' && normalizeSchemaId(id) === requested);
    });
  }

  /** Store the example policy once per database, on its first start. */
  seedExample(): StoredPolicy | undefined {
    let created: StoredPolicy | undefined;
    this.store.runOnce('example-policy-seeded', () => {
      created = this.store.create(EXAMPLE_POLICY);
    });
    return created;
  }
}

function normalizeSchemaId(id: string): string {
  return id.replace(/^#/, '');
}

function schemaId(schema: DocumentSchema): string | undefined {
  const id = schema.$id ?? schema.iri;
  return typeof id === 'string' ? normalizeSchemaId(id) : undefined;
}

function schemasOf(policy: PolicyDocument): DocumentSchema[] {
  const schemas = policy.schemas;
  if (!Array.isArray(schemas)) {
    return [];
  }
  return schemas.filter((schema): schema is DocumentSchema => typeof schema === 'object' && schema !== null && !Array.isArray(schema));
}

function withSchemaSystemFields(stored: StoredPolicy): StoredPolicy {
  if (!Array.isArray(stored.policy.schemas)) {
    return stored;
  }
  const schemas = schemasOf(stored.policy).map(withSystemFields);
  return { ...stored, policy: { ...stored.policy, schemas } };
}

function parseSchema(body: unknown): DocumentSchema {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('A schema must be a JSON Schema object such as { "title": "Report", "type": "object", "properties": {...} }.');
  }
  const schema = body as DocumentSchema;
  if (schema.type !== undefined && schema.type !== 'object') {
    throw new ValidationError(`Schema type "${String(schema.type)}" is invalid; a VC document schema must have type "object".`);
  }
  if (schema.properties !== undefined && (typeof schema.properties !== 'object' || Array.isArray(schema.properties))) {
    throw new ValidationError('Schema "properties" must be an object mapping field names to JSON Schemas.');
  }
  if (schemaId(schema) === undefined) {
    const id = `#${randomUUID()}`;
    return withSystemFields({ ...schema, $id: id, iri: id });
  }
  return withSystemFields(schema);
}

function parsePolicyDocument(body: unknown): PolicyDocument {
  const parsed = policyDocumentSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    const first = issues[0];
    throw new ValidationError(
      `Invalid policy: ${first ? `${first.path || '(body)'}: ${first.message}` : 'unknown problem'}. A policy needs a "name" and a "config" root block with a "blockType".`,
      issues,
    );
  }
  return parsed.data;
}
