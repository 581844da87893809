import type { PythonSandboxMode } from './dry-run.js';

/**
 * The Python libraries a Custom Logic script may import, in one table for the editor,
 * the backend and the documentation.
 *
 * Pyodide mode loads the `pyodide` packages at the versions of the Pyodide 0.26.4
 * distribution (pint is pinned separately, because that distribution lacks it). Docker
 * mode uses the versions of the Debian packages in the sandbox image, so `version` below
 * is the Pyodide-mode version.
 */

/** Pyodide release whose package set the table pins. */
export const PYODIDE_VERSION = '0.26.4';

export type PythonLibraryCategory =
  /** A supported library that scripts import by name. */
  | 'library'
  /** Part of Python's standard library: nothing to load. */
  | 'standard-library'
  /** Loaded because a supported library depends on it; scripts may import it too. */
  | 'transitive'
  /** Available only where the native libraries it needs exist (the Docker image). */
  | 'docker-only'
  /** No longer supported; `reason` names what covers its use. */
  | 'removed';

/**
 * Origin of a library entry: the product's own table, or the lock file that the operator
 * names in `PYODIDE_EXTRA_LOCK_FILE`.
 */
export type PythonLibrarySource = 'product' | 'operator';

export interface PythonLibrary {
  /** Distribution name, as in pyodide-lock.json (`scikit-learn`, `python-dateutil`). */
  name: string;
  /** Top-level modules a script imports (`sklearn` for scikit-learn). */
  importNames: string[];
  /** Pinned version in Pyodide mode; absent for the standard library and removed libraries. */
  version?: string;
  category: PythonLibraryCategory;
  /** Modes in which a script can import it; empty for removed libraries. */
  modes: PythonSandboxMode[];
  /** Reason for the category, or the replacement to use. */
  reason?: string;
  /** Absent for the entries of this table, which come from the product. */
  source?: PythonLibrarySource;
}

const BOTH_MODES: PythonSandboxMode[] = ['pyodide', 'docker'];

function library(name: string, version: string, importNames: string[] = [name]): PythonLibrary {
  return { name, importNames, version, category: 'library', modes: BOTH_MODES };
}

function removed(name: string, reason: string): PythonLibrary {
  return { name, importNames: [name], category: 'removed', modes: [], reason };
}

const COVERED_BY_PANDAS = 'removed: querying tabular data is covered by pandas';
const VISUALIZATION_NOT_NEEDED = 'removed: scripts compute documents, so plotting libraries are not needed';

export const PYTHON_LIBRARIES: readonly PythonLibrary[] = [
  library('numpy', '1.26.4'),
  library('scipy', '1.12.0'),
  library('sympy', '1.12'),
  library('pandas', '2.2.0'),
  library('pint', '0.25.3'),
  library('cftime', '1.6.3'),
  library('astropy', '6.0.1'),
  library('statsmodels', '0.14.2'),
  library('networkx', '3.3'),
  library('scikit-learn', '1.4.2', ['sklearn']),
  library('xarray', '2024.3.0'),
  library('geopandas', '0.14.3'),
  {
    name: 'rasterio',
    importNames: ['rasterio'],
    category: 'docker-only',
    modes: ['docker'],
    reason: 'needs the GDAL native library, which the Docker image has and Pyodide mode lacks',
  },
  {
    name: 'rioxarray',
    importNames: ['rioxarray'],
    category: 'docker-only',
    modes: ['docker'],
    reason: 'builds on rasterio, which needs the GDAL native library',
  },
  {
    name: 'python-standard-library',
    importNames: ['calendar', 'datetime', 'collections', 'math', 'copy', 'json', 're', 'statistics', 'decimal', 'fractions', 'itertools', 'functools'],
    category: 'standard-library',
    modes: BOTH_MODES,
    reason: 'part of Python; the sandbox blocks the modules that reach processes, sockets or native code',
  },
  { name: 'python-dateutil', importNames: ['dateutil'], version: '2.9.0.post0', category: 'transitive', modes: BOTH_MODES, reason: 'loaded with pandas' },
  { name: 'six', importNames: ['six'], version: '1.16.0', category: 'transitive', modes: BOTH_MODES, reason: 'loaded with python-dateutil' },
  { name: 'matplotlib', importNames: ['matplotlib', 'mpl_toolkits', 'pylab'], version: '3.5.2', category: 'transitive', modes: BOTH_MODES, reason: 'loaded with networkx; plotting output is not shown' },
  removed('duckdb', COVERED_BY_PANDAS),
  removed('sqlalchemy', COVERED_BY_PANDAS),
  removed('bokeh', VISUALIZATION_NOT_NEEDED),
  removed('altair', VISUALIZATION_NOT_NEEDED),
  removed('cartopy', VISUALIZATION_NOT_NEEDED),
  removed('seaborn', VISUALIZATION_NOT_NEEDED),
];

/** Finds the table entry whose import names contain `moduleName` (top-level part only). */
export function findPythonLibrary(moduleName: string): PythonLibrary | undefined {
  const topLevel = moduleName.split('.')[0] ?? moduleName;
  return PYTHON_LIBRARIES.find((entry) => entry.importNames.includes(topLevel));
}

/** Libraries that Pyodide mode loads from the package cache (the allowlist roots). */
export function pyodideLoadableLibraries(libraries: readonly PythonLibrary[] = PYTHON_LIBRARIES): PythonLibrary[] {
  return libraries.filter(
    (entry) => entry.modes.includes('pyodide') && entry.category !== 'standard-library' && entry.version !== undefined,
  );
}

/** State of one package in the Pyodide package cache. */
export type PackageCacheState = 'cached' | 'missing' | 'downloading' | 'failed';

export interface PackageCacheEntry {
  /** Lock-file name (`scikit-learn`, `openblas`). */
  name: string;
  version: string;
  fileName: string;
  state: PackageCacheState;
  /** Size of the file when cached, or the bytes received so far while downloading. */
  bytes: number;
  /** Error of the last failed download or verification. */
  lastError?: string;
}

/** The Pyodide package cache and its background warm-up. */
export interface PackageCacheStatus {
  cacheDir: string;
  /** Base URL that missing packages are downloaded from (`PYODIDE_PACKAGE_BASE_URL`). */
  sourceUrl: string;
  warmUp: 'idle' | 'running' | 'finished' | 'failed';
  startedAt?: string;
  finishedAt?: string;
  counts: Record<PackageCacheState, number>;
  /** Bytes of all cached packages. */
  cachedBytes: number;
  /** The most recent download or verification error, with the package it concerns. */
  lastError?: string;
  packages: PackageCacheEntry[];
}

/** One row of `GET /api/sandbox/packages`. */
export interface PythonLibraryAvailability extends PythonLibrary {
  source: PythonLibrarySource;
  /** Whether a script can import it in the running mode now. */
  available: boolean;
  /** Reason it is not available, or the packages still missing (`numpy: downloading`). */
  detail?: string;
}

/** Body of `GET /api/sandbox/packages`. */
export interface PythonLibrariesResponse {
  mode: PythonSandboxMode;
  pyodideVersion: string;
  libraries: PythonLibraryAvailability[];
}

/** Body of `GET /api/sandbox/status`. */
export interface SandboxStatusResponse {
  mode: PythonSandboxMode;
  /** Used in Pyodide mode only; in Docker mode its warm-up stays `idle`. */
  packageCache: PackageCacheStatus;
}
