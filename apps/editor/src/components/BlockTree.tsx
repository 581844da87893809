import { useEffect, useMemo, useRef, type KeyboardEvent } from 'react';
import type { PolicyBlock } from '@policy-logic-studio/shared';
import { blockDisplayName, blockTypeLabel } from '../blocks/block-types.js';
import { pathKey, ROOT_PATH, samePath, type BlockPath } from '../blocks/tree.js';

interface BlockTreeProps {
  root: PolicyBlock;
  selectedPath: BlockPath;
  onSelect: (path: BlockPath) => void;
}

/** Paths of all blocks in display order (depth first), for arrow-key navigation. */
function flattenPaths(block: PolicyBlock, path: BlockPath, into: BlockPath[] = []): BlockPath[] {
  into.push(path);
  block.children?.forEach((child, index) => flattenPaths(child, [...path, index], into));
  return into;
}

/** Renders the block tree as an ARIA tree. A click or the arrow keys select a block. */
export function BlockTree({ root, selectedPath, onSelect }: BlockTreeProps) {
  const itemRefs = useRef(new Map<string, HTMLLIElement>());
  const treeRef = useRef<HTMLUListElement>(null);
  const orderedPaths = useMemo(() => flattenPaths(root, ROOT_PATH), [root]);

  // Keyboard selection moves focus with it; a click elsewhere on the page must not steal focus.
  useEffect(() => {
    if (treeRef.current?.contains(document.activeElement)) {
      itemRefs.current.get(pathKey(selectedPath))?.focus();
    }
  }, [selectedPath]);

  const onKeyDown = (event: KeyboardEvent) => {
    const position = orderedPaths.findIndex((path) => samePath(path, selectedPath));
    const targets: Record<string, number> = {
      ArrowDown: Math.min(position + 1, orderedPaths.length - 1),
      ArrowUp: Math.max(position - 1, 0),
      Home: 0,
      End: orderedPaths.length - 1,
    };
    const target = targets[event.key];
    const path = target === undefined ? undefined : orderedPaths[target];
    if (path) {
      event.preventDefault();
      onSelect(path);
    }
  };

  const renderItem = (block: PolicyBlock, path: BlockPath) => {
    const key = pathKey(path);
    const selected = samePath(path, selectedPath);
    const children = block.children ?? [];

    return (
      <li
        key={key}
        ref={(element) => {
          if (element) {
            itemRefs.current.set(key, element);
          } else {
            itemRefs.current.delete(key);
          }
        }}
        role="treeitem"
        aria-label={`${blockDisplayName(block)} (${blockTypeLabel(block.blockType)})`}
        aria-level={path.length + 1}
        aria-selected={selected}
        aria-expanded={children.length > 0 ? true : undefined}
        tabIndex={selected ? 0 : -1}
        onClick={(event) => {
          event.stopPropagation();
          onSelect(path);
        }}
      >
        <div className={`tree-row${selected ? ' tree-row-selected' : ''}`}>
          <span className="tree-tag">{blockDisplayName(block)}</span>
          <span className="tree-type">{blockTypeLabel(block.blockType)}</span>
        </div>
        {children.length > 0 && <ul role="group">{children.map((child, index) => renderItem(child, [...path, index]))}</ul>}
      </li>
    );
  };

  return (
    <ul className="block-tree" role="tree" aria-label="Blocks" ref={treeRef} onKeyDown={onKeyDown}>
      {renderItem(root, ROOT_PATH)}
    </ul>
  );
}
