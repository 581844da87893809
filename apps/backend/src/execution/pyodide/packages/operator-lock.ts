/**
 * The operator's lock file (`PYODIDE_EXTRA_LOCK_FILE`): pure-Python wheels, such as an
 * organisation's emission-factor library, that Pyodide mode loads from the package cache
 * next to Pyodide's own packages.
 *
 * Every entry is checked when the backend starts. An invalid entry stops start-up with a
 * message that names the file, the entry and the field, because a wrong entry would
 * otherwise surface only when a script imports the package.
 */
import { readFileSync } from 'node:fs';
import { PYTHON_LIBRARIES, type PythonLibrary } from '@policy-logic-studio/shared';
import { canonicalPackageName, findLockPackage, type LockFile, type LockPackage } from './lock-file.js';
import { defaultLockFile } from './package-catalog.js';

/**
 * Top-level modules that runtime.py removes or blocks for scripts (`BLOCKED_MODULES`,
 * `BLOCKED_FOR_SCRIPTS`) or hardens (`PROCESS_FUNCTIONS`, `NETWORK_FUNCTIONS`). A package
 * that provides one of them would replace part of the sandbox's hardening.
 */
export const SANDBOX_RESERVED_MODULES: ReadonlySet<string> = new Set([
  'js',
  'pyodide_js',
  'pyodide',
  'micropip',
  'sqlite3',
  '_sqlite3',
  'ctypes',
  '_ctypes',
  '_pyodide_core',
  '_pyodide',
  'os',
  'posix',
  'subprocess',
  '_posixsubprocess',
  'socket',
  '_socket',
]);

/** A pure-Python wheel: `<distribution>-<version>[-<build>]-py3-none-any.whl` (or `py2.py3`). */
const PURE_PYTHON_WHEEL = /^[A-Za-z0-9_.]+-[A-Za-z0-9_.!+]+(-\d[A-Za-z0-9_.]*)?-(py3|py2\.py3)-none-any\.whl$/;
/** A distribution name as PEP 508 allows it. */
const DISTRIBUTION_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const MODULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** An operator lock file that cannot be used. Its message names the file, the entry and the field. */
export class OperatorLockError extends Error {
  override readonly name = 'OperatorLockError';
}

export interface OperatorLockContext {
  /** Pyodide's lock, which operator entries may depend on but not shadow. */
  baseLock: LockFile;
  /** The product's library table, whose import names operator entries may not reuse. */
  libraries: readonly PythonLibrary[];
}

/**
 * Reads and checks the operator's lock file. Returns its entries by canonical name, each
 * marked with `operatorLockFile`. Throws OperatorLockError at the first invalid entry.
 */
export function readOperatorLockFile(
  filePath: string,
  context: OperatorLockContext = { baseLock: defaultLockFile(), libraries: PYTHON_LIBRARIES },
): Record<string, LockPackage> {
  const rawPackages = readPackagesObject(filePath);
  const checker = new EntryChecker(filePath, context);
  const packages: Record<string, LockPackage> = {};
  for (const [key, raw] of Object.entries(rawPackages)) {
    const entry = checker.check(key, raw);
    packages[canonicalPackageName(entry.name)] = entry;
  }
  for (const [key, entry] of Object.entries(packages)) {
    checker.checkDependencies(key, entry, packages);
  }
  return packages;
}

function readPackagesObject(filePath: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (error) {
    throw new OperatorLockError(`${filePath} cannot be read: ${(error as Error).message}`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new OperatorLockError(`${filePath} is not valid JSON: ${(error as Error).message}`);
  }
  const packages = isObject(parsed) ? parsed.packages : undefined;
  if (!isObject(packages)) {
    throw new OperatorLockError(`${filePath} has no "packages" object. Expected the shape of pyodide-lock.json: { "packages": { "<name>": { ... } } }.`);
  }
  return packages;
}

class EntryChecker {
  /** Import name to the entry key that provides it, across the Pyodide lock and the operator's entries. */
  private readonly providers = new Map<string, string>();
  private readonly tableImports = new Map<string, string>();

  constructor(
    private readonly filePath: string,
    private readonly context: OperatorLockContext,
  ) {
    for (const entry of Object.values(context.baseLock.packages)) {
      for (const moduleName of entry.imports) {
        this.providers.set(moduleName, `the Pyodide package '${entry.name}'`);
      }
    }
    for (const library of context.libraries) {
      for (const moduleName of library.importNames) {
        this.tableImports.set(moduleName, library.name);
      }
    }
  }

  check(key: string, raw: unknown): LockPackage {
    if (!isObject(raw)) {
      throw this.error(key, undefined, 'is not a JSON object');
    }
    const entry: LockPackage = {
      name: this.requireString(key, raw, 'name'),
      version: this.requireString(key, raw, 'version'),
      file_name: this.requireString(key, raw, 'file_name'),
      install_dir: this.requireString(key, raw, 'install_dir'),
      sha256: this.requireString(key, raw, 'sha256').toLowerCase(),
      package_type: this.requireString(key, raw, 'package_type'),
      imports: this.requireStringArray(key, raw, 'imports'),
      depends: this.requireStringArray(key, raw, 'depends'),
      shared_library: false,
      operatorLockFile: this.filePath,
    };
    this.checkName(key, entry);
    this.checkPurePython(key, raw, entry);
    this.checkSha256(key, raw);
    this.checkImports(key, entry);
    return entry;
  }

  checkDependencies(key: string, entry: LockPackage, operatorPackages: Record<string, LockPackage>): void {
    for (const dependency of entry.depends) {
      const known = operatorPackages[canonicalPackageName(dependency)] ?? findLockPackage(this.context.baseLock, dependency);
      if (known === undefined) {
        throw this.error(key, 'depends', `names '${dependency}', which is in neither Pyodide's lock file nor this file`);
      }
    }
  }

  private checkName(key: string, entry: LockPackage): void {
    if (!DISTRIBUTION_NAME.test(entry.name)) {
      throw this.error(key, 'name', `is "${entry.name}", which is not a valid distribution name (letters, digits, ".", "-" and "_")`);
    }
    if (canonicalPackageName(key) !== canonicalPackageName(entry.name)) {
      throw this.error(key, 'name', `is "${entry.name}", but the entry's key is "${key}". Use the same name for both`);
    }
    const existing = findLockPackage(this.context.baseLock, entry.name);
    if (existing !== undefined) {
      throw this.error(key, 'name', `shadows the Pyodide package '${existing.name}' ${existing.version}. Rename the package, or use Pyodide's own`);
    }
    if (SANDBOX_RESERVED_MODULES.has(entry.name)) {
      throw this.error(key, 'name', `shadows the module '${entry.name}', which the sandbox blocks or hardens`);
    }
  }

  private checkPurePython(key: string, raw: Record<string, unknown>, entry: LockPackage): void {
    if (entry.file_name.includes('/') || entry.file_name.includes('\\') || !PURE_PYTHON_WHEEL.test(entry.file_name)) {
      throw this.error(
        key,
        'file_name',
        `is "${entry.file_name}", which is not a pure-Python wheel. Expected <distribution>-<version>-py3-none-any.whl: only pure-Python wheels are supported, no shared libraries or platform wheels`,
      );
    }
    if (entry.install_dir !== 'site') {
      throw this.error(key, 'install_dir', `is "${entry.install_dir}", but a pure-Python wheel installs into "site"`);
    }
    if (entry.package_type !== 'package') {
      throw this.error(key, 'package_type', `is "${entry.package_type}", but a pure-Python wheel has the type "package"`);
    }
    if (raw.shared_library !== undefined && raw.shared_library !== false) {
      throw this.error(key, 'shared_library', `is ${JSON.stringify(raw.shared_library)}, but shared libraries are not supported. Set it to false or leave it out`);
    }
  }

  private checkSha256(key: string, raw: Record<string, unknown>): void {
    const sha256 = raw.sha256 as string;
    if (!SHA256_HEX.test(sha256)) {
      throw this.error(key, 'sha256', `is "${sha256}", which is not 64 hexadecimal characters. Compute it with: sha256sum FILE.whl`);
    }
  }

  private checkImports(key: string, entry: LockPackage): void {
    if (entry.imports.length === 0) {
      throw this.error(key, 'imports', 'is empty. List the top-level modules that scripts import from the package');
    }
    for (const moduleName of entry.imports) {
      this.checkImport(key, moduleName);
      this.providers.set(moduleName, `the entry "${key}" of this file`);
    }
  }

  private checkImport(key: string, moduleName: string): void {
    if (!MODULE_NAME.test(moduleName)) {
      throw this.error(key, 'imports', `contains "${moduleName}", which is not a top-level Python module name`);
    }
    if (SANDBOX_RESERVED_MODULES.has(moduleName)) {
      throw this.error(key, 'imports', `contains '${moduleName}', a module that the sandbox blocks or hardens`);
    }
    const provider = this.providers.get(moduleName);
    if (provider !== undefined) {
      throw this.error(key, 'imports', `contains '${moduleName}', which ${provider} already provides`);
    }
    const library = this.tableImports.get(moduleName);
    if (library !== undefined) {
      throw this.error(key, 'imports', `contains '${moduleName}', an import name of '${library}' in the product's library table`);
    }
  }

  private requireString(key: string, raw: Record<string, unknown>, field: string): string {
    const value = raw[field];
    if (value === undefined) {
      throw this.error(key, field, 'is missing');
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw this.error(key, field, `is ${JSON.stringify(value)}. Expected a non-empty string`);
    }
    return value;
  }

  private requireStringArray(key: string, raw: Record<string, unknown>, field: string): string[] {
    const value = raw[field];
    if (value === undefined) {
      throw this.error(key, field, 'is missing');
    }
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      throw this.error(key, field, `is ${JSON.stringify(value)}. Expected an array of strings`);
    }
    return value as string[];
  }

  private error(key: string, field: string | undefined, problem: string): OperatorLockError {
    const subject = field === undefined ? `entry "${key}"` : `field "${field}" of entry "${key}"`;
    return new OperatorLockError(`In ${this.filePath}, ${subject} ${problem}.`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
