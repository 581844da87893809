import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue, SandboxEvent, SandboxRunRequest } from '@policy-logic-studio/shared';
import { pythonRuntimePath } from '../src/paths.js';
import { PyodideRunner } from '../src/execution/pyodide/pyodide-runner.js';
import { makeRequest, summarize } from './support/python-runtime-cases.js';

/**
 * The `table` global as a Python script sees it, through the real runtime.py: under
 * CPython as Docker mode runs it (request on stdin, events on stdout), and in the
 * Pyodide runner. Both must build the helper from the run's `input.tables`.
 */

const READINGS_FIELD = {
  type: 'table',
  fileId: 'readings.csv',
  columnKeys: ['site', 'co2'],
  rows: [['inline row, replaced by the supplied CSV', '0']],
};

const SCRIPT = [
  "field = documents[0]['document']['credentialSubject'][0]['readings']",
  'done({',
  "    'keys': table.keys(field),",
  "    'co2': [table.num(value) for value in table.col(field, 'co2')],",
  "    'first_site': table.cell(field, 0, 'site'),",
  "    'rows': table.rows(field),",
  "    'inline': table.rows({'type': 'table', 'columnKeys': ['a'], 'rows': [[1]]}),",
  "    'from_json_string': table.cell('{\"type\": \"table\", \"rows\": [{\"x\": \"1,5\"}]}', 0, 'x'),",
  '})',
].join('\n');

const EXPECTED: JsonValue = {
  keys: ['site', 'co2'],
  co2: [1.5, 2.25, 0],
  first_site: 'North',
  rows: [
    { site: 'North', co2: '1,5' },
    { site: 'South', co2: ' 2.25 ' },
    { site: 'East', co2: 'n/a' },
  ],
  inline: [{ a: 1 }],
  from_json_string: '1,5',
};

function tableRequest(): SandboxRunRequest {
  return makeRequest(SCRIPT, {
    input: {
      documents: [
        {
          document: {
            '@context': ['https://www.w3.org/2018/credentials/v1'],
            type: ['VerifiableCredential'],
            credentialSubject: [{ readings: READINGS_FIELD }],
          },
        },
      ],
      tables: { 'readings.csv': '\ufeffsite,co2\r\nNorth,"1,5"\r\nSouth, 2.25 \r\n\r\nEast,n/a\r\n' },
    },
  });
}

function runWithCPython(request: SandboxRunRequest): Promise<SandboxEvent[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [path.basename(pythonRuntimePath)], {
      cwd: path.dirname(pythonRuntimePath),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', () => {
      const lines = stdout.split('\n').filter((line) => line !== '');
      resolve(lines.map((line) => JSON.parse(line) as SandboxEvent));
    });
    child.stdin.end(JSON.stringify(request));
  });
}

describe('table global under CPython runtime.py', () => {
  it('reads supplied CSV tables', async () => {
    const summary = summarize(await runWithCPython(tableRequest()));

    expect(summary.error).toBeUndefined();
    expect(summary.results).toEqual([EXPECTED]);
  });
});

describe('table global in the Pyodide runner', () => {
  let runner: PyodideRunner;

  beforeAll(async () => {
    runner = new PyodideRunner({ poolSize: 1 });
    await runner.start();
  });

  afterAll(async () => {
    await runner.close();
  });

  it('reads supplied CSV tables', async () => {
    const events: SandboxEvent[] = [];
    const outcome = await runner.run(tableRequest(), {
      timeoutMs: 30_000,
      signal: new AbortController().signal,
      onEvent: (event) => events.push(event),
    });
    const summary = summarize(events);

    expect(outcome.kind).toBe('exited');
    expect(summary.error).toBeUndefined();
    expect(summary.results).toEqual([EXPECTED]);
  });
});
