import { z } from 'zod';

/**
 * Guardian's policy JSON shape. Schemas are `looseObject` so that block and policy
 * fields this product does not know survive a save and an export unchanged.
 */

export const SCRIPT_LANGUAGES = ['JAVASCRIPT', 'PYTHON'] as const;
export type ScriptLanguage = (typeof SCRIPT_LANGUAGES)[number];
export const scriptLanguageSchema = z.enum(SCRIPT_LANGUAGES);

export const CUSTOM_LOGIC_BLOCK_TYPE = 'customLogicBlock';

export interface PolicyBlock {
  id?: string;
  blockType: string;
  tag?: string;
  permissions?: string[];
  defaultActive?: boolean;
  onErrorAction?: string;
  children?: PolicyBlock[];
  events?: unknown[];
  [field: string]: unknown;
}

export const policyBlockSchema: z.ZodType<PolicyBlock> = z.lazy(() =>
  z.looseObject({
    id: z.string().optional(),
    blockType: z.string().min(1, 'blockType must be a non-empty string'),
    tag: z.string().optional(),
    permissions: z.array(z.string()).optional(),
    defaultActive: z.boolean().optional(),
    onErrorAction: z.string().optional(),
    children: z.array(policyBlockSchema).optional(),
    events: z.array(z.unknown()).optional(),
  }),
);

/** The fields of a Custom Logic block this product reads; the rest pass through. */
export const customLogicBlockSchema = z.looseObject({
  id: z.string().optional(),
  blockType: z.literal(CUSTOM_LOGIC_BLOCK_TYPE),
  tag: z.string().optional(),
  expression: z.string().default(''),
  selectedScriptLanguage: scriptLanguageSchema.optional(),
  outputSchema: z.string().optional(),
  unsigned: z.boolean().optional(),
  passOriginal: z.boolean().optional(),
  documentSigner: z.string().optional(),
  idType: z.string().optional(),
  children: z.array(z.unknown()).optional(),
});
export type CustomLogicBlock = z.infer<typeof customLogicBlockSchema>;

/** Guardian treats a missing `selectedScriptLanguage` as JavaScript. */
export function scriptLanguageOf(block: { selectedScriptLanguage?: ScriptLanguage }): ScriptLanguage {
  return block.selectedScriptLanguage ?? 'JAVASCRIPT';
}

/** A Guardian policy document: `config` holds the root block of the tree. */
export const policyDocumentSchema = z.looseObject({
  name: z.string().trim().min(1, 'name must be a non-empty string'),
  description: z.string().optional(),
  config: policyBlockSchema,
});
export type PolicyDocument = z.infer<typeof policyDocumentSchema>;

/** A saved policy as the API returns it. */
export interface StoredPolicy {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  policy: PolicyDocument;
}

export interface PolicySummary {
  id: string;
  name: string;
  description?: string;
  version: number;
  updatedAt: string;
}

/** Depth-first walk of a block tree; returns the first block with the tag. */
export function findBlockByTag(root: PolicyBlock, tag: string): PolicyBlock | undefined {
  if (root.tag === tag) {
    return root;
  }
  for (const child of root.children ?? []) {
    const found = findBlockByTag(child, tag);
    if (found) {
      return found;
    }
  }
  return undefined;
}
