import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ivm from 'isolated-vm';
import { loadPyodide } from 'pyodide';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_HELPER_FACTORY, TABLE_HELPER_SOURCE } from '../src/execution/javascript/table-helper.js';

/**
 * One table of cases, three runtimes: the Python helper in the machine's CPython (the
 * interpreter family of Docker mode) and in real Pyodide, and the JavaScript helper in a
 * real isolated-vm context. Every runtime must return each case's `expected` value.
 */

interface TableCase {
  name: string;
  method: string;
  args: unknown[];
  tables?: Record<string, unknown>;
  expected: unknown;
}

type CaseResult = { value: unknown } | { error: string };

const testDir = path.dirname(fileURLToPath(import.meta.url));
const casesPath = path.join(testDir, 'fixtures', 'table-cases.json');
const pythonDriverPath = path.join(testDir, 'fixtures', 'table-cases.py');
const pythonHelperDir = path.join(testDir, '..', 'src', 'execution', 'python');

const casesJson = readFileSync(casesPath, 'utf8');
const cases = (JSON.parse(casesJson) as { cases: TableCase[] }).cases;

// Runs inside the isolate next to TABLE_HELPER_SOURCE and mirrors table-cases.py.
const JAVASCRIPT_DRIVER = String.raw`
function decodeCase(value, fixtures) {
  const special = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };
  if (Array.isArray(value)) {
    return value.map((item) => decodeCase(item, fixtures));
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === '$fixture') {
    return decodeCase(fixtures[value.$fixture], fixtures);
  }
  if (keys.length === 1 && keys[0] === '$special') {
    return special[value.$special];
  }
  const decoded = {};
  for (const key of keys) {
    Object.defineProperty(decoded, key, { value: decodeCase(value[key], fixtures), enumerable: true, writable: true, configurable: true });
  }
  return decoded;
}

function runCases(casesJson) {
  const spec = JSON.parse(casesJson);
  return JSON.stringify(spec.cases.map((testCase) => {
    const helper = createTableHelper(decodeCase(testCase.tables ?? {}, spec.fixtures));
    const args = decodeCase(testCase.args, spec.fixtures);
    try {
      const value = helper[testCase.method](...args);
      return { value: value === undefined ? '<undefined>' : value };
    } catch (error) {
      return { error: String(error) };
    }
  }));
}
`;

function runInCPython(): CaseResult[] {
  const output = execFileSync('python3', [pythonDriverPath, pythonHelperDir], {
    input: casesJson,
    encoding: 'utf8',
  });
  return JSON.parse(output) as CaseResult[];
}

// Python number types that JSON cannot carry, so the shared case table cannot hold them.
const PYTHON_TYPES_SCRIPT = `
import json
from decimal import Decimal
from fractions import Fraction
from table import make_table_helper

helper = make_table_helper({})
checks = {
    "decimal": helper.num(Decimal("1.25")),
    "decimal NaN": helper.num(Decimal("NaN")),
    "decimal signalling NaN": helper.num(Decimal("sNaN")),
    "decimal infinity": helper.num(Decimal("-Infinity")),
    "fraction": helper.num(Fraction(3, 2)),
    "big integer": str(helper.num(10**30)),
    "string gives float": type(helper.num("2")).__name__,
    "integer stays int": type(helper.num(2)).__name__,
    "tuple rows": helper.rows({"type": "table", "columnKeys": ("a", "b"), "rows": [(1, 2), (3,)]}),
    "tuple cell": helper.cell({"type": "table", "columnKeys": ["a", "b"], "rows": [(1, 2)]}, 0, "b"),
}
output = json.dumps(checks)
`;

const PYTHON_TYPES_EXPECTED = {
  decimal: 1.25,
  'decimal NaN': 0,
  'decimal signalling NaN': 0,
  'decimal infinity': 0,
  fraction: 1.5,
  'big integer': '1000000000000000000000000000000',
  'string gives float': 'float',
  'integer stays int': 'int',
  'tuple rows': [
    { a: 1, b: 2 },
    { a: 3, b: null },
  ],
  'tuple cell': 2,
};

let pyodide: Awaited<ReturnType<typeof loadPyodide>>;

async function runInPyodide(): Promise<CaseResult[]> {
  pyodide = await loadPyodide();
  pyodide.FS.mkdirTree('/helper');
  pyodide.FS.writeFile('/helper/table.py', readFileSync(path.join(pythonHelperDir, 'table.py'), 'utf8'));
  pyodide.runPython("import sys\nsys.path.insert(0, '/helper')");

  const driver = pyodide.runPython(
    `${readFileSync(pythonDriverPath, 'utf8')}\nrun_cases`,
    { globals: pyodide.toPy({ __name__: 'table_cases' }) },
  ) as (json: string) => string;
  return JSON.parse(driver(casesJson)) as CaseResult[];
}

function runInIsolate(): CaseResult[] {
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  try {
    const context = isolate.createContextSync();
    context.evalSync(TABLE_HELPER_SOURCE);
    context.evalSync(JAVASCRIPT_DRIVER);
    const output = context.evalClosureSync('return runCases($0);', [casesJson], {
      result: { copy: true },
    }) as string;
    return JSON.parse(output) as CaseResult[];
  } finally {
    isolate.dispose();
  }
}

const results: Record<string, CaseResult[]> = {};

beforeAll(async () => {
  results.cpython = runInCPython();
  results.pyodide = await runInPyodide();
  results.javascript = runInIsolate();
});

describe('table helper cases', () => {
  it('covers every method', () => {
    const methods = new Set(cases.map((testCase) => testCase.method));

    expect([...methods].sort()).toEqual(['cell', 'col', 'keys', 'normalize', 'num', 'rows']);
  });

  describe.each(['cpython', 'pyodide', 'javascript'])('in %s', (runtime) => {
    it('returns one result per case', () => {
      expect(results[runtime]).toHaveLength(cases.length);
    });

    it.each(cases.map((testCase, index) => ({ ...testCase, index })))('$name', (testCase) => {
      expect(results[runtime]?.[testCase.index]).toStrictEqual({ value: testCase.expected });
    });
  });
});

describe('table.py with Python number types', () => {
  it('converts them in CPython', () => {
    const output = execFileSync('python3', ['-c', `${PYTHON_TYPES_SCRIPT}\nprint(output)`], {
      cwd: pythonHelperDir,
      encoding: 'utf8',
    });

    expect(JSON.parse(output)).toStrictEqual(PYTHON_TYPES_EXPECTED);
  });

  it('converts them in Pyodide', () => {
    const output = pyodide.runPython(`${PYTHON_TYPES_SCRIPT}\noutput`, {
      globals: pyodide.toPy({ __name__: 'python_types' }),
    }) as string;

    expect(JSON.parse(output)).toStrictEqual(PYTHON_TYPES_EXPECTED);
  });
});

describe('TABLE_HELPER_SOURCE', () => {
  it('defines the factory as a global in a fresh context', () => {
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    try {
      const context = isolate.createContextSync();
      context.evalSync(TABLE_HELPER_SOURCE);
      context.evalClosureSync(`globalThis.table = ${TABLE_HELPER_FACTORY}($0);`, [{ f: 'a\n1' }], {
        arguments: { copy: true },
      });

      expect(context.evalSync("table.col({ type: 'table', fileId: 'f' }, 'a')[0]")).toBe('1');
      expect(context.evalSync('Object.isFrozen(table)')).toBe(true);
    } finally {
      isolate.dispose();
    }
  });

  it('copies rows so a script cannot change the supplied table', () => {
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    try {
      const context = isolate.createContextSync();
      context.evalSync(TABLE_HELPER_SOURCE);
      const cellAfterEdit = context.evalSync(`
        const helper = createTableHelper({ f: { columnKeys: ['a'], rows: [['original']] } });
        const field = { type: 'table', fileId: 'f' };
        helper.normalize(field).rows[0][0] = 'edited';
        helper.rows(field)[0].a = 'edited';
        helper.cell(field, 0, 'a');
      `);

      expect(cellAfterEdit).toBe('original');
    } finally {
      isolate.dispose();
    }
  });
});
