import type { PolicyBlock, ScriptLanguage } from '@policy-logic-studio/shared';
import { CUSTOM_LOGIC_BLOCK_TYPE } from '@policy-logic-studio/shared';
import { starterScript } from './starter-scripts.js';

/**
 * Edits of a Guardian block tree. A block is addressed by its path of child indexes
 * from the root, because `id` and `tag` are optional and may repeat in imported
 * policies. Every edit copies the blocks on the path with a spread, so fields this
 * editor does not know survive a save.
 */
export type BlockPath = readonly number[];

export const ROOT_PATH: BlockPath = [];

export function pathKey(path: BlockPath): string {
  return path.length === 0 ? 'root' : path.join('.');
}

export function samePath(a: BlockPath, b: BlockPath): boolean {
  return a.length === b.length && a.every((index, position) => index === b[position]);
}

export function blockAt(root: PolicyBlock, path: BlockPath): PolicyBlock | undefined {
  let block: PolicyBlock | undefined = root;
  for (const index of path) {
    block = block?.children?.[index];
  }
  return block;
}

/** Returns a new tree in which the block at `path` is replaced by `update(block)`. */
export function updateBlockAt(root: PolicyBlock, path: BlockPath, update: (block: PolicyBlock) => PolicyBlock): PolicyBlock {
  const [index, ...rest] = path;
  if (index === undefined) {
    return update(root);
  }

  const children = root.children ?? [];
  const child = children[index];
  if (child === undefined) {
    throw new RangeError(`No block at child index ${index} of block "${root.tag ?? root.blockType}".`);
  }
  const nextChildren = children.slice();
  nextChildren[index] = updateBlockAt(child, rest, update);
  return { ...root, children: nextChildren };
}

/** Appends `child` to the block at `parentPath`; returns the new tree and the child's path. */
export function addChildAt(root: PolicyBlock, parentPath: BlockPath, child: PolicyBlock): { root: PolicyBlock; childPath: BlockPath } {
  let childIndex = 0;
  const nextRoot = updateBlockAt(root, parentPath, (parent) => {
    const children = parent.children ?? [];
    childIndex = children.length;
    return { ...parent, children: [...children, child] };
  });
  return { root: nextRoot, childPath: [...parentPath, childIndex] };
}

export function removeBlockAt(root: PolicyBlock, path: BlockPath): PolicyBlock {
  const parentPath = path.slice(0, -1);
  const index = path[path.length - 1];
  if (index === undefined) {
    throw new RangeError('The root block cannot be removed; delete the policy instead.');
  }
  return updateBlockAt(root, parentPath, (parent) => ({
    ...parent,
    children: (parent.children ?? []).filter((_child, position) => position !== index),
  }));
}

export function collectTags(root: PolicyBlock): string[] {
  const tags: string[] = [];
  const visit = (block: PolicyBlock) => {
    if (block.tag) {
      tags.push(block.tag);
    }
    block.children?.forEach(visit);
  };
  visit(root);
  return tags;
}

/** Returns `base`, or else the first of `base_2`, `base_3`, ... that no block of the tree uses. */
export function uniqueTag(root: PolicyBlock, base: string): string {
  const used = new Set(collectTags(root));
  if (!used.has(base)) {
    return base;
  }
  let suffix = 2;
  while (used.has(`${base}_${suffix}`)) {
    suffix += 1;
  }
  return `${base}_${suffix}`;
}

/** Counts the blocks of the tree, other than the one at `path`, that use `tag`. */
export function countOtherBlocksWithTag(root: PolicyBlock, path: BlockPath, tag: string): number {
  let count = 0;
  const visit = (block: PolicyBlock, blockPath: BlockPath) => {
    if (block.tag === tag && !samePath(blockPath, path)) {
      count += 1;
    }
    block.children?.forEach((child, index) => visit(child, [...blockPath, index]));
  };
  visit(root, ROOT_PATH);
  return count;
}

export function isCustomLogicBlock(block: PolicyBlock): boolean {
  return block.blockType === CUSTOM_LOGIC_BLOCK_TYPE;
}

/** Creates a Custom Logic block with all its Guardian fields set and the starter script of `language`. */
export function newCustomLogicBlock(tag: string, language: ScriptLanguage = 'JAVASCRIPT'): PolicyBlock {
  return {
    id: crypto.randomUUID(),
    blockType: CUSTOM_LOGIC_BLOCK_TYPE,
    tag,
    permissions: ['ANY_ROLE'],
    defaultActive: false,
    onErrorAction: 'no-action',
    children: [],
    events: [],
    artifacts: [],
    expression: starterScript(language),
    selectedScriptLanguage: language,
    outputSchema: '',
    // Signed output documents need an output schema, which a new block does not have yet.
    unsigned: true,
    passOriginal: false,
    documentSigner: '',
    idType: 'UUID',
  };
}
