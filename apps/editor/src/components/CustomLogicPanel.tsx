import { useEffect, useId, useRef, useState, type ChangeEvent } from 'react';
import { findBlockByTag, type PolicyBlock, type ScriptLanguage } from '@policy-logic-studio/shared';
import { isUntouchedScript, SCRIPT_LANGUAGE_LABELS, starterScript } from '../blocks/starter-scripts.js';
import { isCustomLogicBlock } from '../blocks/tree.js';
import { useSchemas } from '../api/schemas.js';
import { schemaIri, schemaTitle } from '../schemas/schema-fields.js';
import { TestDialog } from '../test-run/TestDialog.js';
import { clearDryRunMarkers, goToScriptLine, ScriptEditor, type CodeEditor } from './ScriptEditor.js';

interface CustomLogicPanelProps {
  policyId: string;
  /** Root block of the saved version, to tell whether the block's tag exists on the server. */
  savedRoot: PolicyBlock;
  block: PolicyBlock;
  onChange: (update: (current: PolicyBlock) => PolicyBlock) => void;
}

/** Tag of the block in the saved policy when a Custom Logic block there has it. */
function savedTagOf(savedRoot: PolicyBlock, tag: string | undefined): string | undefined {
  if (!tag) {
    return undefined;
  }
  const saved = findBlockByTag(savedRoot, tag);
  return saved && isCustomLogicBlock(saved) ? tag : undefined;
}

/** Guardian runs a block without `selectedScriptLanguage` as JavaScript. */
function languageOf(block: PolicyBlock): ScriptLanguage {
  return block.selectedScriptLanguage === 'PYTHON' ? 'PYTHON' : 'JAVASCRIPT';
}

export function CustomLogicPanel({ policyId, savedRoot, block, onChange }: CustomLogicPanelProps) {
  const languageId = useId();
  const editorRef = useRef<CodeEditor | null>(null);
  const [testOpen, setTestOpen] = useState(false);
  const language = languageOf(block);
  const script = typeof block.expression === 'string' ? block.expression : '';

  const onLanguageChange = (event: ChangeEvent<HTMLSelectElement>) => {
    const next = event.target.value as ScriptLanguage;
    let expression = script;
    if (isUntouchedScript(script)) {
      expression = starterScript(next);
    } else if (
      window.confirm(
        `Replace the script with the ${SCRIPT_LANGUAGE_LABELS[next]} starter script? ` +
          'OK replaces your edits; Cancel keeps your script and changes only the language.',
      )
    ) {
      expression = starterScript(next);
    }
    onChange((current) => ({ ...current, selectedScriptLanguage: next, expression }));
  };

  // A marker points at the line of the last failed run; any edit may move that line.
  useEffect(() => {
    if (editorRef.current) {
      clearDryRunMarkers(editorRef.current);
    }
  }, [script, language]);

  const onScriptChange = (expression: string) => onChange((current) => ({ ...current, expression }));

  const onGoToLine = (line: number, column?: number) => {
    const editor = editorRef.current;
    // The dialog hands focus back to the Test button when it closes; take it after that.
    requestAnimationFrame(() => {
      if (editor) {
        goToScriptLine(editor, line, column, `The last test run failed on line ${line}.`);
      }
    });
  };

  return (
    <div className="custom-logic">
      <div className="field field-inline">
        <label htmlFor={languageId}>Script Language</label>
        <select id={languageId} value={language} onChange={onLanguageChange}>
          <option value="JAVASCRIPT">{SCRIPT_LANGUAGE_LABELS.JAVASCRIPT}</option>
          <option value="PYTHON">{SCRIPT_LANGUAGE_LABELS.PYTHON}</option>
        </select>
        <button type="button" className="primary test-button" onClick={() => setTestOpen(true)}>
          Test
        </button>
      </div>
      <ScriptEditor value={script} language={language} onChange={onScriptChange} onMount={(editor) => (editorRef.current = editor)} />
      <CustomLogicSettings policyId={policyId} block={block} onChange={onChange} />
      <TestDialog
        open={testOpen}
        onClose={() => setTestOpen(false)}
        policyId={policyId}
        savedTag={savedTagOf(savedRoot, block.tag)}
        block={block}
        onGoToLine={onGoToLine}
      />
    </div>
  );
}

const ID_TYPES = ['UUID', 'DID', 'OWNER'] as const;

/** Guardian's output options of a Custom Logic block. */
function CustomLogicSettings({ policyId, block, onChange }: Pick<CustomLogicPanelProps, 'policyId' | 'block' | 'onChange'>) {
  const outputSchemaId = useId();
  const idTypeId = useId();
  const signerId = useId();
  const setField = (field: string, value: unknown) => onChange((current) => ({ ...current, [field]: value }));
  const idType = typeof block.idType === 'string' ? block.idType : '';

  return (
    <details className="custom-logic-settings">
      <summary>Output settings</summary>
      <div className="settings-grid">
        <label htmlFor={outputSchemaId}>Output schema</label>
        <OutputSchemaSelect
          id={outputSchemaId}
          policyId={policyId}
          value={typeof block.outputSchema === 'string' ? block.outputSchema : ''}
          onChange={(value) => setField('outputSchema', value)}
        />
        <label htmlFor={idTypeId}>ID type</label>
        <select id={idTypeId} value={idType} onChange={(event) => setField('idType', event.target.value)}>
          {!ID_TYPES.includes(idType as (typeof ID_TYPES)[number]) && <option value={idType}>{idType || '(none)'}</option>}
          {ID_TYPES.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
        <label htmlFor={signerId}>Document signer</label>
        <input
          id={signerId}
          value={typeof block.documentSigner === 'string' ? block.documentSigner : ''}
          onChange={(event) => setField('documentSigner', event.target.value)}
        />
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={block.unsigned === true} onChange={(event) => setField('unsigned', event.target.checked)} />
        Unsigned output documents
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={block.passOriginal === true} onChange={(event) => setField('passOriginal', event.target.checked)} />
        Pass the original documents on
      </label>
    </details>
  );
}

interface OutputSchemaSelectProps {
  id: string;
  policyId: string;
  value: string;
  onChange: (value: string) => void;
}

/** Offers the policy's schemas. An id that matches none of them stays as an option so it is not lost. */
function OutputSchemaSelect({ id, policyId, value, onChange }: OutputSchemaSelectProps) {
  const schemas = useSchemas(policyId);
  const choices = (schemas.data ?? []).map((schema) => ({ iri: schemaIri(schema), title: schemaTitle(schema) }));
  const known = value === '' || choices.some((choice) => choice.iri === value);

  return (
    <select id={id} value={value} onChange={(event) => onChange(event.target.value)}>
      <option value="">(none)</option>
      {!known && <option value={value}>{value} (not in this policy)</option>}
      {choices.map((choice) => (
        <option key={choice.iri} value={choice.iri}>
          {choice.title} ({choice.iri})
        </option>
      ))}
    </select>
  );
}
