import Editor from '@monaco-editor/react';
import type { ScriptLanguage } from '@policy-logic-studio/shared';
import { MONACO_LANGUAGE_IDS } from '../blocks/starter-scripts.js';
import { monaco } from '../monaco-setup.js';

export type CodeEditor = monaco.editor.IStandaloneCodeEditor;

interface ScriptEditorProps {
  value: string;
  language: ScriptLanguage;
  onChange: (value: string) => void;
  onMount: (editor: CodeEditor) => void;
}

/** Monaco, loaded from the bundle, with the language of the block's script. */
export function ScriptEditor({ value, language, onChange, onMount }: ScriptEditorProps) {
  return (
    <div className="script-editor">
      <Editor
        height="100%"
        language={MONACO_LANGUAGE_IDS[language]}
        value={value}
        onChange={(next) => onChange(next ?? '')}
        onMount={(editor) => onMount(editor)}
        loading={<p role="status">Loading the script editor…</p>}
        options={{
          ariaLabel: 'Script',
          automaticLayout: true,
          minimap: { enabled: false },
          scrollBeyondLastLine: false,
          fontSize: 13,
          // PEP 8 indents Python by 4 spaces; Guardian's JavaScript examples use 2.
          tabSize: language === 'PYTHON' ? 4 : 2,
          insertSpaces: true,
          detectIndentation: true,
        }}
      />
    </div>
  );
}

const DRY_RUN_MARKER_OWNER = 'dry-run';

/** Moves the cursor to `line`, scrolls it into view, focuses the editor and marks the line. */
export function goToScriptLine(editor: CodeEditor, line: number, column = 1, message?: string): void {
  const model = editor.getModel();
  if (!model) {
    return;
  }
  const lineNumber = Math.min(Math.max(line, 1), model.getLineCount());
  editor.setPosition({ lineNumber, column });
  editor.revealLineInCenter(lineNumber);
  editor.focus();

  if (message) {
    monaco.editor.setModelMarkers(model, DRY_RUN_MARKER_OWNER, [
      {
        severity: monaco.MarkerSeverity.Error,
        message,
        startLineNumber: lineNumber,
        startColumn: 1,
        endLineNumber: lineNumber,
        endColumn: model.getLineMaxColumn(lineNumber),
      },
    ]);
  }
}

export function clearDryRunMarkers(editor: CodeEditor): void {
  const model = editor.getModel();
  if (model) {
    monaco.editor.setModelMarkers(model, DRY_RUN_MARKER_OWNER, []);
  }
}
