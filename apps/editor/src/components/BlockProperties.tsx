import { useId } from 'react';
import type { PolicyBlock } from '@policy-logic-studio/shared';
import { blockDisplayName, blockTypeLabel } from '../blocks/block-types.js';
import { countOtherBlocksWithTag, isCustomLogicBlock, type BlockPath } from '../blocks/tree.js';
import type { PolicyDraft } from '../blocks/use-policy-draft.js';
import { CustomLogicPanel } from './CustomLogicPanel.js';

interface BlockPropertiesProps {
  policyId: string;
  draft: PolicyDraft;
  path: BlockPath;
  block: PolicyBlock;
}

/** Renders the properties of the selected block, with the script editor for a Custom Logic block. */
export function BlockProperties({ policyId, draft, path, block }: BlockPropertiesProps) {
  const updateBlock = (update: (current: PolicyBlock) => PolicyBlock) => draft.updateBlock(path, update);

  return (
    <div className="block-properties">
      <h2>
        {blockDisplayName(block)} <span className="block-type-badge">{blockTypeLabel(block.blockType)}</span>
      </h2>
      {path.length === 0 && <PolicyFields draft={draft} />}
      <TagField root={draft.draft.config} path={path} block={block} onChange={updateBlock} />
      {isCustomLogicBlock(block) ? (
        <CustomLogicPanel policyId={policyId} savedRoot={draft.base.policy.config} block={block} onChange={updateBlock} />
      ) : (
        <OtherFields block={block} />
      )}
    </div>
  );
}

function PolicyFields({ draft }: { draft: PolicyDraft }) {
  const nameId = useId();
  const descriptionId = useId();
  const nameErrorId = useId();
  const nameMissing = draft.draft.name.trim() === '';

  return (
    <fieldset className="policy-fields">
      <legend>Policy</legend>
      <label htmlFor={nameId}>Policy name</label>
      <input
        id={nameId}
        value={draft.draft.name}
        aria-invalid={nameMissing}
        aria-describedby={nameMissing ? nameErrorId : undefined}
        onChange={(event) => draft.updatePolicy({ name: event.target.value })}
      />
      {nameMissing && (
        <p id={nameErrorId} className="field-error">
          A policy needs a name.
        </p>
      )}
      <label htmlFor={descriptionId}>Description</label>
      <textarea
        id={descriptionId}
        rows={2}
        value={draft.draft.description ?? ''}
        onChange={(event) => draft.updatePolicy({ description: event.target.value })}
      />
    </fieldset>
  );
}

interface TagFieldProps {
  root: PolicyBlock;
  path: BlockPath;
  block: PolicyBlock;
  onChange: (update: (current: PolicyBlock) => PolicyBlock) => void;
}

function TagField({ root, path, block, onChange }: TagFieldProps) {
  const inputId = useId();
  const errorId = useId();
  const tag = block.tag ?? '';
  let error: string | null = null;
  if (tag === '' && isCustomLogicBlock(block)) {
    error = 'A Custom Logic block needs a tag: dry runs and events address the block by it.';
  } else if (tag !== '' && countOtherBlocksWithTag(root, path, tag) > 0) {
    error = `Another block already uses the tag “${tag}”. Choose a unique tag.`;
  }

  return (
    <div className="field">
      <label htmlFor={inputId}>Tag</label>
      <input
        id={inputId}
        value={tag}
        spellCheck={false}
        aria-invalid={error !== null}
        aria-describedby={error ? errorId : undefined}
        onChange={(event) => {
          const next = event.target.value;
          onChange((current) => ({ ...current, tag: next }));
        }}
      />
      {error && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** Fields shown elsewhere in the panel or in the tree. */
const FIELDS_SHOWN_ELSEWHERE = new Set(['children', 'tag', 'blockType']);

/** Lists the fields this editor has no form for, read-only, so the author can check they are kept. */
function OtherFields({ block }: { block: PolicyBlock }) {
  const rest = Object.fromEntries(Object.entries(block).filter(([field]) => !FIELDS_SHOWN_ELSEWHERE.has(field)));

  return (
    <div className="other-fields">
      <p>
        Block type: <code>{block.blockType}</code>
      </p>
      <details>
        <summary>Other fields (kept as they are on save and export)</summary>
        <pre>{JSON.stringify(rest, null, 2)}</pre>
      </details>
    </div>
  );
}
