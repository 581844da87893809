import type { JsonValue, OutputLimits, SandboxEvent, SandboxRunRequest, ScriptError, ScriptInput } from '@policy-logic-studio/shared';
import { DEFAULT_OUTPUT_LIMITS } from '@policy-logic-studio/shared';
import type { expect as vitestExpect } from 'vitest';

type ExpectFn = typeof vitestExpect;

/**
 * Python scripts and what runtime.py must report for them, in every mode that runs
 * runtime.py. Tests feed the same table to CPython (`python3 runtime.py`) and to the
 * Pyodide runner.
 */
export interface PythonCase {
  name: string;
  script: string;
  prelude?: string;
  input?: Partial<ScriptInput>;
  limits?: Partial<OutputLimits>;
  /** Cases that need a runner with a timeout. */
  needsTimeout?: boolean;
  expected: {
    results?: JsonValue[];
    finals?: boolean[];
    error?: { type: string; line?: number; column?: number; messageContains?: string };
    timedOut?: boolean;
    debug?: JsonValue[][];
    stdout?: string;
    stdoutEndsWith?: string;
    stdoutMaxLength?: number;
    stderr?: string;
    /** Substrings that the run's warnings, taken together, must contain. */
    warningMentions?: string[];
    warningCodes?: string[];
  };
}

/** What one run reported, collected from its events. */
export interface RunSummary {
  results: JsonValue[];
  finals: boolean[];
  debug: JsonValue[][];
  stdout: string;
  stderr: string;
  warnings: { code: string; message: string }[];
  error?: ScriptError;
  completed: boolean;
  /** Number of events that ended the run (`sandbox:error` or `sandbox:complete`). */
  endEvents: number;
}

export function summarize(events: SandboxEvent[]): RunSummary {
  const summary: RunSummary = { results: [], finals: [], debug: [], stdout: '', stderr: '', warnings: [], completed: false, endEvents: 0 };
  for (const event of events) {
    switch (event.type) {
      case 'sandbox:done':
        summary.results.push(event.value);
        summary.finals.push(event.final);
        break;
      case 'sandbox:debug':
        summary.debug.push(event.values);
        break;
      case 'sandbox:stdout':
        summary.stdout += event.text;
        break;
      case 'sandbox:stderr':
        summary.stderr += event.text;
        break;
      case 'sandbox:warning':
        summary.warnings.push({ code: event.code, message: event.message });
        break;
      case 'sandbox:error':
        summary.error = event.error;
        summary.endEvents += 1;
        break;
      case 'sandbox:complete':
        summary.completed = true;
        summary.endEvents += 1;
        break;
    }
  }
  return summary;
}

export function makeRequest(script: string, options: { prelude?: string; input?: Partial<ScriptInput>; limits?: Partial<OutputLimits> } = {}): SandboxRunRequest {
  return {
    runId: `run-${Math.random().toString(36).slice(2)}`,
    script,
    prelude: options.prelude ?? '',
    input: { documents: [], user: null, artifacts: [], sources: [], tables: {}, ...options.input },
    limits: { ...DEFAULT_OUTPUT_LIMITS, ...options.limits },
  };
}

function vcRecord(subject: Record<string, JsonValue>): JsonValue {
  return {
    document: {
      '@context': ['https://www.w3.org/2018/credentials/v1'],
      type: ['VerifiableCredential'],
      credentialSubject: [subject],
    },
  };
}

export const PYTHON_CASES: PythonCase[] = [
  {
    name: 'strings pass through untouched',
    script: "done({'a': 'nan', 'b': 'Hello,\\nAn offer', 'c': 'NaN', 'd': 'To Infinity and beyond', 'e': 'C:\\\\new'})",
    expected: { results: [{ a: 'nan', b: 'Hello,\nAn offer', c: 'NaN', d: 'To Infinity and beyond', e: 'C:\\new' }], warningCodes: [] },
  },
  {
    name: 'NaN and Infinity become null with warnings',
    script: "done({'x': float('inf'), 'y': float('nan'), 'z': 1.5, 'rows': [{'value': float('-inf')}]})",
    expected: {
      results: [{ x: null, y: null, z: 1.5, rows: [{ value: null }] }],
      warningCodes: ['non-finite-number'],
      warningMentions: ['$.x', '$.y', '$.rows[0].value', 'done()'],
    },
  },
  {
    name: 'NaN in debug names the debug call',
    script: "debug('v', float('nan'))\ndone({})",
    expected: { debug: [['v', null]], warningMentions: ['debug()', '$[1]'] },
  },
  {
    name: 'JSON null input arrives as None',
    script: "d = documents[0]['document']['credentialSubject'][0]\ndone({'keys': sorted(d), 'b_is_none': d['b'] is None})",
    input: { documents: [vcRecord({ a: 1, b: null })] },
    expected: { results: [{ keys: ['a', 'b'], b_is_none: true }] },
  },
  {
    name: 'input globals are native Python values',
    script: [
      "done({",
      "  'documents': type(documents).__name__,",
      "  'user': type(user).__name__,",
      "  'artifacts': type(artifacts).__name__,",
      "  'sources': type(sources).__name__,",
      "  'did': user['did'],",
      "  'source_count': len(sources),",
      "  'artifact': artifacts[0]['name'],",
      "})",
    ].join('\n'),
    input: { user: { did: 'did:example:1' }, artifacts: [{ name: 'a.py' }], sources: [{ x: 1 }, { x: 2 }] },
    expected: { results: [{ documents: 'list', user: 'dict', artifacts: 'list', sources: 'list', did: 'did:example:1', source_count: 2, artifact: 'a.py' }] },
  },
  {
    name: 'nested dicts stay objects',
    script: "done({'outer': {'inner': {'v': [1, {'w': 2}]}}})",
    expected: { results: [{ outer: { inner: { v: [1, { w: 2 }] } } }] },
  },
  {
    name: 'datetimes become ISO 8601',
    script: "from datetime import datetime, date, time, timezone\ndone({'ts': datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc), 'd': date(2024, 1, 2), 't': time(3, 4, 5)})",
    expected: { results: [{ ts: '2024-01-02T03:04:05+00:00', d: '2024-01-02', t: '03:04:05' }] },
  },
  {
    name: 'strptime works',
    script: "from datetime import datetime\ndone({'y': datetime.strptime('2024-03-05', '%Y-%m-%d').year})",
    expected: { results: [{ y: 2024 }] },
  },
  {
    name: 'standard library modules work',
    script: [
      'import asyncio, json, re, math, statistics, decimal, fractions, collections',
      'await asyncio.sleep(0)',
      "done({",
      "  'json': json.loads('[1]'),",
      "  're': re.sub('a', 'b', 'aa'),",
      "  'math': math.floor(2.5),",
      "  'mean': statistics.mean([1, 2, 3]),",
      "  'decimal': str(decimal.Decimal('1.10') + decimal.Decimal('2.20')),",
      "  'fraction': str(fractions.Fraction(1, 3) * 3),",
      "  'counter': collections.Counter('aab')['a'],",
      "})",
    ].join('\n'),
    expected: { results: [{ json: [1], re: 'bb', math: 2, mean: 2, decimal: '3.30', fraction: '1', counter: 2 }] },
  },
  {
    name: 'runtime error reports the script line',
    script: "cs = documents[0]['document']['credentialSubject'][0]\nx = 1\ny = cs['missing']\ndone({'y': y})",
    input: { documents: [vcRecord({ present: 1 })] },
    expected: { error: { type: 'KeyError', line: 3, messageContains: 'missing' } },
  },
  {
    name: 'error inside a function reports the failing line',
    script: 'def ratio(a, b):\n    return a / b\n\nratio(1, 0)',
    expected: { error: { type: 'ZeroDivisionError', line: 2, messageContains: 'division by zero' } },
  },
  {
    name: 'syntax error reports line and column',
    script: 'x = 1\ndef f(:\n    pass',
    expected: { error: { type: 'SyntaxError', line: 2, column: 7 } },
  },
  {
    name: 'prelude keeps script line numbers',
    prelude: 'RATE = 2\nHELPER = "from artifact"\n',
    script: 'x = RATE * 3\ny = undefined_name',
    expected: { error: { type: 'NameError', line: 2, messageContains: 'undefined_name' } },
  },
  {
    name: 'prelude definitions are visible',
    prelude: 'def double(v):\n    return v * 2\n',
    script: 'done(double(21))',
    expected: { results: [42] },
  },
  {
    name: 'deep recursion is a RecursionError',
    script: 'def f(n):\n    return f(n + 1)\nf(0)',
    expected: { error: { type: 'RecursionError', line: 2 } },
  },
  {
    name: 'busy loop times out',
    script: 'while True:\n    pass',
    needsTimeout: true,
    expected: { timedOut: true },
  },
  {
    name: 'pending await times out',
    script: 'import asyncio\nawait asyncio.sleep(3600)\ndone({})',
    needsTimeout: true,
    expected: { timedOut: true },
  },
  {
    name: 'output printed before a timeout is kept',
    script: "print('started')\nwhile True:\n    pass",
    needsTimeout: true,
    expected: { timedOut: true, stdout: 'started\n' },
  },
  {
    name: 'print flood is capped with a marker',
    script: "for i in range(100000):\n    print('x' * 1000)\ndone({'ok': True})",
    expected: {
      results: [{ ok: true }],
      stdoutEndsWith: '\n[output truncated: 99100000 characters not shown]\n',
      stdoutMaxLength: 1_000_000 + 100,
    },
  },
  {
    name: 'stderr is captured separately',
    script: "import sys\nprint('out')\nprint('err', file=sys.stderr)\ndone(1)",
    expected: { stdout: 'out\n', stderr: 'err\n', results: [1] },
  },
  {
    name: 'top-level await works',
    script: 'import asyncio\nasync def two():\n    await asyncio.sleep(0.01)\n    return 2\ndone(await two())',
    expected: { results: [2] },
  },
  {
    name: 'debug sends every value',
    script: "debug('a', 1, {'x': 1})\ndebug()\ndone({})",
    expected: { debug: [['a', 1, { x: 1 }], []], results: [{}] },
  },
  {
    name: 'every done call is forwarded',
    script: "done({'first': 1}, False)\ndone({'second': 2})\ndone({'third': 3})",
    expected: { results: [{ first: 1 }, { second: 2 }, { third: 3 }], finals: [false, true, true] },
  },
  {
    name: 'value over valueMaxBytes fails the run',
    script: "x = 1\ndone('y' * 5000)",
    limits: { valueMaxBytes: 1000 },
    expected: { error: { type: 'ValueTooLargeError', line: 2, messageContains: '1000 bytes' } },
  },
  {
    name: 'calls over maxEvents are dropped with one warning',
    script: 'for i in range(10):\n    debug(i)\ndone(99)',
    limits: { maxEvents: 3 },
    expected: { debug: [[0], [1], [2]], results: [], warningCodes: ['too-many-events'] },
  },
  {
    name: 'unconvertible value names path, type and line',
    script: "x = 1\ndone({'rows': [{'value': complex(1, 2)}]})",
    expected: { error: { type: 'JsonConversionError', line: 2, messageContains: '$.rows[0].value has type complex' } },
  },
  {
    name: 'sys.exit(0) ends the run normally',
    script: 'import sys\ndone(1)\nsys.exit(0)\ndone(2)',
    expected: { results: [1] },
  },
  {
    name: 'table helper is a global',
    script: "done(type(table).__name__)",
    expected: { results: ['TableHelper'] },
  },
];

/** Conversion rules of done() and debug() values: Python expression, then the JSON it becomes. */
export const CONVERSION_RULES: { name: string; expression: string; json: JsonValue }[] = [
  { name: 'dict with str keys', expression: "{'a': 1}", json: { a: 1 } },
  { name: 'int, float and bool keys become strings', expression: "{1: 'i', 2.5: 'f', False: 'b', None: 'n'}", json: { '1': 'i', '2.5': 'f', false: 'b', null: 'n' } },
  { name: 'tuple becomes array', expression: '(1, 2)', json: [1, 2] },
  { name: 'set is sorted', expression: '{3, 1, 2}', json: [1, 2, 3] },
  { name: 'frozenset is sorted', expression: "frozenset(['b', 'a'])", json: ['a', 'b'] },
  { name: 'aware datetime', expression: 'datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)', json: '2024-01-02T03:04:05+00:00' },
  { name: 'naive datetime', expression: 'datetime.datetime(2024, 1, 2, 3, 4, 5, 600000)', json: '2024-01-02T03:04:05.600000' },
  { name: 'date', expression: 'datetime.date(2024, 1, 2)', json: '2024-01-02' },
  { name: 'time', expression: 'datetime.time(13, 30)', json: '13:30:00' },
  { name: 'timedelta becomes seconds', expression: 'datetime.timedelta(minutes=1, milliseconds=500)', json: 60.5 },
  { name: 'Decimal with fraction', expression: "decimal.Decimal('2.50')", json: 2.5 },
  { name: 'integral Decimal', expression: "decimal.Decimal('3')", json: 3 },
  { name: 'Fraction', expression: 'fractions.Fraction(1, 4)', json: 0.25 },
  { name: 'bytes become base64', expression: "b'hi'", json: 'aGk=' },
  { name: 'bytearray becomes base64', expression: "bytearray(b'\\x00\\xff')", json: 'AP8=' },
  { name: 'UUID becomes string', expression: "uuid.UUID('12345678-1234-5678-1234-567812345678')", json: '12345678-1234-5678-1234-567812345678' },
  { name: 'integer beyond 2**53 becomes string', expression: '2**60', json: '1152921504606846976' },
  { name: 'enum becomes its value', expression: "enum.Enum('Color', {'RED': 'red'}).RED", json: 'red' },
  { name: 'dataclass becomes object', expression: "dataclasses.make_dataclass('P', ['x', 'y'])(1, 2)", json: { x: 1, y: 2 } },
  { name: 'None, True, False', expression: '[None, True, False]', json: [null, true, false] },
  { name: 'non-ASCII text', expression: "'Zürich ✓'", json: 'Zürich ✓' },
];

/** Builds a script that sends every conversion rule's expression to done(), in table order. */
export function conversionScript(): string {
  const lines = ['import dataclasses, datetime, decimal, enum, fractions, uuid'];
  for (const rule of CONVERSION_RULES) {
    lines.push(`done(${rule.expression}, False)`);
  }
  return lines.join('\n');
}

/** Checks one summary against a case's expectations, one assertion per expectation. */
export function expectCaseResult(summary: RunSummary, expected: PythonCase['expected'], expect: ExpectFn): void {
  if (expected.results !== undefined) {
    expect(summary.results).toEqual(expected.results);
  }
  if (expected.finals !== undefined) {
    expect(summary.finals).toEqual(expected.finals);
  }
  if (expected.debug !== undefined) {
    expect(summary.debug).toEqual(expected.debug);
  }
  if (expected.stdout !== undefined) {
    expect(summary.stdout).toBe(expected.stdout);
  }
  if (expected.stdoutEndsWith !== undefined) {
    expect(summary.stdout.endsWith(expected.stdoutEndsWith)).toBe(true);
  }
  if (expected.stdoutMaxLength !== undefined) {
    expect(summary.stdout.length).toBeLessThanOrEqual(expected.stdoutMaxLength);
  }
  if (expected.stderr !== undefined) {
    expect(summary.stderr).toBe(expected.stderr);
  }
  if (expected.warningCodes !== undefined) {
    expect(summary.warnings.map((warning) => warning.code)).toEqual(expected.warningCodes);
  }
  const warningText = summary.warnings.map((warning) => warning.message).join('\n');
  for (const mention of expected.warningMentions ?? []) {
    expect(warningText).toContain(mention);
  }
  if (expected.timedOut) {
    return;
  }

  expect(summary.endEvents).toBe(1);
  if (expected.error === undefined) {
    expect(summary.error).toBeUndefined();
    expect(summary.completed).toBe(true);
    return;
  }
  expect(summary.error?.type).toBe(expected.error.type);
  if (expected.error.line !== undefined) {
    expect(summary.error?.line).toBe(expected.error.line);
  }
  if (expected.error.column !== undefined) {
    expect(summary.error?.column).toBe(expected.error.column);
  }
  if (expected.error.messageContains !== undefined) {
    expect(summary.error?.message).toContain(expected.error.messageContains);
  }
}
