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

  get(id: string): StoredPolicy {
    return this.store.get(id);
  }

  create(body: unknown): StoredPolicy {
    return this.store.create(parsePolicyDocument(body));
  }

  update(id: string, body: unknown, baseVersion: number): StoredPolicy {
    return this.store.update(id, parsePolicyDocument(body), baseVersion);
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
    return this.store.get(id).policy;
  }

  /** The Custom Logic block with `tag` in a saved policy. */
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
   * A VC document schema stored with the policy, by `$id` or Guardian's `iri`
   * (`#<uuid>`), with the default system fields added.
   */
  findSchema(policyId: string, schemaId: string): DocumentSchema | undefined {
    const schemas = this.store.get(policyId).policy.schemas;
    if (!Array.isArray(schemas)) {
      return undefined;
    }
    const wanted = schemaId.replace(/^#/, '');
    const found = schemas.find((schema): schema is DocumentSchema => {
      const candidate = schema as { $id?: unknown; iri?: unknown };
      return [candidate.$id, candidate.iri].some((id) => typeof id === 'string' && id.replace(/^#/, '') === wanted);
    });
    return found ? withSystemFields(found) : undefined;
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
