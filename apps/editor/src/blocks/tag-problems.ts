import type { PolicyBlock } from '@policy-logic-studio/shared';
import { isCustomLogicBlock } from './tree.js';

/**
 * Tags that stop a save: events and dry runs address blocks by tag, so a tag must be
 * unique, and a Custom Logic block needs one. Returns one sentence per problem.
 */
export function findTagProblems(root: PolicyBlock): string[] {
  const counts = new Map<string, number>();
  const problems: string[] = [];

  const visit = (block: PolicyBlock) => {
    if (block.tag) {
      counts.set(block.tag, (counts.get(block.tag) ?? 0) + 1);
    } else if (isCustomLogicBlock(block)) {
      problems.push('A Custom Logic block has no tag; give it one.');
    }
    block.children?.forEach(visit);
  };
  visit(root);

  for (const [tag, count] of counts) {
    if (count > 1) {
      problems.push(`The tag “${tag}” is used by ${count} blocks; make each tag unique.`);
    }
  }
  return problems;
}
