import type { PolicyBlock } from '@policy-logic-studio/shared';

/*
 * Kept apart from tree.ts, which imports runtime values from the shared package: the
 * policy list creates a container root, and importing tree.ts there would pull zod
 * into the first chunk the page loads.
 */

export const CONTAINER_BLOCK_TYPE = 'interfaceContainerBlock';

/** Creates an empty interface container block. */
export function newContainerBlock(tag: string): PolicyBlock {
  return {
    id: crypto.randomUUID(),
    blockType: CONTAINER_BLOCK_TYPE,
    tag,
    permissions: ['ANY_ROLE'],
    defaultActive: true,
    onErrorAction: 'no-action',
    children: [],
    events: [],
    artifacts: [],
    uiMetaData: { type: 'blank' },
  };
}
