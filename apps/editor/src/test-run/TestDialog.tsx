import { useEffect, useId, useRef, useState } from 'react';
import type { PolicyBlock } from '@policy-logic-studio/shared';
import { isAbortError } from '../api/client.js';
import { useDryRun } from '../api/dry-run.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { initialTab, RunResults, type ResultTab } from './RunResults.js';
import { useSchemas } from '../api/schemas.js';
import { sampleObject, schemaIri, schemaTitle } from '../schemas/schema-fields.js';
import { initialTestInputTexts, parseTestInput, withTables, type TableFile, type TestInputTexts } from './test-input.js';

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
  const [tables, setTables] = useState<TableFile[]>([]);
  const parsed = parseTestInput(texts);
  const withTableFiles = parsed.input ? withTables(parsed.input, tables) : null;
  const runInput = withTableFiles?.ok ? withTableFiles.value : null;

  useEffect(() => {
    const dialog = dialogRef.current;
    if (open && dialog && !dialog.open) {
      dialog.showModal();
    } else if (!open && dialog?.open) {
      dialog.close();
    }
  }, [open]);

  const onRun = () => {
    if (!runInput) {
      return;
    }
    const controller = new AbortController();
    abortRef.current = controller;
    setRanScript(block.expression);
    dryRun.mutate(
      { policyId, savedTag, block, input: runInput, signal: controller.signal },
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
      <GenerateFromSchema
        policyId={policyId}
        initialSchema={typeof block.outputSchema === 'string' ? block.outputSchema : ''}
        onGenerate={(documents) => setTexts((previous) => ({ ...previous, documents }))}
      />
      <TablesSection tables={tables} onChange={setTables} error={withTableFiles && !withTableFiles.ok ? withTableFiles.error : null} />
      <div className="dialog-actions">
        <button type="button" className="primary" onClick={onRun} disabled={runInput === null || dryRun.isPending}>
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

interface GenerateFromSchemaProps {
  policyId: string;
  initialSchema: string;
  onGenerate: (documentsText: string) => void;
}

/** Replaces the input documents with one sample document built from a schema of the policy. */
function GenerateFromSchema({ policyId, initialSchema, onGenerate }: GenerateFromSchemaProps) {
  const schemas = useSchemas(policyId);
  const selectId = useId();
  const [chosen, setChosen] = useState(initialSchema);
  const list = schemas.data ?? [];
  const selected = list.find((schema) => schemaIri(schema) === chosen) ?? list[0];

  return (
    <div className="generate-from-schema" role="group" aria-label="Input from schema">
      <label htmlFor={selectId}>Schema for generated input</label>
      <select id={selectId} value={selected ? schemaIri(selected) : ''} onChange={(event) => setChosen(event.target.value)}>
        {list.length === 0 && <option value="">(no schemas)</option>}
        {list.map((schema) => (
          <option key={schemaIri(schema)} value={schemaIri(schema)}>
            {schemaTitle(schema)}
          </option>
        ))}
      </select>
      <button
        type="button"
        disabled={!selected}
        onClick={() => selected && onGenerate(JSON.stringify([sampleObject(selected)], null, 2))}
      >
        Generate from schema
      </button>
      {schemas.isError && <ErrorNotice action="Could not load the schemas" error={schemas.error} />}
    </div>
  );
}

interface TablesSectionProps {
  tables: TableFile[];
  onChange: (tables: TableFile[]) => void;
  error: string | null;
}

/** CSV files for table fields, sent as `input.tables[fileId]`. */
function TablesSection({ tables, onChange, error }: TablesSectionProps) {
  const fileIdInput = useId();
  const fileInput = useId();
  const [fileId, setFileId] = useState('');
  const [readError, setReadError] = useState<string | null>(null);

  const onFile = async (file: File | undefined, input: HTMLInputElement) => {
    if (!file) {
      return;
    }
    try {
      const csv = await file.text();
      onChange([...tables, { fileId: fileId.trim(), fileName: file.name, csv }]);
      setFileId('');
      setReadError(null);
    } catch (failure) {
      const reason = failure instanceof Error ? failure.message : String(failure);
      setReadError(`Could not read ${file.name}: ${reason}. Pick the file again.`);
    }
    // Clearing the input lets the author pick the same file again for another fileId.
    input.value = '';
  };

  return (
    <fieldset className="tables-section">
      <legend>Tables</legend>
      <p className="hint">A CSV file replaces the rows of the table field with the same fileId.</p>
      {tables.length > 0 && (
        <ul className="table-files" aria-label="Attached tables">
          {tables.map((table, index) => (
            <li key={index}>
              <code>{table.fileId || '(no fileId)'}</code> ← {table.fileName} ({table.csv.split(/\r?\n/).filter(Boolean).length} lines){' '}
              <button type="button" onClick={() => onChange(tables.filter((_table, position) => position !== index))}>
                Remove table {table.fileId || index + 1}
              </button>
            </li>
          ))}
        </ul>
      )}
      <label htmlFor={fileIdInput}>Table fileId</label>
      <input id={fileIdInput} value={fileId} onChange={(event) => setFileId(event.target.value)} />
      <label htmlFor={fileInput}>CSV file for the table</label>
      <input
        id={fileInput}
        type="file"
        accept=".csv,text/csv"
        disabled={fileId.trim() === ''}
        onChange={(event) => void onFile(event.target.files?.[0], event.target)}
      />
      {(error ?? readError) && (
        <p className="field-error" role="alert">
          {error ?? readError}
        </p>
      )}
    </fieldset>
  );
}
