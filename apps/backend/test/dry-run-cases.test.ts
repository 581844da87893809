import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from './support/test-service.js';

/**
 * Scripts and inputs that broke script steps in tools like this one, run through the
 * dry-run API with the real Pyodide and isolated-vm runners.
 */

interface DryRunCase {
  name: string;
  language: 'PYTHON' | 'JAVASCRIPT';
  script: string;
  documents?: unknown[];
  expected: {
    status?: string;
    results?: unknown[];
    finals?: boolean[];
    debug?: unknown[];
    error?: { type?: string; line?: number; messageContains?: string };
    warningsMention?: string[];
    stdoutMatches?: RegExp;
  };
}

const vc = (subject: Record<string, unknown>) => ({
  document: {
    '@context': ['https://www.w3.org/2018/credentials/v1'],
    type: ['VerifiableCredential'],
    credentialSubject: [subject],
  },
});

const cases: DryRunCase[] = [
  {
    name: 'strings that look like numbers stay untouched',
    language: 'PYTHON',
    script: "done({'a': 'nan', 'b': 'Hello,\\nAn offer', 'c': 'NaN', 'd': 'To Infinity and beyond'})",
    expected: { results: [{ a: 'nan', b: 'Hello,\nAn offer', c: 'NaN', d: 'To Infinity and beyond' }] },
  },
  {
    name: 'non-finite numbers become null with a warning per path',
    language: 'PYTHON',
    script: "done({'x': float('inf'), 'y': float('nan'), 'z': 1.5})",
    expected: { results: [{ x: null, y: null, z: 1.5 }], warningsMention: ['$.x', '$.y'] },
  },
  {
    name: 'JSON null arrives as None',
    language: 'PYTHON',
    script: "d = documents[0]['document']['credentialSubject'][0]\ndone({'keys': sorted(d), 'b_is_none': d['b'] is None})",
    documents: [vc({ a: 1, b: null })],
    expected: { results: [{ keys: ['a', 'b'], b_is_none: true }] },
  },
  {
    name: 'nested dicts stay objects',
    language: 'PYTHON',
    script: "done({'outer': {'inner': {'v': [1, {'w': 2}]}}})",
    expected: { results: [{ outer: { inner: { v: [1, { w: 2 }] } } }] },
  },
  {
    name: 'datetimes and dates become ISO 8601',
    language: 'PYTHON',
    script:
      "from datetime import datetime, date, timezone\ndone({'ts': datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc), 'd': date(2024, 1, 2)})",
    expected: { results: [{ ts: '2024-01-02T03:04:05+00:00', d: '2024-01-02' }] },
  },
  {
    name: 'datetime.strptime works',
    language: 'PYTHON',
    script: "from datetime import datetime\ndone({'y': datetime.strptime('2024-03-05', '%Y-%m-%d').year})",
    expected: { results: [{ y: 2024 }] },
  },
  {
    name: 'tuples and sets become arrays',
    language: 'PYTHON',
    script: "done({'t': (1, 2), 's': {3, 1, 2}, 'f': frozenset(['b', 'a'])})",
    expected: { results: [{ t: [1, 2], s: [1, 2, 3], f: ['a', 'b'] }] },
  },
  {
    name: 'runtime error reports the line in the script',
    language: 'PYTHON',
    script: "cs = documents[0]['document']['credentialSubject'][0]\nx = 1\ny = cs['missing']\ndone({'y': y})",
    documents: [vc({ present: 1 })],
    expected: { status: 'failed', error: { type: 'KeyError', line: 3, messageContains: 'missing' } },
  },
  {
    name: 'syntax error reports its line',
    language: 'PYTHON',
    script: 'x = 1\ndef f(:\n    pass',
    expected: { status: 'failed', error: { type: 'SyntaxError', line: 2 } },
  },
  {
    name: 'deep recursion fails as RecursionError',
    language: 'PYTHON',
    script: 'def f(n):\n    return f(n + 1)\nf(0)',
    expected: { status: 'failed', error: { type: 'RecursionError' } },
  },
  {
    name: 'print flood is capped with a marker',
    language: 'PYTHON',
    script: "for i in range(100000):\n    print('x' * 1000)\ndone({'ok': True})",
    expected: { results: [{ ok: true }], stdoutMatches: /\[output truncated: [\d,]+ characters not shown\]\s*$/ },
  },
  {
    name: 'done after the final result is ignored with a warning',
    language: 'PYTHON',
    script: "done({'first': 1}, False)\ndone({'second': 2})\ndone({'third': 3})",
    expected: { results: [{ first: 1 }, { second: 2 }], finals: [false, true], warningsMention: ['done'] },
  },
  {
    name: 'debug keeps every value of a call',
    language: 'PYTHON',
    script: "debug('a', 1, {'x': 1})\ndone({})",
    expected: { debug: [['a', 1, { x: 1 }]] },
  },
  {
    name: 'no done call completes with a warning',
    language: 'PYTHON',
    script: 'x = 1',
    expected: { status: 'completed', results: [], warningsMention: ['done()'] },
  },
  {
    name: 'top-level await runs',
    language: 'PYTHON',
    script: "import asyncio\nawait asyncio.sleep(0.01)\ndone({'slept': True})",
    expected: { results: [{ slept: true }] },
  },
  {
    name: 'JavaScript error reports the line in the script',
    language: 'JAVASCRIPT',
    script: 'const cs = documents[0].document.credentialSubject[0];\nconst x = 1;\nconst y = cs.missing.value;\ndone({ y });',
    documents: [vc({ present: 1 })],
    expected: { status: 'failed', error: { type: 'TypeError', line: 3 } },
  },
  {
    name: 'JavaScript done after the final result is ignored with a warning',
    language: 'JAVASCRIPT',
    script: 'done({ first: 1 }, false);\ndone({ second: 2 });\ndone({ third: 3 });',
    expected: { results: [{ first: 1 }, { second: 2 }], finals: [false, true], warningsMention: ['done'] },
  },
  {
    name: 'JavaScript NaN becomes null with a warning',
    language: 'JAVASCRIPT',
    script: 'done({ x: Infinity, y: NaN, z: 1.5, s: "nan" });',
    expected: { results: [{ x: null, y: null, z: 1.5, s: 'nan' }], warningsMention: ['$.x', '$.y'] },
  },
];

describe('POST /api/dry-run cases', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ PYTHON_SANDBOX_TIMEOUT_MS: '30000', JAVASCRIPT_TIMEOUT_MS: '30000', DRY_RUN_BLOCK_TIMEOUT_MS: '60000' });
  });

  afterAll(async () => {
    await service?.close();
  });

  it.each(cases)('$language: $name', async ({ language, script, documents, expected }) => {
    const response = await service.api
      .post('/api/dry-run')
      .send({
        block: { blockType: 'customLogicBlock', tag: 'case', expression: script, selectedScriptLanguage: language },
        input: { documents: documents ?? [] },
      })
      .expect(200);
    const body = response.body;

    expect(body.status).toBe(expected.status ?? 'completed');
    if (expected.results) {
      expect(body.results.map((result: { value: unknown }) => result.value)).toEqual(expected.results);
    }
    if (expected.finals) {
      expect(body.results.map((result: { final: boolean }) => result.final)).toEqual(expected.finals);
    }
    if (expected.debug) {
      expect(body.debug).toEqual(expected.debug);
    }
    if (expected.error) {
      expect(body.error).toBeDefined();
      if (expected.error.type) expect(body.error.type).toBe(expected.error.type);
      if (expected.error.line) expect(body.error.line).toBe(expected.error.line);
      if (expected.error.messageContains) expect(body.error.message).toContain(expected.error.messageContains);
    }
    for (const fragment of expected.warningsMention ?? []) {
      const messages = body.warnings.map((warning: { message: string }) => warning.message).join('\n');
      expect(messages).toContain(fragment);
    }
    if (expected.stdoutMatches) {
      expect(body.stdout.length).toBeLessThan(2_000_000);
      expect(body.stdout).toMatch(expected.stdoutMatches);
    }
  });

  it('runs a trivial script after a deep recursion', async () => {
    const block = { blockType: 'customLogicBlock', expression: 'def f(n):\n    return f(n + 1)\nf(0)', selectedScriptLanguage: 'PYTHON' };
    await service.api.post('/api/dry-run').send({ block, input: { documents: [] } }).expect(200);
    const next = await service.api
      .post('/api/dry-run')
      .send({ block: { ...block, expression: "done({'ok': 1})" }, input: { documents: [] } })
      .expect(200);
    expect(next.body.status).toBe('completed');
    expect(next.body.results[0].value).toEqual({ ok: 1 });
  });

  it('wraps plain JSON documents as VCs and says so', async () => {
    const response = await service.api
      .post('/api/dry-run')
      .send({
        block: {
          blockType: 'customLogicBlock',
          selectedScriptLanguage: 'PYTHON',
          expression: "done({'doubled': documents[0]['document']['credentialSubject'][0]['amount'] * 2})",
        },
        input: { documents: [{ amount: 21 }] },
      })
      .expect(200);
    expect(response.body.results[0].value).toEqual({ doubled: 42 });
    expect(response.body.wrappedDocuments).toEqual([0]);
    expect(response.body.warnings.map((warning: { code: string }) => warning.code)).toContain('document-wrapped');
  });
});
