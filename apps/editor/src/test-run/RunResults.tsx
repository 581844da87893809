import { useId, useRef, useState, type KeyboardEvent } from 'react';
import type { DryRunResponse, JsonValue, ScriptError } from '@policy-logic-studio/shared';

export const RESULT_TABS = ['output', 'debug', 'printed', 'errors'] as const;
export type ResultTab = (typeof RESULT_TABS)[number];

const TAB_LABELS: Record<ResultTab, string> = {
  output: 'Output',
  debug: 'Debug log',
  printed: 'Printed output',
  errors: 'Errors',
};

const TAB_KEY_STEPS: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1 };

/** Picks the tab a finished run opens on: Errors when it did not complete cleanly. */
export function initialTab(response: DryRunResponse): ResultTab {
  return response.status === 'completed' && !response.error ? 'output' : 'errors';
}

interface RunResultsProps {
  response: DryRunResponse;
  activeTab: ResultTab;
  onTabChange: (tab: ResultTab) => void;
  onGoToLine: (line: number, column?: number) => void;
}

/** Status line and the four result tabs of a dry run. */
export function RunResults({ response, activeTab, onTabChange, onGoToLine }: RunResultsProps) {
  const idPrefix = useId();
  const tabRefs = useRef(new Map<ResultTab, HTMLButtonElement>());
  // Kept here so the choice survives a switch to another tab. On by default, because
  // authors check a script by what it passed to done().
  const [showRaw, setShowRaw] = useState(true);

  // Arrow keys move between tabs, as in the WAI-ARIA tabs pattern.
  const onKeyDown = (event: KeyboardEvent) => {
    const step = TAB_KEY_STEPS[event.key];
    if (step === undefined) {
      return;
    }
    event.preventDefault();
    const position = RESULT_TABS.indexOf(activeTab);
    const next = RESULT_TABS[(position + step + RESULT_TABS.length) % RESULT_TABS.length] ?? activeTab;
    onTabChange(next);
    tabRefs.current.get(next)?.focus();
  };

  return (
    <div className="run-results">
      <RunSummary response={response} />
      <div className="tabs" role="tablist" aria-label="Run results" onKeyDown={onKeyDown}>
        {RESULT_TABS.map((tab) => (
          <button
            key={tab}
            ref={(element) => {
              if (element) {
                tabRefs.current.set(tab, element);
              }
            }}
            type="button"
            role="tab"
            id={`${idPrefix}-tab-${tab}`}
            aria-selected={tab === activeTab}
            aria-controls={`${idPrefix}-panel-${tab}`}
            tabIndex={tab === activeTab ? 0 : -1}
            onClick={() => onTabChange(tab)}
          >
            {TAB_LABELS[tab]}
          </button>
        ))}
      </div>
      {RESULT_TABS.map((tab) => (
        <div
          key={tab}
          className="tab-panel"
          role="tabpanel"
          id={`${idPrefix}-panel-${tab}`}
          aria-labelledby={`${idPrefix}-tab-${tab}`}
          hidden={tab !== activeTab}
        >
          {tab === 'output' && (
            <OutputPanel
              response={response}
              showRaw={showRaw}
              onShowRawChange={setShowRaw}
              onShowErrors={() => onTabChange('errors')}
            />
          )}
          {tab === 'debug' && <DebugPanel entries={response.debug} />}
          {tab === 'printed' && <PrintedPanel stdout={response.stdout} stderr={response.stderr} />}
          {tab === 'errors' && <ErrorsPanel response={response} onGoToLine={onGoToLine} />}
        </div>
      ))}
    </div>
  );
}

function RunSummary({ response }: { response: DryRunResponse }) {
  return (
    <dl className={`run-summary run-summary-${response.status}`} aria-label="Run summary">
      <div>
        <dt>Status</dt>
        <dd>{response.status}</dd>
      </div>
      <div>
        <dt>Duration</dt>
        <dd>{Math.round(response.durationMs)} ms</dd>
      </div>
      <div>
        <dt>Mode</dt>
        <dd>{response.mode}</dd>
      </div>
      {response.packages.length > 0 && (
        <div>
          <dt>Packages</dt>
          <dd>{response.packages.join(', ')}</dd>
        </div>
      )}
    </dl>
  );
}

function JsonBlock({ value, label }: { value: JsonValue; label: string }) {
  return (
    <pre className="json" aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

interface OutputPanelProps {
  response: DryRunResponse;
  showRaw: boolean;
  onShowRawChange: (showRaw: boolean) => void;
  onShowErrors: () => void;
}

function OutputPanel({ response, showRaw, onShowRawChange, onShowErrors }: OutputPanelProps) {
  const { results, outputs, warnings, wrappedDocuments } = response;

  return (
    <div>
      {warnings.length > 0 && (
        <p className="notice notice-warning">
          The run produced {warnings.length} warning(s).{' '}
          <button type="button" className="link-button" onClick={onShowErrors}>
            Show warnings
          </button>
        </p>
      )}
      {wrappedDocuments.length > 0 && (
        <p className="hint">Input documents {wrappedDocuments.join(', ')} were plain objects and were wrapped as Verifiable Credentials.</p>
      )}
      <label className="raw-toggle">
        <input type="checkbox" checked={showRaw} onChange={(event) => onShowRawChange(event.target.checked)} /> Show raw done() values
      </label>
      {showRaw ? (
        <>
          <h3>Results passed to done()</h3>
          {results.length === 0 ? (
            <p>The script passed no result to done().</p>
          ) : (
            <ol className="result-list">
              {results.map((result, index) => (
                <li key={index}>
                  <span className="result-label">{result.final ? 'final' : 'not final'}</span>
                  <JsonBlock value={result.value} label={`Result ${index + 1}`} />
                </li>
              ))}
            </ol>
          )}
        </>
      ) : (
        <>
          <h3>Output documents</h3>
          {outputs.length === 0 ? <p>No output documents.</p> : <JsonBlock value={outputs} label="Output documents" />}
        </>
      )}
    </div>
  );
}

function formatDebugValue(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function DebugPanel({ entries }: { entries: JsonValue[][] }) {
  if (entries.length === 0) {
    return <p>The script made no debug() calls.</p>;
  }
  return (
    <ol className="debug-log">
      {entries.map((values, index) => (
        <li key={index}>
          <code>{values.map(formatDebugValue).join(' ')}</code>
        </li>
      ))}
    </ol>
  );
}

function PrintedPanel({ stdout, stderr }: { stdout: string; stderr: string }) {
  if (stdout === '' && stderr === '') {
    return <p>The script printed nothing.</p>;
  }
  return (
    <div>
      {stdout !== '' && (
        <>
          <h3>Standard output</h3>
          <pre className="printed" aria-label="Standard output">
            {stdout}
          </pre>
        </>
      )}
      {stderr !== '' && (
        <>
          <h3>Standard error</h3>
          <pre className="printed printed-stderr" aria-label="Standard error">
            {stderr}
          </pre>
        </>
      )}
    </div>
  );
}

function ErrorsPanel({ response, onGoToLine }: { response: DryRunResponse; onGoToLine: RunResultsProps['onGoToLine'] }) {
  const { error, warnings } = response;

  return (
    <div>
      {error ? <ScriptErrorView error={error} onGoToLine={onGoToLine} /> : <p>The run raised no error.</p>}
      {warnings.length > 0 && (
        <>
          <h3>Warnings</h3>
          <ul className="warning-list">
            {warnings.map((warning, index) => (
              <li key={index}>
                <code>{warning.code}</code> {warning.message}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function ScriptErrorView({ error, onGoToLine }: { error: ScriptError; onGoToLine: RunResultsProps['onGoToLine'] }) {
  const { line, column } = error;

  return (
    <div className="script-error" role="alert">
      <p>
        <strong>{error.type}</strong>
        {line !== undefined && (
          <>
            {' at '}
            <button type="button" className="link-button" title="Move the editor cursor to this line" onClick={() => onGoToLine(line, column)}>
              line {line}
              {column !== undefined ? `, column ${column}` : ''}
            </button>
          </>
        )}
        : <span className="error-message">{error.message}</span>
      </p>
      {error.hint && <p className="hint">{error.hint}</p>}
      {error.traceback && (
        <details>
          <summary>Traceback</summary>
          <pre className="printed">{error.traceback}</pre>
        </details>
      )}
    </div>
  );
}
