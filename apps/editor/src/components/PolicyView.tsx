import { useEffect, useState, type MouseEvent } from 'react';
import type { StoredPolicy } from '@policy-logic-studio/shared';
import { ApiError } from '../api/client.js';
import { useExportPolicy, usePolicy } from '../api/policies.js';
import { blockDisplayName } from '../blocks/block-types.js';
import { findTagProblems } from '../blocks/tag-problems.js';
import { newContainerBlock } from '../blocks/container-block.js';
import {
  blockAt,
  newCustomLogicBlock,
  pathKey,
  ROOT_PATH,
  uniqueTag,
  type BlockPath,
} from '../blocks/tree.js';
import { usePolicyDraft } from '../blocks/use-policy-draft.js';
import { POLICIES_HREF } from '../routes.js';
import { BlockProperties } from './BlockProperties.js';
import { BlockTree } from './BlockTree.js';
import { ErrorNotice } from './ErrorNotice.js';
import { SaveBar } from './SaveBar.js';
import { SchemasPanel } from './SchemasPanel.js';

export default function PolicyView({ policyId }: { policyId: string }) {
  const policy = usePolicy(policyId);

  if (policy.isPending) {
    return <p role="status">Loading policy…</p>;
  }
  if (policy.isError) {
    const notFound = policy.error instanceof ApiError && policy.error.status === 404;
    return (
      <section>
        {notFound ? (
          <p role="alert">No policy has the id “{policyId}”. It may have been deleted.</p>
        ) : (
          <ErrorNotice action="Could not load the policy" error={policy.error} onRetry={() => void policy.refetch()} />
        )}
        <a href={POLICIES_HREF}>Back to all policies</a>
      </section>
    );
  }
  return <PolicyEditor stored={policy.data} />;
}

function PolicyEditor({ stored }: { stored: StoredPolicy }) {
  const draft = usePolicyDraft(stored);
  const [requestedPath, setSelectedPath] = useState<BlockPath>(ROOT_PATH);
  const root = draft.draft.config;
  // A reload or a removal can take away the selected block; fall back to the root.
  const selectedPath = blockAt(root, requestedPath) ? requestedPath : ROOT_PATH;
  const selectedBlock = blockAt(root, selectedPath) ?? root;
  const problems = findTagProblems(root);
  if (draft.draft.name.trim() === '') {
    problems.push('The policy needs a name.');
  }
  const blockedReason = problems.length > 0 ? problems.join(' ') : null;
  const canSave = draft.dirty && !draft.saving && blockedReason === null && draft.conflict === null;

  useUnsavedChangesGuard(draft.dirty, canSave ? draft.save : null);

  const onAddBlock = (kind: 'customLogic' | 'container') => {
    const child =
      kind === 'customLogic' ? newCustomLogicBlock(uniqueTag(root, 'custom_logic')) : newContainerBlock(uniqueTag(root, 'container'));
    setSelectedPath(draft.addChild(selectedPath, child));
  };

  const onRemoveBlock = () => {
    const childCount = selectedBlock.children?.length ?? 0;
    const question = `Remove “${blockDisplayName(selectedBlock)}” and its ${childCount} child block(s)? The removal is saved with the next Save.`;
    if (childCount > 0 && !window.confirm(question)) {
      return;
    }
    draft.removeBlock(selectedPath);
    setSelectedPath(selectedPath.slice(0, -1));
  };

  const onBack = (event: MouseEvent) => {
    if (draft.dirty && !window.confirm('Leave this policy? Your unsaved changes will be lost.')) {
      event.preventDefault();
    }
  };

  return (
    <div className="policy-view">
      <div className="policy-header">
        <a href={POLICIES_HREF} onClick={onBack}>
          ← All policies
        </a>
        <h1>{draft.draft.name}</h1>
        <ExportButton policyId={stored.id} name={draft.base.policy.name} />
      </div>
      <div className="workspace">
        <nav className="tree-panel" aria-label="Block tree">
          <h2>Blocks</h2>
          <BlockTree root={root} selectedPath={selectedPath} onSelect={setSelectedPath} />
          <div className="tree-actions" role="group" aria-label="Edit the block tree">
            <button type="button" onClick={() => onAddBlock('customLogic')}>
              Add Custom Logic block
            </button>
            <button type="button" onClick={() => onAddBlock('container')}>
              Add container block
            </button>
            <button type="button" className="danger" onClick={onRemoveBlock} disabled={selectedPath.length === 0}>
              Remove block
            </button>
          </div>
          <p className="hint">New blocks are added as children of the selected block.</p>
        </nav>
        <section className="properties-panel" aria-label="Block properties">
          <SaveBar draft={draft} canSave={canSave} blockedReason={blockedReason} />
          <BlockProperties
            key={pathKey(selectedPath)}
            policyId={stored.id}
            draft={draft}
            path={selectedPath}
            block={selectedBlock}
          />
        </section>
      </div>
      <SchemasPanel policyId={stored.id} version={stored.version} hasUnsavedChanges={draft.dirty} />
    </div>
  );
}

function ExportButton({ policyId, name }: { policyId: string; name: string }) {
  const exportPolicy = useExportPolicy();

  return (
    <div className="export">
      <button type="button" onClick={() => exportPolicy.mutate({ policyId, name })} disabled={exportPolicy.isPending}>
        {exportPolicy.isPending ? 'Exporting…' : 'Export'}
      </button>
      {exportPolicy.isError && <ErrorNotice action="Could not export the policy" error={exportPolicy.error} />}
    </div>
  );
}

/** Warns before the tab closes with unsaved edits, and runs `save` (when given) on Ctrl+S or Cmd+S. */
function useUnsavedChangesGuard(dirty: boolean, save: (() => void) | null) {
  useEffect(() => {
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      if (dirty) {
        event.preventDefault();
      }
    };
    const onKeyDown = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
        event.preventDefault();
        save?.();
      }
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    // Capture phase: Monaco handles key presses in its own text area first otherwise.
    window.addEventListener('keydown', onKeyDown, true);
    return () => {
      window.removeEventListener('beforeunload', onBeforeUnload);
      window.removeEventListener('keydown', onKeyDown, true);
    };
  }, [dirty, save]);
}
