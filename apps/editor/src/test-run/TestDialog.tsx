import { useEffect, useId, useRef, useState } from 'react';
import type { PolicyBlock } from '@policy-logic-studio/shared';
import { isAbortError } from '../api/client.js';
import { useDryRun } from '../api/dry-run.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { initialTab, RunResults, type ResultTab } from './RunResults.js';
import { initialTestInputTexts, parseTestInput, type TestInputTexts } from './test-input.js';

interface TestDialogProps {
  open: boolean;
  onClose: () => void;
  policyId: string;
  /** See `DryRunCall.savedTag`. */
  savedTag: string | undefined;
  /** The block as edited: unsaved script edits are what the run executes. */
  block: PolicyBlock;
  /** Called after the dialog closed because the author clicked an error's line. */
  onGoToLine: (line: number, column?: number) => void;
}

/** Renders the Test dialog: JSON input, Run, then the run's status and result tabs. */
export function TestDialog({ open, onClose, policyId, savedTag, block, onGoToLine }: TestDialogProps) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const dryRun = useDryRun();
  const [texts, setTexts] = useState<TestInputTexts>(() => initialTestInputTexts(block));
  const [activeTab, setActiveTab] = useState<ResultTab>('output');
  const [ranScript, setRanScript] = useState<unknown>(null);
  const abortRef = useRef<AbortController | null>(null);
  const parsed = parseTestInput(texts);

  useEffect(() => {
    const dialog = dialogRef.current;
    if (open && dialog && !dialog.open) {
      dialog.showModal();
    } else if (!open && dialog?.open) {
      dialog.close();
    }
  }, [open]);

  const onRun = () => {
    if (!parsed.input) {
      return;
    }
    const controller = new AbortController();
    abortRef.current = controller;
    setRanScript(block.expression);
    dryRun.mutate(
      { policyId, savedTag, block, input: parsed.input, signal: controller.signal },
      { onSuccess: (response) => setActiveTab(initialTab(response)) },
    );
  };

  const onCancel = () => abortRef.current?.abort();

  const goToLine = (line: number, column?: number) => {
    onClose();
    onGoToLine(line, column);
  };

  return (
    // The native dialog's `close` event covers Escape as well as the Close button.
    <dialog ref={dialogRef} className="test-dialog" aria-labelledby={titleId} onClose={onClose}>
      <div className="dialog-header">
        <h2 id={titleId}>Test “{block.tag || 'Custom Logic block'}”</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <p className="hint">The run uses the script as it is in the editor, saved or not. Nothing is stored.</p>
      <div className="test-inputs">
        <JsonField
          label="Input documents (JSON)"
          rows={12}
          value={texts.documents}
          error={parsed.documents.ok ? null : parsed.documents.error}
          onChange={(documents) => setTexts((previous) => ({ ...previous, documents }))}
        />
        <div className="test-inputs-side">
          <JsonField
            label="User (JSON)"
            rows={4}
            value={texts.user}
            error={parsed.user.ok ? null : parsed.user.error}
            onChange={(user) => setTexts((previous) => ({ ...previous, user }))}
          />
          <JsonField
            label="Artifacts (JSON)"
            rows={4}
            value={texts.artifacts}
            error={parsed.artifacts.ok ? null : parsed.artifacts.error}
            onChange={(artifacts) => setTexts((previous) => ({ ...previous, artifacts }))}
          />
        </div>
      </div>
      <div className="dialog-actions">
        <button type="button" className="primary" onClick={onRun} disabled={parsed.input === null || dryRun.isPending}>
          Run
        </button>
        {dryRun.isPending && (
          <>
            <span role="status">Running…</span>
            <button type="button" onClick={onCancel}>
              Cancel run
            </button>
          </>
        )}
      </div>
      {dryRun.isError &&
        (isAbortError(dryRun.error) ? (
          <p role="status">The run was cancelled.</p>
        ) : (
          <ErrorNotice action="The test run failed" error={dryRun.error} />
        ))}
      {dryRun.isSuccess && (
        <>
          {ranScript !== block.expression && (
            <p className="notice notice-warning">The script has changed since this run. Run again to test the current script.</p>
          )}
          <RunResults response={dryRun.data} activeTab={activeTab} onTabChange={setActiveTab} onGoToLine={goToLine} />
        </>
      )}
    </dialog>
  );
}

interface JsonFieldProps {
  label: string;
  rows: number;
  value: string;
  error: string | null;
  onChange: (value: string) => void;
}

function JsonField({ label, rows, value, error, onChange }: JsonFieldProps) {
  const inputId = useId();
  const errorId = useId();

  return (
    <div className="field">
      <label htmlFor={inputId}>{label}</label>
      <textarea
        id={inputId}
        className="json-input"
        rows={rows}
        spellCheck={false}
        value={value}
        aria-invalid={error !== null}
        aria-describedby={error ? errorId : undefined}
        onChange={(event) => onChange(event.target.value)}
      />
      {error && (
        <p id={errorId} className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
