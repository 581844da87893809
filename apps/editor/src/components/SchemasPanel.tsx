import { useId, useState, type FormEvent } from 'react';
import { useCreateSchema, useDeleteSchema, useSchemas } from '../api/schemas.js';
import {
  FIELD_TYPES,
  schemaFields,
  schemaFromJson,
  schemaFromRows,
  schemaIri,
  schemaTitle,
  type FieldRow,
  type FieldType,
  type PolicySchema,
} from '../schemas/schema-fields.js';
import { ErrorNotice } from './ErrorNotice.js';

interface SchemasPanelProps {
  policyId: string;
  /** Stored policy version, sent as `If-Match` with schema writes. */
  version: number;
  /**
   * Whether the draft has unsaved edits. Schema writes are disabled then, because a schema
   * write creates a new policy version and the next Save would end in a version conflict.
   */
  hasUnsavedChanges: boolean;
}

/** Lists the policy's schemas with their fields, and creates and deletes schemas. */
export function SchemasPanel({ policyId, version, hasUnsavedChanges }: SchemasPanelProps) {
  const schemas = useSchemas(policyId);
  const deleteSchema = useDeleteSchema();

  const onDelete = (schema: PolicySchema) => {
    const title = schemaTitle(schema);
    if (!window.confirm(`Delete the schema “${title}”? Blocks that use it as output schema keep its id.`)) {
      return;
    }
    deleteSchema.mutate({ policyId, baseVersion: version, schemaIri: schemaIri(schema) });
  };

  return (
    <section className="schemas-panel" aria-label="Schemas">
      <h2>Schemas</h2>
      {schemas.isPending && <p role="status">Loading schemas…</p>}
      {schemas.isError && (
        <ErrorNotice action="Could not load the schemas" error={schemas.error} onRetry={() => void schemas.refetch()} />
      )}
      {schemas.isSuccess && schemas.data.length === 0 && <p>This policy has no schemas.</p>}
      {schemas.isSuccess &&
        schemas.data.map((schema) => (
          <SchemaCard
            key={schemaIri(schema) || schemaTitle(schema)}
            schema={schema}
            canDelete={!hasUnsavedChanges && !deleteSchema.isPending}
            onDelete={() => onDelete(schema)}
          />
        ))}
      {deleteSchema.isError && <ErrorNotice action="Could not delete the schema" error={deleteSchema.error} />}
      {hasUnsavedChanges && (
        <p className="notice notice-warning">Save or discard the block edits before you create or delete a schema.</p>
      )}
      <NewSchemaForm policyId={policyId} version={version} hasUnsavedChanges={hasUnsavedChanges} />
    </section>
  );
}

interface SchemaCardProps {
  schema: PolicySchema;
  canDelete: boolean;
  onDelete: () => void;
}

function SchemaCard({ schema, canDelete, onDelete }: SchemaCardProps) {
  const title = schemaTitle(schema);

  return (
    <article className="schema-card" aria-label={`Schema ${title}`}>
      <div className="schema-card-header">
        <h3>{title}</h3>
        <code>{schemaIri(schema)}</code>
        <button type="button" className="danger" onClick={onDelete} disabled={!canDelete}>
          Delete schema {title}
        </button>
      </div>
      <table className="schema-fields">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Type</th>
            <th scope="col">Notes</th>
          </tr>
        </thead>
        <tbody>
          {schemaFields(schema).map((field) => (
            <tr key={field.name} className={field.system ? 'system-field' : undefined}>
              <th scope="row">{field.name}</th>
              <td>{field.type}</td>
              <td>
                {[field.required ? 'required' : null, field.system ? 'default' : null, field.system ? 'read-only' : null]
                  .filter((note) => note !== null)
                  .join(', ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>
  );
}

const EMPTY_ROW: FieldRow = { name: '', type: 'string', required: false };

function NewSchemaForm({ policyId, version, hasUnsavedChanges }: SchemasPanelProps) {
  const createSchema = useCreateSchema();
  const [mode, setMode] = useState<'fields' | 'json'>('fields');
  const [title, setTitle] = useState('');
  const [rows, setRows] = useState<FieldRow[]>([{ ...EMPTY_ROW }]);
  const [jsonText, setJsonText] = useState('{\n  "title": "",\n  "type": "object",\n  "properties": {}\n}');
  const [formError, setFormError] = useState<string | null>(null);
  const titleId = useId();
  const jsonId = useId();

  const updateRow = (index: number, change: Partial<FieldRow>) =>
    setRows((previous) => previous.map((row, position) => (position === index ? { ...row, ...change } : row)));

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const draft = mode === 'fields' ? schemaFromRows(title, rows) : schemaFromJson(jsonText);
    if (!draft.ok) {
      setFormError(draft.error);
      return;
    }
    setFormError(null);
    createSchema.mutate(
      { policyId, baseVersion: version, schema: draft.schema },
      {
        onSuccess: () => {
          setTitle('');
          setRows([{ ...EMPTY_ROW }]);
        },
      },
    );
  };

  return (
    <form className="new-schema" aria-label="New schema" onSubmit={onSubmit}>
      <h3>New schema</h3>
      <fieldset className="schema-mode">
        <legend>Describe the schema with</legend>
        <label>
          <input type="radio" name="schema-mode" checked={mode === 'fields'} onChange={() => setMode('fields')} /> Fields
        </label>
        <label>
          <input type="radio" name="schema-mode" checked={mode === 'json'} onChange={() => setMode('json')} /> JSON
        </label>
      </fieldset>
      {mode === 'fields' ? (
        <>
          <label htmlFor={titleId}>Schema title</label>
          <input id={titleId} value={title} onChange={(event) => setTitle(event.target.value)} />
          {rows.map((row, index) => (
            <div key={index} className="field-row" role="group" aria-label={`Field ${index + 1}`}>
              <input
                aria-label={`Field ${index + 1} name`}
                value={row.name}
                onChange={(event) => updateRow(index, { name: event.target.value })}
              />
              <select
                aria-label={`Field ${index + 1} type`}
                value={row.type}
                onChange={(event) => updateRow(index, { type: event.target.value as FieldType })}
              >
                {FIELD_TYPES.map((type) => (
                  <option key={type} value={type}>
                    {type}
                  </option>
                ))}
              </select>
              <label>
                <input
                  type="checkbox"
                  checked={row.required}
                  onChange={(event) => updateRow(index, { required: event.target.checked })}
                />{' '}
                required
              </label>
              <button type="button" onClick={() => setRows((previous) => previous.filter((_row, position) => position !== index))}>
                Remove field {index + 1}
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setRows((previous) => [...previous, { ...EMPTY_ROW }])}>
            Add field
          </button>
        </>
      ) : (
        <>
          <label htmlFor={jsonId}>Schema (JSON)</label>
          <textarea
            id={jsonId}
            className="json-input"
            rows={8}
            spellCheck={false}
            value={jsonText}
            onChange={(event) => setJsonText(event.target.value)}
          />
        </>
      )}
      <p className="hint">The default fields, such as guardianVersion, are added to every schema and cannot be edited.</p>
      {formError && (
        <p className="field-error" role="alert">
          {formError}
        </p>
      )}
      {createSchema.isError && <ErrorNotice action="Could not create the schema" error={createSchema.error} />}
      <button type="submit" className="primary" disabled={createSchema.isPending || hasUnsavedChanges}>
        {createSchema.isPending ? 'Creating…' : 'Create schema'}
      </button>
    </form>
  );
}
