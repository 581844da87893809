import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_OUTPUT_LIMITS,
  type JsonValue,
  type OutputLimits,
  type SandboxEvent,
  type ScriptInput,
} from '@policy-logic-studio/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JavaScriptRunner } from '../src/execution/javascript/javascript-runner.js';
import type { RunnerOutcome } from '../src/execution/runner.js';

interface RunSetup {
  prelude?: string;
  input?: Partial<ScriptInput>;
  limits?: Partial<OutputLimits>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface RunRecord {
  outcome: RunnerOutcome;
  events: SandboxEvent[];
}

const EMPTY_INPUT: ScriptInput = { documents: [], user: null, artifacts: [], sources: [], tables: {} };

let runner: JavaScriptRunner;
let runCount = 0;

beforeAll(() => {
  runner = new JavaScriptRunner();
});

afterAll(async () => {
  await runner.close();
});

async function runScript(script: string, setup: RunSetup = {}): Promise<RunRecord> {
  const events: SandboxEvent[] = [];
  runCount += 1;
  const outcome = await runner.run(
    {
      runId: `javascript-test-${runCount}`,
      script,
      prelude: setup.prelude ?? '',
      input: { ...EMPTY_INPUT, ...setup.input },
      limits: { ...DEFAULT_OUTPUT_LIMITS, ...setup.limits },
    },
    {
      timeoutMs: setup.timeoutMs ?? 5_000,
      signal: setup.signal ?? new AbortController().signal,
      onEvent: (event) => events.push(event),
    },
  );
  return { outcome, events };
}

function doneValues(record: RunRecord): JsonValue[] {
  return record.events.flatMap((event) => (event.type === 'sandbox:done' ? [event.value] : []));
}

function debugCalls(record: RunRecord): JsonValue[][] {
  return record.events.flatMap((event) => (event.type === 'sandbox:debug' ? [event.values] : []));
}

function warnings(record: RunRecord): { code: string; message: string }[] {
  return record.events.flatMap((event) => (event.type === 'sandbox:warning' ? [{ code: event.code, message: event.message }] : []));
}

function scriptError(record: RunRecord) {
  const errors = record.events.flatMap((event) => (event.type === 'sandbox:error' ? [event.error] : []));
  expect(errors).toHaveLength(1);
  return errors[0]!;
}

function printed(record: RunRecord, stream: 'sandbox:stdout' | 'sandbox:stderr'): string {
  return record.events.map((event) => (event.type === stream ? event.text : '')).join('');
}

function expectCompleted(record: RunRecord): void {
  expect(record.outcome).toEqual({ kind: 'exited' });
  expect(record.events.filter((event) => event.type === 'sandbox:error')).toEqual([]);
  expect(record.events.at(-1)).toEqual({ type: 'sandbox:complete', packages: [] });
}

const VC_DOCUMENT = {
  document: {
    '@context': ['https://www.w3.org/2018/credentials/v1'],
    type: ['VerifiableCredential'],
    credentialSubject: [{ present: 1, b: null }],
  },
};

describe('JavaScriptRunner globals', () => {
  it('exposes documents, user, artifacts and sources', async () => {
    const record = await runScript(
      [
        'const subject = documents[0].document.credentialSubject[0];',
        'done({ present: subject.present, bIsNull: subject.b === null, user: user.did,',
        '  artifact: artifacts[0].name, source: sources[0].id, documentCount: documents.length });',
      ].join('\n'),
      {
        input: {
          documents: [VC_DOCUMENT],
          user: { did: 'did:example:author' },
          artifacts: [{ name: 'factors' }],
          sources: [{ id: 'source-1' }],
        },
      },
    );

    expectCompleted(record);
    expect(doneValues(record)).toEqual([
      { present: 1, bIsNull: true, user: 'did:example:author', artifact: 'factors', source: 'source-1', documentCount: 1 },
    ]);
  });

  it('reads tables supplied with the run through table', async () => {
    const record = await runScript(
      [
        "const field = { type: 'table', fileId: 'emissions.csv', columnKeys: [], rows: [] };",
        "done({ keys: table.keys(field), rows: table.rows(field), co2: table.num(table.cell(field, 0, 'co2')) });",
      ].join('\n'),
      { input: { tables: { 'emissions.csv': 'site,co2\nNorth,"12,5"' } } },
    );

    expectCompleted(record);
    expect(doneValues(record)).toEqual([{ keys: ['site', 'co2'], rows: [{ site: 'North', co2: '12,5' }], co2: 12.5 }]);
  });

  it('passes arguments in Guardian order with documents as this', async () => {
    const record = await runScript(
      'done({ sameDocuments: this === documents, order: [arguments[1], arguments[2].length, typeof arguments[3], arguments[6][0], typeof arguments[7]] });',
      { input: { documents: [VC_DOCUMENT], user: 'author', sources: ['s'] } },
    );

    expectCompleted(record);
    expect(doneValues(record)).toEqual([{ sameDocuments: true, order: ['author', 1, 'undefined', 's', 'function'] }]);
  });

  it('runs the body as an async function with await and return', async () => {
    const record = await runScript('const value = await Promise.resolve(41);\ndone({ value: value + 1 });\nreturn;\ndone({ never: true });');

    expectCompleted(record);
    expect(doneValues(record)).toEqual([{ value: 42 }]);
  });

  it('lets the prelude define helpers for the script', async () => {
    const record = await runScript('done({ total: addAll([1, 2, 3]) })', {
      prelude: 'function addAll(values) {\n  return values.reduce((sum, value) => sum + value, 0);\n}',
    });

    expectCompleted(record);
    expect(doneValues(record)).toEqual([{ total: 6 }]);
  });
});

describe('JavaScriptRunner done and debug', () => {
  it('forwards partial and final done calls in order', async () => {
    const record = await runScript("done({ first: 1 }, false);\ndone({ second: 2 });\ndone({ third: 3 });");

    expectCompleted(record);
    const calls = record.events.filter((event) => event.type === 'sandbox:done');
    expect(calls).toEqual([
      { type: 'sandbox:done', value: { first: 1 }, final: false },
      { type: 'sandbox:done', value: { second: 2 }, final: true },
      { type: 'sandbox:done', value: { third: 3 }, final: true },
    ]);
  });

  it('sends every debug argument', async () => {
    const record = await runScript("debug('a', 1, { x: 1 });\ndebug();\ndone({});");

    expectCompleted(record);
    expect(debugCalls(record)).toEqual([['a', 1, { x: 1 }], []]);
  });

  it('streams events before the script ends', async () => {
    const received: SandboxEvent['type'][] = [];
    let releaseScript: () => void = () => undefined;
    const sawDebug = new Promise<void>((resolve) => {
      releaseScript = resolve;
    });
    const controller = new AbortController();

    const running = runner.run(
      {
        runId: 'javascript-streaming',
        script: "debug('started');\nawait new Promise(() => {});",
        prelude: '',
        input: EMPTY_INPUT,
        limits: DEFAULT_OUTPUT_LIMITS,
      },
      {
        timeoutMs: 5_000,
        signal: controller.signal,
        onEvent: (event) => {
          received.push(event.type);
          if (event.type === 'sandbox:debug') {
            releaseScript();
          }
        },
      },
    );
    await sawDebug;
    controller.abort();

    expect(await running).toEqual({ kind: 'cancelled' });
    expect(received).toEqual(['sandbox:debug']);
  });

  it('drops calls beyond maxEvents with one warning', async () => {
    const record = await runScript("for (let i = 0; i < 10; i++) debug(i);\ndone({ after: true });", {
      limits: { maxEvents: 3 },
    });

    expectCompleted(record);
    expect(debugCalls(record)).toEqual([[0], [1], [2]]);
    expect(doneValues(record)).toEqual([]);
    const tooMany = warnings(record).filter((warning) => warning.code === 'too-many-events');
    expect(tooMany).toHaveLength(1);
    expect(tooMany[0]!.message).toContain('3');
  });

  it('fails the run when a value is over valueMaxBytes', async () => {
    const record = await runScript("const text = 'x'.repeat(2000);\n\ndone({ text });", { limits: { valueMaxBytes: 1000 } });

    expect(record.outcome).toEqual({ kind: 'exited' });
    expect(doneValues(record)).toEqual([]);
    const error = scriptError(record);
    expect(error.type).toBe('ValueTooLargeError');
    expect(error.message).toContain('1000 bytes');
    expect(error.line).toBe(3);
  });

  it('counts valueMaxBytes in UTF-8 bytes', async () => {
    // 400 euro signs are 400 characters but 1200 bytes in UTF-8.
    const record = await runScript("done({ text: '€'.repeat(400) });", { limits: { valueMaxBytes: 1000 } });

    expect(scriptError(record).type).toBe('ValueTooLargeError');
  });

  it('lets scripts catch conversion errors as TypeError', async () => {
    const record = await runScript("try {\n  done({ f: () => 1 });\n} catch (error) {\n  debug(error instanceof TypeError, error.name);\n}");

    expect(debugCalls(record)).toEqual([[true, 'JsonConversionError']]);
  });

  it('fails the run even when the script catches a conversion error', async () => {
    const record = await runScript("try {\n  done({ callback: () => 1 });\n} catch (error) {}\ndone({ ok: true });");

    expect(record.outcome).toEqual({ kind: 'exited' });
    const error = scriptError(record);
    expect(error.type).toBe('JsonConversionError');
    expect(error.message).toContain('$.callback');
    expect(error.line).toBe(2);
  });
});

describe('JavaScriptRunner JSON conversion', () => {
  const cases: { name: string; expression: string; expected: JsonValue }[] = [
    { name: 'strings untouched', expression: "{ a: 'nan', b: 'Hello,\\nAn offer', c: 'NaN', d: 'To Infinity and beyond' }", expected: { a: 'nan', b: 'Hello,\nAn offer', c: 'NaN', d: 'To Infinity and beyond' } },
    { name: 'nested objects stay objects', expression: '{ outer: { inner: { v: [1, { w: 2 }] } } }', expected: { outer: { inner: { v: [1, { w: 2 }] } } } },
    { name: 'Date to ISO 8601', expression: "{ ts: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) }", expected: { ts: '2024-01-02T03:04:05.000Z' } },
    { name: 'Map to object', expression: "new Map([['a', 1], [2, new Map([['b', true]])]])", expected: { a: 1, '2': { b: true } } },
    { name: 'Set to array', expression: "{ tags: new Set(['x', 'y', 'x']) }", expected: { tags: ['x', 'y'] } },
    { name: 'undefined dropped in objects', expression: '{ kept: 1, dropped: undefined }', expected: { kept: 1 } },
    { name: 'undefined in arrays to null', expression: '[1, undefined, , 3]', expected: [1, null, null, 3] },
    { name: 'undefined alone to null', expression: 'undefined', expected: null },
    { name: 'safe BigInt to number', expression: '{ n: 42n }', expected: { n: 42 } },
    { name: 'large BigInt to string', expression: '{ n: 2n ** 64n }', expected: { n: '18446744073709551616' } },
    { name: 'typed array to array', expression: '{ v: new Float64Array([1.5, 2.5]) }', expected: { v: [1.5, 2.5] } },
    { name: 'boxed primitives unboxed', expression: "[new Number(1), new String('s'), new Boolean(false)]", expected: [1, 's', false] },
    { name: 'toJSON respected', expression: '{ money: { toJSON: () => "10 USD" } }', expected: { money: '10 USD' } },
    { name: 'Error to name and message', expression: "{ problem: new RangeError('too big') }", expected: { problem: { name: 'RangeError', message: 'too big' } } },
    { name: 'class instance to own fields', expression: 'new (class Point { constructor() { this.x = 1; this.y = 2; } })()', expected: { x: 1, y: 2 } },
    { name: 'shared reference is not circular', expression: '(() => { const s = { v: 1 }; return { a: s, b: s }; })()', expected: { a: { v: 1 }, b: { v: 1 } } },
  ];

  it.each(cases)('converts $name', async ({ expression, expected }) => {
    const record = await runScript(`done(${expression});`);

    expectCompleted(record);
    expect(doneValues(record)).toEqual([expected]);
    expect(warnings(record)).toEqual([]);
  });

  it('replaces NaN and Infinity with null and names their paths', async () => {
    const record = await runScript('done({ x: Infinity, y: NaN, z: 1.5 });');

    expectCompleted(record);
    expect(doneValues(record)).toEqual([{ x: null, y: null, z: 1.5 }]);
    const [warning, ...others] = warnings(record);
    expect(others).toEqual([]);
    expect(warning?.code).toBe('non-finite-number');
    expect(warning?.message).toContain('done()');
    expect(warning?.message).toContain('$.x');
    expect(warning?.message).toContain('$.y');
    expect(warning?.message).not.toContain('$.z');
  });

  it('names nested non-finite paths in debug calls', async () => {
    const record = await runScript("debug('rows', { rows: [{ value: 1 }, { value: 2 }, { value: -Infinity }] });\ndone({});");

    expectCompleted(record);
    expect(debugCalls(record)).toEqual([['rows', { rows: [{ value: 1 }, { value: 2 }, { value: null }] }]]);
    const [warning] = warnings(record);
    expect(warning?.code).toBe('non-finite-number');
    expect(warning?.message).toContain('debug()');
    expect(warning?.message).toContain('$[1].rows[2].value');
  });

  it('replaces an invalid Date with null and warns', async () => {
    const record = await runScript("done({ when: new Date('not a date') });");

    expect(doneValues(record)).toEqual([{ when: null }]);
    expect(warnings(record)[0]?.message).toContain('$.when');
  });

  const unconvertible: { name: string; script: string; path: string; type: string }[] = [
    { name: 'function', script: 'done({ list: [1, function helper() {}] });', path: '$.list[1]', type: 'function helper' },
    { name: 'symbol', script: "done({ s: Symbol('x') });", path: '$.s', type: 'symbol' },
    { name: 'circular structure', script: 'const a = { name: "a" };\na.self = a;\ndone(a);', path: '$.self', type: 'circular' },
    { name: 'promise', script: 'done({ pending: Promise.resolve(1) });', path: '$.pending', type: 'Promise' },
  ];

  it.each(unconvertible)('fails the run on a $name', async ({ script, path, type }) => {
    const record = await runScript(script);

    expect(record.outcome).toEqual({ kind: 'exited' });
    expect(doneValues(record)).toEqual([]);
    const error = scriptError(record);
    expect(error.type).toBe('JsonConversionError');
    expect(error.message).toContain(path);
    expect(error.message).toContain(type);
    expect(error.message).toContain('done()');
  });
});

describe('JavaScriptRunner errors', () => {
  const failingScript = "const subject = documents[0].document.credentialSubject[0];\nconst x = 1;\nconst y = subject.missing.value;\ndone({ y });";

  it('reports a thrown error with its line in the script', async () => {
    const record = await runScript(failingScript, { input: { documents: [VC_DOCUMENT] } });

    expect(record.outcome).toEqual({ kind: 'exited' });
    const error = scriptError(record);
    expect(error.type).toBe('TypeError');
    expect(error.message).toContain('value');
    expect(error.line).toBe(3);
    expect(error.column).toBeGreaterThan(0);
    expect(error.traceback).toContain('script:3:');
    expect(error.traceback).not.toContain('policy-logic-runtime');
  });

  it('keeps script line numbers with a prelude', async () => {
    const record = await runScript(failingScript, {
      input: { documents: [VC_DOCUMENT] },
      prelude: 'const rate = 2;\nfunction double(value) {\n  return value * rate;\n}',
    });

    expect(scriptError(record).line).toBe(3);
  });

  it('reports the calling line for an error inside a function', async () => {
    const record = await runScript("function check(value) {\n  if (!value) {\n    throw new RangeError('value missing');\n  }\n}\ncheck(0);");

    const error = scriptError(record);
    expect(error.type).toBe('RangeError');
    expect(error.message).toBe('value missing');
    expect(error.line).toBe(3);
    expect(error.traceback).toContain('script:6:');
  });

  it('reports an error raised in an awaited continuation', async () => {
    const record = await runScript("await null;\nconst list = null;\nlist.push(1);");

    expect(scriptError(record).line).toBe(3);
  });

  it('shortens a huge error message', async () => {
    const record = await runScript("throw new Error('x'.repeat(1000000));");

    const error = scriptError(record);
    expect(error.type).toBe('Error');
    expect(error.message.length).toBeLessThanOrEqual(10_001);
    expect(error.message).toContain('…');
  });

  it('shortens long keys in warning paths', async () => {
    const record = await runScript("done({ ['k'.repeat(100000)]: NaN });");

    const [warning] = warnings(record);
    expect(warning?.code).toBe('non-finite-number');
    expect(warning?.message.length).toBeLessThan(500);
  });

  it('describes a thrown non-error value', async () => {
    const record = await runScript("throw { code: 42 };");

    const error = scriptError(record);
    expect(error.type).toBe('Error');
    expect(error.message).toContain('42');
  });

  it('points an error in the prelude at the artifact code', async () => {
    const record = await runScript('done({});', { prelude: 'const a = 1;\nnull.boom;' });

    const error = scriptError(record);
    expect(error.line).toBeUndefined();
    expect(error.hint).toContain('artifact code');
    expect(error.hint).toContain('line 2');
  });

  it('reports a syntax error with line and column', async () => {
    const record = await runScript('const x = 1;\nconst y = 2;\nconst z = ;\ndone({});');

    expect(record.outcome).toEqual({ kind: 'exited' });
    expect(record.events).toHaveLength(1);
    const error = scriptError(record);
    expect(error.type).toBe('SyntaxError');
    expect(error.line).toBe(3);
    expect(error.column).toBe(11);
    expect(error.message).not.toContain('script.js');
  });

  it('reports a syntax error after a prelude at the script line', async () => {
    const record = await runScript('const x = 1;\nlet let = 2;', { prelude: 'const a = 1;\nconst b = 2;\nconst c = 3;' });

    const error = scriptError(record);
    expect(error.type).toBe('SyntaxError');
    expect(error.line).toBe(2);
  });

  it('points a syntax error in the prelude at the artifact code', async () => {
    const record = await runScript('done({});', { prelude: 'const a = 1;\nconst b = ;' });

    const error = scriptError(record);
    expect(error.type).toBe('SyntaxError');
    expect(error.line).toBeUndefined();
    expect(error.hint).toContain('artifact code');
    expect(error.hint).toContain('line 2');
  });

  it('counts CRLF line endings as one line', async () => {
    const record = await runScript('const a = 1;\r\nconst b = 2;\r\nnull.boom;', { prelude: 'const c = 3;\r\nconst d = 4;' });

    expect(scriptError(record).line).toBe(3);
  });

  it('reports an unclosed block at the last line', async () => {
    const record = await runScript('const x = 1;\nif (x) {\n  done({});');

    const error = scriptError(record);
    expect(error.type).toBe('SyntaxError');
    expect(error.line).toBe(3);
  });

  it('recovers after deep recursion', async () => {
    const overflow = await runScript('function f(n) {\n  return f(n + 1);\n}\nf(0);');

    expect(scriptError(overflow).type).toBe('RangeError');
    expectCompleted(await runScript('done({ ok: true });'));
  });
});

describe('JavaScriptRunner limits', () => {
  let server: Server;
  let serverUrl: string;

  beforeAll(async () => {
    server = createServer((_request, response) => response.end('alive'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('times out a busy loop while HTTP requests are still answered', async () => {
    let runEnded = false;
    const running = runScript('while (true) {}', { timeoutMs: 1_500 }).finally(() => {
      runEnded = true;
    });

    const response = await fetch(serverUrl);
    const answeredDuringRun = !runEnded;
    const record = await running;

    expect(await response.text()).toBe('alive');
    expect(answeredDuringRun).toBe(true);
    expect(record.outcome).toEqual({ kind: 'timed_out', timeoutMs: 1_500 });
    expectCompleted(await runScript('done({ ok: true });'));
  });

  it('times out an await that never resolves', async () => {
    const record = await runScript('await new Promise(() => {});\ndone({});', { timeoutMs: 300 });

    expect(record.outcome).toEqual({ kind: 'timed_out', timeoutMs: 300 });
    expect(doneValues(record)).toEqual([]);
    expectCompleted(await runScript('done({ ok: true });'));
  });

  it('times out a busy loop that starts after an await', async () => {
    const record = await runScript('await null;\nwhile (true) {}', { timeoutMs: 300 });

    expect(record.outcome).toEqual({ kind: 'timed_out', timeoutMs: 300 });
  });

  it('cancels a run when the signal aborts', async () => {
    const controller = new AbortController();
    const running = runScript('while (true) {}', { signal: controller.signal, timeoutMs: 10_000 });
    setTimeout(() => controller.abort(), 100);

    expect((await running).outcome).toEqual({ kind: 'cancelled' });
  });

  it('does not start a run whose signal is already aborted', async () => {
    const record = await runScript("debug('never');", { signal: AbortSignal.abort() });

    expect(record.outcome).toEqual({ kind: 'cancelled' });
    expect(record.events).toEqual([]);
  });

  it('stops a script over the memory limit', async () => {
    const small = new JavaScriptRunner({ memoryLimitMb: 16, keepSpareIsolates: false });
    try {
      const events: SandboxEvent[] = [];
      const outcome = await small.run(
        {
          runId: 'javascript-memory',
          script: 'const chunks = [];\nwhile (true) chunks.push(new Array(100000).fill(1.5));',
          prelude: '',
          input: EMPTY_INPUT,
          limits: DEFAULT_OUTPUT_LIMITS,
        },
        { timeoutMs: 20_000, signal: new AbortController().signal, onEvent: (event) => events.push(event) },
      );

      expect(outcome.kind).toBe('crashed');
      const error = outcome.kind === 'crashed' ? outcome.error : undefined;
      expect(error?.type).toBe('MemoryError');
      expect(error?.message).toContain('16 MB');
    } finally {
      await small.close();
    }
    expectCompleted(await runScript('done({ ok: true });'));
  });

  it('fails a run over the total value limit', async () => {
    const limited = new JavaScriptRunner({ maxRunValueBytes: 1000, keepSpareIsolates: false });
    const events: SandboxEvent[] = [];
    try {
      const outcome = await limited.run(
        {
          runId: 'javascript-total',
          script: "for (let i = 0; i < 5; i++) debug('x'.repeat(400));\ndone({});",
          prelude: '',
          input: EMPTY_INPUT,
          limits: DEFAULT_OUTPUT_LIMITS,
        },
        { timeoutMs: 5_000, signal: new AbortController().signal, onEvent: (event) => events.push(event) },
      );
      expect(outcome).toEqual({ kind: 'exited' });
    } finally {
      await limited.close();
    }

    const record = { outcome: { kind: 'exited' } as const, events };
    expect(debugCalls(record)).toHaveLength(2);
    expect(doneValues(record)).toEqual([]);
    const error = scriptError(record);
    expect(error.type).toBe('ValueTooLargeError');
    expect(error.message).toContain('1000 bytes');
  });

  it('runs concurrent scripts in separate isolates', async () => {
    const script = "globalThis.counter = (globalThis.counter ?? 0) + 1;\nawait Promise.resolve();\ndone({ counter, name: user.name });";
    const records = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) => runScript(script, { input: { user: { name } } })),
    );

    for (const record of records) {
      expectCompleted(record);
    }
    expect(records.map(doneValues)).toEqual([
      [{ counter: 1, name: 'a' }],
      [{ counter: 1, name: 'b' }],
      [{ counter: 1, name: 'c' }],
      [{ counter: 1, name: 'd' }],
    ]);
  });

  it('cancels runs in progress on close', async () => {
    const closing = new JavaScriptRunner({ keepSpareIsolates: false });
    const running = closing.run(
      { runId: 'javascript-close', script: 'while (true) {}', prelude: '', input: EMPTY_INPUT, limits: DEFAULT_OUTPUT_LIMITS },
      { timeoutMs: 10_000, signal: new AbortController().signal, onEvent: () => undefined },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await closing.close();

    expect(await running).toEqual({ kind: 'cancelled' });
    expect(closing.health().ready).toBe(false);
  });

  it('reports health with the memory limit', () => {
    const health = runner.health();

    expect(health.ready).toBe(true);
    expect(health.memoryLimitMb).toBe(128);
    expect(health.detail).toBeUndefined();
  });

  it('rejects a memory limit under 8 MB', () => {
    expect(() => new JavaScriptRunner({ memoryLimitMb: 4 })).toThrow(/at least 8/);
  });
});

describe('JavaScriptRunner isolation', () => {
  it('starts every run without the globals of the last one', async () => {
    const first = await runScript("globalThis.leaked = 'secret';\nObject.prototype.polluted = true;\ndone({});");
    const second = await runScript("done({ leaked: typeof leaked, polluted: typeof ({}).polluted });");

    expectCompleted(first);
    expect(doneValues(second)).toEqual([{ leaked: 'undefined', polluted: 'undefined' }]);
  });

  it('offers no Node.js API', async () => {
    const record = await runScript(
      "const realm = (function () {}).constructor('return this')();\ndone({ process: typeof process, require: typeof require, fetch: typeof fetch, realmProcess: typeof realm.process });",
    );

    expect(doneValues(record)).toEqual([{ process: 'undefined', require: 'undefined', fetch: 'undefined', realmProcess: 'undefined' }]);
  });

  it('keeps output valid when the script replaces JSON.stringify', async () => {
    const record = await runScript("JSON.stringify = () => 'not json';\ndone({ ok: true });");

    expectCompleted(record);
    expect(doneValues(record)).toEqual([{ ok: true }]);
  });
});

describe('JavaScriptRunner libraries', () => {
  it('provides mathjs', async () => {
    const record = await runScript('done({ sum: mathjs.sum([1, 2, 3]), root: mathjs.sqrt(16) });');

    expectCompleted(record);
    expect(doneValues(record)).toEqual([{ sum: 6, root: 4 }]);
  });

  it('provides formulajs', async () => {
    const record = await runScript('done({ sum: formulajs.SUM([1, 2, 3]) });');

    expectCompleted(record);
    expect(doneValues(record)).toEqual([{ sum: 6 }]);
  });

  it('provides both libraries together', async () => {
    const record = await runScript('done({ both: mathjs.add(formulajs.SUM([1, 2]), 1) });');

    expect(doneValues(record)).toEqual([{ both: 4 }]);
  });

  it('leaves libraries out of scripts that do not name them', async () => {
    const record = await runScript("done({ math: typeof math, formula: typeof globalThis['formula' + 'js'] });");

    expect(doneValues(record)).toEqual([{ math: 'undefined', formula: 'undefined' }]);
  });
});

describe('JavaScriptRunner timers', () => {
  it('resolves an await on setTimeout', async () => {
    const record = await runScript("const value = await new Promise((resolve) => setTimeout(resolve, 20, 'later'));\ndone({ value });");

    expectCompleted(record);
    expect(doneValues(record)).toEqual([{ value: 'later' }]);
  });

  it('skips a cleared timeout', async () => {
    const record = await runScript(
      "const id = setTimeout(() => debug('cleared'), 10);\nclearTimeout(id);\nawait new Promise((resolve) => setTimeout(resolve, 40));\ndone({});",
    );

    expectCompleted(record);
    expect(debugCalls(record)).toEqual([]);
  });

  it('fails the run when a timer callback throws', async () => {
    const record = await runScript("setTimeout(() => {\n  null.boom;\n}, 0);\nawait new Promise(() => {});");

    expect(record.outcome).toEqual({ kind: 'exited' });
    const error = scriptError(record);
    expect(error.type).toBe('TypeError');
    expect(error.line).toBe(2);
  });

  it('times out a timer longer than the run', async () => {
    const record = await runScript('await new Promise((resolve) => setTimeout(resolve, 3_000_000_000));\ndone({});', { timeoutMs: 300 });

    expect(record.outcome).toEqual({ kind: 'timed_out', timeoutMs: 300 });
    expect(doneValues(record)).toEqual([]);
  });

  it('times out a busy loop inside a timer callback', async () => {
    const record = await runScript('setTimeout(() => {\n  while (true) {}\n}, 0);\nawait new Promise(() => {});', { timeoutMs: 300 });

    expect(record.outcome).toEqual({ kind: 'timed_out', timeoutMs: 300 });
    expectCompleted(await runScript('done({ ok: true });'));
  });
});

describe('JavaScriptRunner console', () => {
  it('captures console.log and console.error', async () => {
    const record = await runScript("console.log('hello', 42, { a: [1, 'b'] });\nconsole.error('bad', new Error('oops'));\ndone({});");

    expectCompleted(record);
    expect(printed(record, 'sandbox:stdout')).toBe('hello 42 {a: [1, "b"]}\n');
    expect(printed(record, 'sandbox:stderr')).toBe('bad Error: oops\n');
  });

  it('applies format specifiers like util.format', async () => {
    const record = await runScript(
      "console.log('%s has %d rows (%i%%), ratio %f', 'table', 42, 7.9, '0.5', 'extra');\nconsole.log('%j and %o', { a: 1 }, [1]);\nconsole.log('%s left', );\ndone({});",
    );

    expect(printed(record, 'sandbox:stdout')).toBe('table has 42 rows (7%), ratio 0.5 extra\n{"a":1} and [1]\n%s left\n');
  });

  it('caps output at stdoutMaxChars with a visible marker', async () => {
    const record = await runScript("for (let i = 0; i < 100000; i++) console.log('x'.repeat(1000));\ndone({ ok: true });", {
      limits: { stdoutMaxChars: 5000 },
    });

    expectCompleted(record);
    expect(doneValues(record)).toEqual([{ ok: true }]);
    const stdout = printed(record, 'sandbox:stdout');
    const total = 100000 * 1001;
    expect(stdout.startsWith('x'.repeat(1000) + '\n')).toBe(true);
    expect(stdout.endsWith(`\n[output truncated: ${total - 5000} characters not shown]\n`)).toBe(true);
    expect(stdout.length).toBeLessThan(5100);
  });

  it('caps stderr separately from stdout', async () => {
    const record = await runScript("console.error('e'.repeat(50));\nconsole.log('kept');\ndone({});", {
      limits: { stdoutMaxChars: 20 },
    });

    expect(printed(record, 'sandbox:stdout')).toBe('kept\n');
    expect(printed(record, 'sandbox:stderr')).toBe(`${'e'.repeat(20)}\n[output truncated: 31 characters not shown]\n`);
  });

  it('adds the marker when a flooding script times out', async () => {
    const record = await runScript("while (true) console.log('flood');", { limits: { stdoutMaxChars: 100 }, timeoutMs: 500 });

    expect(record.outcome).toEqual({ kind: 'timed_out', timeoutMs: 500 });
    expect(printed(record, 'sandbox:stdout')).toMatch(/^(flood\n){16}floo\n\[output truncated: \d+ characters not shown\]\n$/);
  });
});
