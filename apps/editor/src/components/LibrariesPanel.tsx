import { useQuery } from '@tanstack/react-query';
import type { PythonLibrariesResponse, PythonLibraryAvailability } from '@policy-logic-studio/shared';
import { apiJson } from '../api/client.js';
import { ErrorNotice } from './ErrorNotice.js';

export function fetchPythonLibraries(): Promise<PythonLibrariesResponse> {
  return apiJson<PythonLibrariesResponse>('/sandbox/packages');
}

const DOWNLOADING_POLL_MS = 5_000;

/** True while a library the running mode supports still waits for the package cache. */
function isWaitingForCache(response: PythonLibrariesResponse | undefined): boolean {
  if (response === undefined) {
    return false;
  }
  return response.libraries.some((library) => library.modes.includes(response.mode) && !library.available);
}

export function usePythonLibraries() {
  return useQuery({
    queryKey: ['sandbox-packages'],
    queryFn: fetchPythonLibraries,
    // Poll only while the backend's warm-up may still be filling the package cache.
    refetchInterval: (query) => (isWaitingForCache(query.state.data) ? DOWNLOADING_POLL_MS : false),
  });
}

const CATEGORY_LABELS: Record<PythonLibraryAvailability['category'], string> = {
  library: 'library',
  'standard-library': 'standard library',
  transitive: 'dependency',
  'docker-only': 'Docker mode only',
  removed: 'removed',
};

/** Shows the Python libraries a script may import, with their availability in the running mode. */
export function LibrariesPanel() {
  const libraries = usePythonLibraries();

  return (
    <section className="libraries-panel" aria-labelledby="libraries-heading">
      <h2 id="libraries-heading">Python libraries</h2>
      {libraries.isPending ? (
        <p role="status">Loading the library list…</p>
      ) : libraries.isError ? (
        <ErrorNotice action="Could not load the Python libraries" error={libraries.error} onRetry={() => void libraries.refetch()} />
      ) : (
        <LibraryTable response={libraries.data} />
      )}
    </section>
  );
}

function LibraryTable({ response }: { response: PythonLibrariesResponse }) {
  const modeLabel = response.mode === 'pyodide' ? `Pyodide ${response.pyodideVersion}` : 'Docker';

  return (
    <>
      <p>
        Python runs in {modeLabel} mode. A script may import the available libraries below; any other import fails before the
        script runs.
      </p>
      <table className="policy-table">
        <thead>
          <tr>
            <th scope="col">Library</th>
            <th scope="col">Import as</th>
            <th scope="col">Version</th>
            <th scope="col">Kind</th>
            <th scope="col">Availability</th>
          </tr>
        </thead>
        <tbody>
          {response.libraries.map((library) => (
            <LibraryRow key={library.name} library={library} />
          ))}
        </tbody>
      </table>
    </>
  );
}

function LibraryRow({ library }: { library: PythonLibraryAvailability }) {
  const note = library.detail ?? library.reason;

  return (
    <tr>
      <th scope="row">{library.name}</th>
      <td>
        <code>{library.importNames.join(', ')}</code>
      </td>
      <td>{library.version ?? '—'}</td>
      <td>{CATEGORY_LABELS[library.category]}</td>
      <td>
        {library.available ? 'Available' : 'Not available'}
        {note && <div className="policy-description">{note}</div>}
      </td>
    </tr>
  );
}
