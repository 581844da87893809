import { describe, expect, it } from 'vitest';
import type { PolicyBlock } from '@policy-logic-studio/shared';
import { newContainerBlock } from '../src/blocks/container-block.js';
import { findTagProblems } from '../src/blocks/tag-problems.js';
import {
  addChildAt,
  blockAt,
  collectTags,
  countOtherBlocksWithTag,
  newCustomLogicBlock,
  removeBlockAt,
  uniqueTag,
  updateBlockAt,
} from '../src/blocks/tree.js';

function samplePolicyRoot(): PolicyBlock {
  return {
    id: 'root-id',
    blockType: 'interfaceContainerBlock',
    tag: 'root',
    uiMetaData: { type: 'tabs', title: 'Kept' },
    children: [
      {
        blockType: 'customLogicBlock',
        tag: 'calc',
        expression: 'done(1)',
        guardianOnlyField: { nested: [1, 2, 3] },
      },
      {
        blockType: 'interfaceStepBlock',
        tag: 'steps',
        children: [{ blockType: 'sendToGuardianBlock', tag: 'send', dataType: 'vc-documents' }],
      },
    ],
  };
}

describe('updateBlockAt', () => {
  it('keeps unknown fields along the path', () => {
    const root = samplePolicyRoot();

    const updated = updateBlockAt(root, [0], (block) => ({ ...block, expression: 'done(2)' }));

    expect(updated.uiMetaData).toEqual({ type: 'tabs', title: 'Kept' });
    expect(updated.id).toBe('root-id');
    expect(blockAt(updated, [0])?.expression).toBe('done(2)');
    expect(blockAt(updated, [0])?.guardianOnlyField).toEqual({ nested: [1, 2, 3] });
  });

  it('leaves the original tree unchanged', () => {
    const root = samplePolicyRoot();

    updateBlockAt(root, [1, 0], (block) => ({ ...block, tag: 'renamed' }));

    expect(blockAt(root, [1, 0])?.tag).toBe('send');
  });

  it('shares untouched subtrees with the original', () => {
    const root = samplePolicyRoot();

    const updated = updateBlockAt(root, [0], (block) => ({ ...block, tag: 'other' }));

    expect(blockAt(updated, [1])).toBe(blockAt(root, [1]));
  });

  it('throws on a path that leads nowhere', () => {
    expect(() => updateBlockAt(samplePolicyRoot(), [5], (block) => block)).toThrow(RangeError);
  });
});

describe('addChildAt', () => {
  it('appends the child and returns its path', () => {
    const child = newContainerBlock('box');

    const { root, childPath } = addChildAt(samplePolicyRoot(), [1], child);

    expect(childPath).toEqual([1, 1]);
    expect(blockAt(root, childPath)).toBe(child);
  });

  it('creates the children array on a block without one', () => {
    const child = newContainerBlock('box');

    const { root, childPath } = addChildAt(samplePolicyRoot(), [0], child);

    expect(childPath).toEqual([0, 0]);
    expect(blockAt(root, [0])?.children).toEqual([child]);
  });
});

describe('removeBlockAt', () => {
  it('removes the block with its subtree', () => {
    const root = removeBlockAt(samplePolicyRoot(), [1]);

    expect(collectTags(root)).toEqual(['root', 'calc']);
  });

  it('rejects removing the root block', () => {
    expect(() => removeBlockAt(samplePolicyRoot(), [])).toThrow(/root block cannot be removed/);
  });
});

describe('uniqueTag', () => {
  it('returns the base when no block uses it', () => {
    expect(uniqueTag(samplePolicyRoot(), 'custom_logic')).toBe('custom_logic');
  });

  it('appends the first free number when the base is taken', () => {
    const { root } = addChildAt(samplePolicyRoot(), [], newContainerBlock('calc_2'));

    expect(uniqueTag(root, 'calc')).toBe('calc_3');
  });
});

describe('countOtherBlocksWithTag', () => {
  it('ignores the block at the given path', () => {
    expect(countOtherBlocksWithTag(samplePolicyRoot(), [0], 'calc')).toBe(0);
  });

  it('counts another block with the same tag', () => {
    expect(countOtherBlocksWithTag(samplePolicyRoot(), [1, 0], 'calc')).toBe(1);
  });
});

describe('newCustomLogicBlock', () => {
  it('starts with the starter script of the requested language', () => {
    const block = newCustomLogicBlock('py', 'PYTHON');

    expect(block.blockType).toBe('customLogicBlock');
    expect(block.selectedScriptLanguage).toBe('PYTHON');
    expect(block.expression).toContain('done(');
  });

  it('gives every new block its own id', () => {
    expect(newCustomLogicBlock('a').id).not.toBe(newCustomLogicBlock('b').id);
  });
});

describe('findTagProblems', () => {
  it('reports nothing for unique tags', () => {
    expect(findTagProblems(samplePolicyRoot())).toEqual([]);
  });

  it('reports a tag used twice', () => {
    const { root } = addChildAt(samplePolicyRoot(), [], newContainerBlock('send'));

    expect(findTagProblems(root)).toEqual(['The tag “send” is used by 2 blocks; make each tag unique.']);
  });

  it('reports a Custom Logic block without a tag', () => {
    const { root } = addChildAt(samplePolicyRoot(), [], newCustomLogicBlock(''));

    expect(findTagProblems(root)).toEqual(['A Custom Logic block has no tag; give it one.']);
  });

  it('accepts other blocks without a tag', () => {
    const { root } = addChildAt(samplePolicyRoot(), [], { blockType: 'interfaceContainerBlock' });

    expect(findTagProblems(root)).toEqual([]);
  });
});
