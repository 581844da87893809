import { useEffect, useMemo, useRef, type KeyboardEvent } from 'react';
import type { PolicyBlock } from '@policy-logic-studio/shared';
import { blockDisplayName, blockTypeLabel } from '../blocks/block-types.js';
import { pathKey, ROOT_PATH, samePath, type BlockPath } from '../blocks/tree.js';

interface BlockTreeProps {
  root: PolicyBlock;
  selectedPath: BlockPath;
  onSelect: (path: BlockPath) => void;
}

interface TreeRow {
  block: PolicyBlock;
  path: BlockPath;
  /** 1-based position among its siblings, for `aria-posinset`. */
  positionInSet: number;
  setSize: number;
}

/**
 * Lists every block in display order (depth first). The tree renders flat rows with
 * `aria-level`, so a click on a row never lands on a nested child's row.
 */
function flattenTree(block: PolicyBlock, path: BlockPath, positionInSet = 1, setSize = 1, into: TreeRow[] = []): TreeRow[] {
  into.push({ block, path, positionInSet, setSize });
  const children = block.children ?? [];
  children.forEach((child, index) => flattenTree(child, [...path, index], index + 1, children.length, into));
  return into;
}

/** Renders the block tree as an ARIA tree. A click or the arrow keys select a block. */
export function BlockTree({ root, selectedPath, onSelect }: BlockTreeProps) {
  const itemRefs = useRef(new Map<string, HTMLLIElement>());
  const treeRef = useRef<HTMLUListElement>(null);
  const rows = useMemo(() => flattenTree(root, ROOT_PATH), [root]);

  // Keyboard selection moves focus with it; a click elsewhere on the page must not steal focus.
  useEffect(() => {
    if (treeRef.current?.contains(document.activeElement)) {
      itemRefs.current.get(pathKey(selectedPath))?.focus();
    }
  }, [selectedPath]);

  const onKeyDown = (event: KeyboardEvent) => {
    const position = rows.findIndex((row) => samePath(row.path, selectedPath));
    const targets: Record<string, number> = {
      ArrowDown: Math.min(position + 1, rows.length - 1),
      ArrowUp: Math.max(position - 1, 0),
      Home: 0,
      End: rows.length - 1,
    };
    const target = targets[event.key];
    const path = target === undefined ? undefined : rows[target]?.path;
    if (path) {
      event.preventDefault();
      onSelect(path);
    }
  };

  const renderItem = ({ block, path, positionInSet, setSize }: TreeRow) => {
    const key = pathKey(path);
    const selected = samePath(path, selectedPath);
    const childCount = block.children?.length ?? 0;

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
        className={`tree-row${selected ? ' tree-row-selected' : ''}`}
        style={{ paddingLeft: `${0.4 + path.length * 1.1}rem` }}
        aria-label={`${blockDisplayName(block)} (${blockTypeLabel(block.blockType)})`}
        aria-level={path.length + 1}
        aria-posinset={positionInSet}
        aria-setsize={setSize}
        aria-selected={selected}
        aria-expanded={childCount > 0 ? true : undefined}
        tabIndex={selected ? 0 : -1}
        onClick={() => onSelect(path)}
      >
        <span className="tree-tag">{blockDisplayName(block)}</span>
        <span className="tree-type">{blockTypeLabel(block.blockType)}</span>
      </li>
    );
  };

  return (
    <ul className="block-tree" role="tree" aria-label="Blocks" ref={treeRef} onKeyDown={onKeyDown}>
      {rows.map(renderItem)}
    </ul>
  );
}
