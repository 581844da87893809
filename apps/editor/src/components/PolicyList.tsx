import { useId, useState, type ChangeEvent, type FormEvent } from 'react';
import type { PolicySummary, StoredPolicy } from '@policy-logic-studio/shared';
import { errorMessage } from '../api/client.js';
import { useCreatePolicy, useDeletePolicy, useExportPolicy, useImportPolicy, usePolicies } from '../api/policies.js';
import { newContainerBlock } from '../blocks/container-block.js';
import { navigate, policyHref } from '../routes.js';
import { ErrorNotice } from './ErrorNotice.js';

export function PolicyList() {
  const policies = usePolicies();

  return (
    <section className="policy-list" aria-labelledby="policies-heading">
      <h1 id="policies-heading">Policies</h1>
      <div className="policy-list-actions">
        <CreatePolicyForm />
        <ImportPolicyInput />
      </div>
      {policies.isPending ? (
        <p role="status">Loading policies…</p>
      ) : policies.isError ? (
        <ErrorNotice action="Could not load the policies" error={policies.error} onRetry={() => void policies.refetch()} />
      ) : (
        <PolicyTable policies={policies.data} />
      )}
    </section>
  );
}

function CreatePolicyForm() {
  const [name, setName] = useState('');
  const createPolicy = useCreatePolicy();
  const inputId = useId();

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      return;
    }
    const policy = { name: trimmed, description: '', config: newContainerBlock('root') };
    createPolicy.mutate(policy, {
      onSuccess: (stored) => {
        setName('');
        navigate(policyHref(stored.id));
      },
    });
  };

  return (
    <form className="create-policy" onSubmit={onSubmit} aria-label="Create a policy">
      <label htmlFor={inputId}>New policy name</label>
      <input id={inputId} value={name} onChange={(event) => setName(event.target.value)} required />
      <button type="submit" disabled={createPolicy.isPending || name.trim() === ''}>
        {createPolicy.isPending ? 'Creating…' : 'Create policy'}
      </button>
      {createPolicy.isError && <ErrorNotice action="Could not create the policy" error={createPolicy.error} />}
    </form>
  );
}

function ImportPolicyInput() {
  const importPolicy = useImportPolicy();
  const [fileError, setFileError] = useState<string | null>(null);
  const [imported, setImported] = useState<StoredPolicy | null>(null);
  const inputId = useId();

  const onFileChange = async (event: ChangeEvent<HTMLInputElement>) => {
    const input = event.currentTarget;
    const file = input.files?.[0];
    if (!file) {
      return;
    }
    setFileError(null);
    setImported(null);

    let guardianPolicy: unknown;
    try {
      guardianPolicy = JSON.parse(await file.text());
    } catch (error) {
      setFileError(`${file.name} is not valid JSON (${errorMessage(error)}). Choose a Guardian policy JSON file.`);
      input.value = '';
      return;
    }

    importPolicy.mutate(guardianPolicy, { onSuccess: (stored) => setImported(stored) });
    // Clearing the input lets the same file be chosen again after a fix.
    input.value = '';
  };

  return (
    <div className="import-policy">
      <label htmlFor={inputId}>Import Guardian policy (JSON file)</label>
      <input id={inputId} type="file" accept=".json,application/json" onChange={(event) => void onFileChange(event)} />
      {importPolicy.isPending && <p role="status">Importing…</p>}
      {fileError && (
        <p className="notice notice-error" role="alert">
          {fileError}
        </p>
      )}
      {importPolicy.isError && <ErrorNotice action="Could not import the policy" error={importPolicy.error} />}
      {imported && (
        <p className="notice notice-ok" role="status">
          Imported “{imported.policy.name}”. <a href={policyHref(imported.id)}>Open it</a>
        </p>
      )}
    </div>
  );
}

function PolicyTable({ policies }: { policies: PolicySummary[] }) {
  const deletePolicy = useDeletePolicy();
  const exportPolicy = useExportPolicy();

  if (policies.length === 0) {
    return <p>No policies yet. Create one, or import a Guardian policy JSON file.</p>;
  }

  const onDelete = (policy: PolicySummary) => {
    if (window.confirm(`Delete the policy “${policy.name}”? This cannot be undone.`)) {
      deletePolicy.mutate(policy.id);
    }
  };

  return (
    <>
      {deletePolicy.isError && <ErrorNotice action="Could not delete the policy" error={deletePolicy.error} />}
      {exportPolicy.isError && <ErrorNotice action="Could not export the policy" error={exportPolicy.error} />}
      <table className="policy-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Version</th>
            <th scope="col">Updated</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {policies.map((policy) => (
            <tr key={policy.id}>
              <th scope="row">
                <a href={policyHref(policy.id)}>{policy.name}</a>
                {policy.description && <div className="policy-description">{policy.description}</div>}
              </th>
              <td>{policy.version}</td>
              <td>
                <time dateTime={policy.updatedAt}>{new Date(policy.updatedAt).toLocaleString()}</time>
              </td>
              <td>
                <div className="row-actions">
                  <button
                    type="button"
                    aria-label={`Export ${policy.name}`}
                    disabled={exportPolicy.isPending}
                    onClick={() => exportPolicy.mutate({ policyId: policy.id, name: policy.name })}
                  >
                    Export
                  </button>
                  <button
                    type="button"
                    className="danger"
                    aria-label={`Delete ${policy.name}`}
                    disabled={deletePolicy.isPending && deletePolicy.variables === policy.id}
                    onClick={() => onDelete(policy)}
                  >
                    Delete
                  </button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
