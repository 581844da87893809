import { ApiError } from '../api/client.js';
import type { PolicyDraft } from '../blocks/use-policy-draft.js';
import { ErrorNotice } from './ErrorNotice.js';

interface SaveBarProps {
  draft: PolicyDraft;
  canSave: boolean;
  /** Reason the draft cannot be saved as it is (a duplicate tag, ...), or null. */
  blockedReason: string | null;
}

/** Save button, saved/unsaved state and the stale-version conflict. */
export function SaveBar({ draft, canSave, blockedReason }: SaveBarProps) {
  const { dirty, saving, saveError, conflict } = draft;
  let statusText = dirty ? 'Unsaved changes' : 'Saved';
  if (saving) {
    statusText = 'Saving…';
  }
  const showSaveError = saveError && !(saveError instanceof ApiError && saveError.status === 412);

  return (
    <div className="save-area">
      <div className="save-bar">
        <span className={`save-status ${dirty ? 'save-status-dirty' : 'save-status-clean'}`} role="status">
          {statusText}
        </span>
        <span className="save-version">Version {draft.base.version}</span>
        <button
          type="button"
          className="primary"
          onClick={draft.save}
          disabled={!canSave}
          title="Save (Ctrl+S)"
        >
          Save
        </button>
      </div>
      {blockedReason && dirty && <p className="save-blocked">{blockedReason}</p>}
      {conflict && <ConflictNotice draft={draft} />}
      {showSaveError && <ErrorNotice action="Could not save the policy" error={saveError} onRetry={draft.save} />}
      {draft.reloadError !== null && <ErrorNotice action="Could not load the latest version" error={draft.reloadError} />}
    </div>
  );
}

function ConflictNotice({ draft }: { draft: PolicyDraft }) {
  const baseVersion = draft.conflict?.baseVersion ?? draft.base.version;
  const newer = draft.latestVersion > baseVersion ? `version ${draft.latestVersion}` : 'a newer version';

  return (
    <div className="notice notice-conflict" role="alert">
      <p>
        <strong>This policy was changed elsewhere.</strong> Your edits are based on version {baseVersion}, but the
        server now has {newer}, so saving would overwrite those changes.
      </p>
      <p>Reload to get the server's version and lose your unsaved edits, or overwrite the server's version with yours.</p>
      <div className="notice-actions">
        <button type="button" onClick={() => void draft.reload()}>
          Reload latest version
        </button>
        <button type="button" className="danger" onClick={() => void draft.overwrite()}>
          Overwrite with my changes
        </button>
      </div>
    </div>
  );
}
